"""The words of the user's commands (assistant.ui.commands binds them to keys): each
command's short name for a button or menu ("command_<id>") and what it does, as spoken
and shown ("command_<id>_desc"); and the names a speech engine should say for keys."""

COMMAND_WORDS: dict[str, dict[str, str]] = {
    "command_identify": {"en": "Identify", "es": "Identificar"},
    "command_identify_desc": {"en": "identify the product in front of the camera now",
                              "es": "identificar ahora el producto delante de la cámara"},
    "command_continuous": {"en": "Continuous", "es": "Continuo"},
    "command_continuous_desc": {"en": "continuous mode on or off",
                                "es": "activar o desactivar el modo continuo"},
    "command_repeat": {"en": "Repeat", "es": "Repetir"},
    "command_repeat_desc": {"en": "repeat the last thing said",
                            "es": "repetir lo último que se dijo"},
    "command_stop": {"en": "Stop speech", "es": "Callar"},
    "command_stop_desc": {"en": "stop speaking", "es": "dejar de hablar"},
    "command_read": {"en": "Read text", "es": "Leer texto"},
    "command_read_desc": {"en": "read the text and the dates on the pack in view",
                          "es": "leer el texto y las fechas del envase que se ve"},
    "command_date": {"en": "Date", "es": "Fecha"},
    "command_date_desc": {"en": "say only the best-before date of the pack in view",
                          "es": "decir solo la fecha de consumo del envase que se ve"},
    "command_faster": {"en": "Faster", "es": "Más rápido"},
    "command_faster_desc": {"en": "speak faster", "es": "hablar más rápido"},
    "command_slower": {"en": "Slower", "es": "Más despacio"},
    "command_slower_desc": {"en": "speak slower", "es": "hablar más despacio"},
    "command_louder": {"en": "Louder", "es": "Más alto"},
    "command_louder_desc": {"en": "speak louder", "es": "hablar más alto"},
    "command_softer": {"en": "Softer", "es": "Más bajo"},
    "command_softer_desc": {"en": "speak softer", "es": "hablar más bajo"},
    # the language key's button names the language it switches to, in that language
    "command_language": {"en": "Español", "es": "English"},
    "command_language_desc": {"en": "switch language between English and Spanish",
                              "es": "cambiar el idioma entre inglés y español"},
    "command_camera": {"en": "Camera", "es": "Cámara"},
    "command_camera_desc": {"en": "choose the camera or another picture source",
                            "es": "elegir la cámara u otra fuente de imágenes"},
    "command_settings": {"en": "Settings", "es": "Ajustes"},
    "command_settings_desc": {"en": "open the settings", "es": "abrir los ajustes"},
    "command_maintainer": {"en": "Maintainer mode", "es": "Mantenimiento"},
    "command_maintainer_desc": {"en": "open maintainer mode to teach new products",
                                "es": "abrir el modo de mantenimiento para enseñar productos nuevos"},
    "command_help": {"en": "Help", "es": "Ayuda"},
    "command_help_desc": {"en": "say and show the list of commands",
                          "es": "decir y mostrar la lista de órdenes"},
    "command_quit": {"en": "Quit", "es": "Salir"},
    "command_quit_desc": {"en": "quit the assistant", "es": "salir del asistente"},
}

#: words a speech engine reads badly or in the wrong language, by language
SPOKEN_KEYS: dict[str, dict[str, str]] = {
    "en": {"Ctrl": "Control", "Esc": "Escape", "Up": "Up arrow", "Down": "Down arrow",
           "Left": "Left arrow", "Right": "Right arrow", ",": "comma", "PgUp": "Page up",
           "PgDown": "Page down", "Del": "Delete", "Ins": "Insert", "+": "plus"},
    "es": {"Ctrl": "Control", "Shift": "Mayúsculas", "Alt": "Alt", "Esc": "Escape",
           "Up": "flecha arriba", "Down": "flecha abajo", "Left": "flecha izquierda",
           "Right": "flecha derecha", ",": "coma", "Space": "espacio", "PgUp": "Re Pág",
           "PgDown": "Av Pág", "Del": "Suprimir", "Ins": "Insertar", "+": "más"},
}

"""The window's own words (labels, accessible names, a few spoken replies) in English and Spanish.

What the assistant *says* about products and the camera lives in assistant.live.catalog; this
table only holds what belongs to the window: control labels and descriptions, and the
replies to window commands the catalogue has no phrase for.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

TEXTS: dict[str, dict[str, str]] = {
    "title": {"en": "Grocery assistant", "es": "Asistente de compras"},
    "preview": {"en": "Camera picture", "es": "Imagen de la cámara"},
    "preview_desc": {"en": "What the camera sees now", "es": "Lo que ve la cámara ahora"},
    "product": {"en": "Current product", "es": "Producto actual"},
    "product_desc": {"en": "The name of the product the assistant recognised last",
                     "es": "El nombre del último producto reconocido"},
    "waiting": {"en": "Hold a product up", "es": "Muestre un producto"},
    "status": {"en": "Status", "es": "Estado"},
    "status_desc": {"en": "What the assistant is doing, and any problem",
                    "es": "Lo que hace el asistente y cualquier problema"},
    "watching": {"en": "Watching the camera.", "es": "Mirando la cámara."},
    "loading": {"en": "Starting…", "es": "Iniciando…"},
    "history": {"en": "History of what was said", "es": "Historial de lo dicho"},
    "history_desc": {"en": "Everything the assistant said, newest last, with the time",
                     "es": "Todo lo que dijo el asistente, lo más reciente al final, con la hora"},
    "history_label": {"en": "&History", "es": "&Historial"},
    "commands_menu": {"en": "&Commands", "es": "Ó&rdenes"},
    "continuous_state_on": {"en": "Continuous mode: on", "es": "Modo continuo: activado"},
    "continuous_state_off": {"en": "Continuous mode: off (press {key} to identify)",
                             "es": "Modo continuo: desactivado (pulse {key} para identificar)"},
    "speech_state": {"en": "Speech: {engine}, speed {rate}, volume {volume} %",
                     "es": "Voz: {engine}, velocidad {rate}, volumen {volume} %"},
    "help_title": {"en": "Commands and keys", "es": "Órdenes y teclas"},
    "help_list": {"en": "Commands", "es": "Órdenes"},
    "help_list_desc": {"en": "Each command with its key; use the arrow keys to read them",
                       "es": "Cada orden con su tecla; use las flechas para leerlas"},
    "close": {"en": "&Close", "es": "&Cerrar"},
    "close_desc": {"en": "Close this window", "es": "Cerrar esta ventana"},
    "camera_title": {"en": "Choose the camera", "es": "Elegir la cámara"},
    "camera_list": {"en": "Picture sources", "es": "Fuentes de imagen"},
    "camera_list_desc": {"en": "Pick a webcam, the demo, a video file or a folder of photos",
                         "es": "Elija una webcam, la demostración, un vídeo o una carpeta de fotos"},
    "webcam": {"en": "Webcam {n}", "es": "Webcam {n}"},
    "demo": {"en": "Demo pictures", "es": "Imágenes de demostración"},
    "video_file": {"en": "A video file…", "es": "Un archivo de vídeo…"},
    "photo_folder": {"en": "A folder of photos…", "es": "Una carpeta de fotos…"},
    "ok": {"en": "&OK", "es": "&Aceptar"},
    "ok_desc": {"en": "Use these choices", "es": "Usar estas opciones"},
    "cancel": {"en": "Cancel", "es": "Cancelar"},
    "cancel_desc": {"en": "Close without changing anything", "es": "Cerrar sin cambiar nada"},
    # the settings dialog
    "settings_title": {"en": "Settings", "es": "Ajustes"},
    "settings_tabs_desc": {"en": "Pages of settings; Control+Tab moves to the next page",
                           "es": "Páginas de ajustes; Control+Tab pasa a la siguiente"},
    "tab_speech": {"en": "Speech and camera", "es": "Voz y cámara"},
    "tab_recognition": {"en": "Recognition", "es": "Reconocimiento"},
    "tab_keys": {"en": "Keys", "es": "Teclas"},
    "language": {"en": "&Language:", "es": "&Idioma:"},
    "language_desc": {"en": "The language of the voice and of the window",
                      "es": "El idioma de la voz y de la ventana"},
    "voice": {"en": "&Voice:", "es": "&Voz:"},
    "voice_desc": {"en": "Which voice speaks", "es": "Qué voz habla"},
    "voice_default": {"en": "Default for the language", "es": "La del idioma"},
    "rate": {"en": "&Speed:", "es": "&Velocidad:"},
    "rate_desc": {"en": "How fast the voice speaks, in words per minute",
                  "es": "Lo rápido que habla la voz, en palabras por minuto"},
    "rate_suffix": {"en": " words per minute", "es": " palabras por minuto"},
    "volume": {"en": "V&olume:", "es": "V&olumen:"},
    "volume_desc": {"en": "How loud the voice is, in percent", "es": "El volumen de la voz, en por ciento"},
    "camera": {"en": "&Camera:", "es": "&Cámara:"},
    "camera_desc": {"en": "A webcam, the demo, or type the path of a video file or photo folder",
                    "es": "Una webcam, la demostración, o escriba la ruta de un vídeo o carpeta de fotos"},
    "camera_auto": {"en": "Automatic (webcam, else the demo)",
                    "es": "Automática (webcam, si no la demostración)"},
    "hold": {"en": "&Photo time:", "es": "&Tiempo por foto:"},
    "hold_desc": {"en": "Seconds each photo of a folder stays in view",
                  "es": "Segundos que cada foto de una carpeta queda a la vista"},
    "continuous": {"en": "Co&ntinuous mode (say each product as it appears)",
                   "es": "Modo co&ntinuo (decir cada producto al aparecer)"},
    "continuous_desc": {"en": "When off, the assistant speaks only when asked to identify",
                        "es": "Si está desactivado, solo habla cuando se le pide identificar"},
    "say_threshold": {"en": "Say the &name from:", "es": "Decir el &nombre desde:"},
    "say_threshold_desc": {"en": "Confidence needed to say a product's name plainly",
                           "es": "Confianza necesaria para decir el nombre sin dudas"},
    "maybe_threshold": {"en": "Say \"&maybe\" from:", "es": "Decir \"&quizá\" desde:"},
    "maybe_threshold_desc": {"en": "Confidence needed to say \"not sure, maybe\"; below it the assistant stays silent",
                             "es": "Confianza necesaria para decir \"quizá\"; por debajo se calla"},
    "window": {"en": "Pictures &voted over:", "es": "Imágenes &votadas:"},
    "window_desc": {"en": "How many recent pictures vote on the product",
                    "es": "Cuántas imágenes recientes votan el producto"},
    "agreement": {"en": "Votes &needed:", "es": "Votos &necesarios:"},
    "agreement_desc": {"en": "How many of those pictures must agree",
                       "es": "Cuántas de esas imágenes deben coincidir"},
    "key_desc": {"en": "Press the new key for: {what}", "es": "Pulse la tecla nueva para: {what}"},
    "keys_reset": {"en": "&Restore the default keys", "es": "&Restaurar las teclas de fábrica"},
    "keys_reset_desc": {"en": "Put every key back as it was when installed",
                        "es": "Volver a poner todas las teclas como al instalar"},
    "error_path": {"en": "No such file or folder: {path}", "es": "No existe el archivo o carpeta: {path}"},
    "error_key_empty": {"en": "The command \"{what}\" has no key.",
                        "es": "La orden \"{what}\" no tiene tecla."},
    "error_key_twice": {"en": "The key {key} is used twice: {a} and {b}.",
                        "es": "La tecla {key} está dos veces: {a} y {b}."},
    # spoken replies the catalogue has no phrase for (their key is their message id)
    "maintainer_unavailable": {"en": "Maintainer mode is not available.",
                               "es": "El modo de mantenimiento no está disponible."},
    "settings_opened": {"en": "Settings.", "es": "Ajustes."},
    "settings_saved": {"en": "Settings saved.", "es": "Ajustes guardados."},
    "camera_choose": {"en": "Choose the camera with the arrow keys, then press Enter.",
                      "es": "Elija la cámara con las flechas y pulse Intro."},
    "camera_open_failed": {"en": "Cannot use that source: {detail}",
                           "es": "No se puede usar esa fuente: {detail}"},
    "camera_fallback_demo": {"en": "No camera found. Playing the demo pictures.",
                             "es": "No hay cámara. Se muestran las imágenes de demostración."},
    "model_slow_path": {"en": "The fast model file could not be prepared; recognition is slower.",
                        "es": "No se pudo preparar el archivo rápido del modelo; el reconocimiento es más lento."},
    "model_loaded": {"en": "New model loaded: {count} products.",
                     "es": "Modelo nuevo cargado: {count} productos."},
    "model_failed": {"en": "Cannot load the model: {detail}",
                     "es": "No se puede cargar el modelo: {detail}"},
    "fastest": {"en": "Fastest.", "es": "Lo más rápido."},
    "slowest": {"en": "Slowest.", "es": "Lo más lento."},
    "loudest": {"en": "Loudest.", "es": "Lo más alto."},
    "softest": {"en": "Softest.", "es": "Lo más bajo."},
    "goodbye": {"en": "Goodbye.", "es": "Adiós."},
}


def text(key: str, language: str = "en", /, **fields: object) -> str:
    """The window text for key in language (English if missing), fields filled in."""
    entry = TEXTS.get(key)
    if entry is None:
        log.error("no window text %r", key)
        return key.replace("_", " ")
    template = entry.get(language) or entry["en"]
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        log.error("window text %r lacks a field", key)
        return template


def plain(label: str) -> str:
    """A label without its & mnemonic marker (for accessible names)."""
    return label.replace("&", "")

"""What the assistant says: UI phrases in English and Spanish, product names from the model.

Product names live in each checkpoint's metadata (so a retrained model brings its own);
everything else the assistant says is here, keyed by a message id that also goes into the
history and the transcript.
"""
from __future__ import annotations

import logging
import string

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": {"en": "English", "es": "inglés"}, "es": {"en": "Spanish", "es": "español"}}

PHRASES: dict[str, dict[str, str]] = {
    "ready": {"en": "Ready. Hold a product in front of the camera.",
              "es": "Listo. Sostenga un producto delante de la cámara."},
    "product": {"en": "{name}", "es": "{name}"},
    "not_sure_maybe": {"en": "Not sure. Maybe {name}.", "es": "No estoy seguro. Quizá {name}."},
    "lookalike": {"en": "{name}, or maybe {other}. Turn the pack to the label.",
                  "es": "{name}, o quizá {other}. Gire el envase hacia la etiqueta."},
    "nothing_recognised": {"en": "I do not recognise this product.",
                           "es": "No reconozco este producto."},
    "nothing_in_view": {"en": "Nothing recognised. Hold a product closer to the camera.",
                        "es": "No veo ningún producto. Acérquelo a la cámara."},
    "too_dark": {"en": "Too dark. Find more light.", "es": "Está muy oscuro. Busque más luz."},
    "too_blurred": {"en": "Too blurred. Hold the product still.",
                    "es": "Imagen borrosa. Mantenga el producto quieto."},
    "no_picture": {"en": "No picture from the camera yet.", "es": "Todavía no hay imagen de la cámara."},
    "camera_disconnected": {"en": "Camera disconnected. Trying again.",
                            "es": "Cámara desconectada. Reintentando."},
    "camera_reconnected": {"en": "Camera connected again.", "es": "Cámara conectada de nuevo."},
    "camera_failed": {"en": "Cannot open the camera. Trying again.",
                      "es": "No se puede abrir la cámara. Reintentando."},
    "camera_changed": {"en": "Camera: {name}.", "es": "Cámara: {name}."},
    "source_ended": {"en": "End of the video.", "es": "Fin del vídeo."},
    "speech_failed": {"en": "Speech does not work: {detail}. Results are shown on screen.",
                      "es": "La voz no funciona: {detail}. Los resultados se muestran en pantalla."},
    "worker_failed": {"en": "Recognition stopped because of an error: {detail}.",
                      "es": "El reconocimiento se detuvo por un error: {detail}."},
    "continuous_on": {"en": "Continuous mode on.", "es": "Modo continuo activado."},
    "continuous_off": {"en": "Continuous mode off. Ask to identify.",
                       "es": "Modo continuo desactivado. Pida identificar."},
    "language_changed": {"en": "English.", "es": "Español."},
    "rate_changed": {"en": "Speed {value}.", "es": "Velocidad {value}."},
    "faster": {"en": "Faster.", "es": "Más rápido."},
    "slower": {"en": "Slower.", "es": "Más lento."},
    "louder": {"en": "Louder.", "es": "Más alto."},
    "softer": {"en": "Softer.", "es": "Más bajo."},
    "volume_changed": {"en": "Volume {value} percent.", "es": "Volumen {value} por ciento."},
    "nothing_to_repeat": {"en": "Nothing to repeat yet.", "es": "Todavía no hay nada que repetir."},
    "speech_stopped": {"en": "", "es": ""},
    "help_intro": {"en": "Commands:", "es": "Órdenes:"},
    "help_item": {"en": "{description}: {shortcut}.", "es": "{description}: {shortcut}."},
    "maintainer_mode": {"en": "Maintainer mode.", "es": "Modo de mantenimiento."},
}


def phrase(message_id: str, language: str = "en", **fields: object) -> str:
    """The sentence for message_id in language (English if missing), fields filled in.

    An unknown id or a missing field is a programming error, but the shopper must still
    hear something: it is logged and the bare id (or the unfilled text) is returned.
    """
    entry = PHRASES.get(message_id)
    if entry is None:
        log.error("no phrase for message id %r", message_id)
        return message_id.replace("_", " ")
    template = entry.get(language) or entry["en"]
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        log.error("phrase %r in %s lacks a field: %s", message_id, language, exc)
        return template


def fields_of(message_id: str) -> set[str]:
    """The {fields} a phrase expects (for tests and the help)."""
    entry = PHRASES.get(message_id, {})
    names: set[str] = set()
    for template in entry.values():
        names.update(f for _, f, _, _ in string.Formatter().parse(template) if f)
    return names


def product_name(classifier_or_checkpoint: object, class_id: str, language: str = "en") -> str:
    """The spoken name of class_id, from the checkpoint's metadata (a Classifier or a
    Checkpoint); an id the model does not know is spoken as its words."""
    ckpt = getattr(classifier_or_checkpoint, "checkpoint", classifier_or_checkpoint)
    try:
        return ckpt.name(ckpt.class_ids.index(class_id), language)
    except (ValueError, KeyError, IndexError, AttributeError):
        log.warning("no name for product %r in %s", class_id, language)
        return class_id.replace("_", " ").replace("-", " ")

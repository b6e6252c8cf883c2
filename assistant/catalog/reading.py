"""What the label reader says: the text on a pack, its dates, and its problems."""

READING: dict[str, dict[str, str]] = {
    "read_text": {"en": "{text}", "es": "{text}"},  # the words read on the pack, as printed
    "read_nothing": {"en": "No text found. Turn the pack slowly.",
                     "es": "No encuentro texto. Gire el envase despacio."},
    "read_no_date": {"en": "No date found. Turn the pack slowly.",
                     "es": "No encuentro ninguna fecha. Gire el envase despacio."},
    "read_unavailable": {"en": "Reading text does not work: {detail}. Everything else still works.",
                         "es": "La lectura de texto no funciona: {detail}. Todo lo demás sigue funcionando."},
    "read_failed": {"en": "Could not read the text: {detail}.",
                    "es": "No se pudo leer el texto: {detail}."},
    "reading": {"en": "Reading.", "es": "Leyendo."},
    # dates: the month names in order, a date with and without its day, one sentence per kind
    "month_names": {"en": "January February March April May June July August September "
                          "October November December",
                    "es": "enero febrero marzo abril mayo junio julio agosto septiembre "
                          "octubre noviembre diciembre"},
    "date_day": {"en": "{day} {month} {year}", "es": "{day} de {month} de {year}"},
    "date_month": {"en": "{month} {year}", "es": "{month} de {year}"},
    "date_best_before_day": {"en": "Best before {date}.",
                             "es": "Consumir preferentemente antes del {date}."},
    "date_best_before_month": {"en": "Best before end of {date}.",
                               "es": "Consumir preferentemente antes del fin de {date}."},
    "date_use_by_day": {"en": "Use by {date}.", "es": "Consumir antes del {date}."},
    "date_use_by_month": {"en": "Use by end of {date}.", "es": "Consumir antes del fin de {date}."},
    "date_expiry_day": {"en": "Expires {date}.", "es": "Caduca el {date}."},
    "date_expiry_month": {"en": "Expires end of {date}.", "es": "Caduca a finales de {date}."},
    "date_date_day": {"en": "Date {date}.", "es": "Fecha {date}."},
    "date_date_month": {"en": "Date {date}.", "es": "Fecha {date}."},
    "date_passed": {"en": "That date has passed.", "es": "Esa fecha ya ha pasado."},
}

"""The sentences of the errors a user can mend (raised as UserError(..., message_id=...))."""

ERRORS: dict[str, dict[str, str]] = {
    "err_name_control": {"en": "A product's name cannot hold line breaks or control characters: {name}",
                         "es": "El nombre de un producto no puede tener saltos de línea ni caracteres de control: {name}"},
    "err_no_product": {"en": "There is no product {pid} in the library.",
                       "es": "No hay ningún producto {pid} en la biblioteca."},
    "err_names_both": {"en": "A product needs its name in English and in Spanish.",
                       "es": "Un producto necesita su nombre en inglés y en español."},
    "err_no_usable_id": {"en": "{name} gives no usable product id; use letters or digits.",
                         "es": "{name} no da un identificador de producto; use letras o cifras."},
    "err_product_exists": {"en": "There is already a product {en} ({pid}).",
                           "es": "Ya hay un producto {es} ({pid})."},
    "err_name_empty": {"en": "A product's name cannot be empty.",
                       "es": "El nombre de un producto no puede estar vacío."},
    "err_not_photo_of": {"en": "{photo} is not a photo of {pid}.",
                         "es": "{photo} no es una foto de {pid}."},
    "err_no_folder": {"en": "{folder}: no such folder.", "es": "{folder}: no existe esa carpeta."},
    "err_nothing_to_roll_back": {
        "en": "The bundled model is already in use; there is nothing to roll back to.",
        "es": "Ya se usa el modelo incluido; no hay ningún modelo anterior al que volver."},
    "err_too_few_photos": {"en": "Too few photos (at least {n} needed) for: {products}",
                           "es": "Faltan fotos (se necesitan al menos {n}) de: {products}"},
    "err_no_training_photo": {"en": "No readable training photo at all.",
                              "es": "No hay ninguna foto de entrenamiento legible."},
    "err_no_training_photo_for": {"en": "No readable training photo for: {products}",
                                  "es": "No hay ninguna foto de entrenamiento legible de: {products}"},
}

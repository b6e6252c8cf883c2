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
    "err_product_exists": {"en": "There is already a product {en} ({es}, id {pid}).",
                           "es": "Ya hay un producto {es} ({en}, id {pid})."},
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
    "err_upper_no_imagenet": {
        "en": "The upper blocks cannot start from ImageNet's weights: they are not installed. "
              "Install them, or start the upper blocks from the model's own.",
        "es": "Los bloques superiores no pueden partir de los pesos de ImageNet: no están "
              "instalados. Instálelos, o haga partir los bloques superiores de los del modelo."},
    "err_upper_lower_differs": {
        "en": "The upper blocks cannot start from ImageNet's weights: this model's lower blocks "
              "are not ImageNet's. Start the upper blocks from the model's own.",
        "es": "Los bloques superiores no pueden partir de los pesos de ImageNet: los bloques "
              "inferiores de este modelo no son los de ImageNet. Hágalos partir de los del modelo."},
    "err_head_no_imagenet": {
        "en": "The head cannot read ImageNet's features: ImageNet's weights are not installed. "
              "Install them, or leave out --upper-start imagenet.",
        "es": "La última capa no puede leer las características de ImageNet: los pesos de ImageNet "
              "no están instalados. Instálelos, o quite --upper-start imagenet."},
    "err_head_lower_differs": {
        "en": "The head cannot read ImageNet's features: this model's lower blocks are not "
              "ImageNet's. Leave out --upper-start imagenet.",
        "es": "La última capa no puede leer las características de ImageNet: los bloques inferiores "
              "de este modelo no son los de ImageNet. Quite --upper-start imagenet."},
    "err_upper_needs_old_photos": {
        "en": "Adapting the upper blocks changes the network, so it needs photos of every product the "
              "model keeps (none here for: {products}). Add their photos, keep only the new products, "
              "or adapt the last layer only.",
        "es": "Ajustar los bloques superiores cambia la red, así que necesita fotos de todos los productos "
              "que conserva el modelo (no hay de: {products}). Añada sus fotos, quédese solo con los "
              "productos nuevos o ajuste solo la última capa."},
    "err_no_file": {"en": "{path}: cannot be read.", "es": "{path}: no se puede leer."},
    "err_barcode_bad": {"en": "{code} is not a barcode.", "es": "{code} no es un código de barras."},
    "err_barcode_check_digit": {
        "en": "{code}: the check digit is wrong (mistyped?), or it is not an EAN-13, UPC-A, EAN-8 or UPC-E code.",
        "es": "{code}: el dígito de control no cuadra (¿mal tecleado?), o no es un código EAN-13, UPC-A, EAN-8 ni UPC-E."},
    "err_barcode_letter": {"en": "{code}: a barcode has only digits; is the {letter} a {digit}?",
                           "es": "{code}: un código de barras solo tiene cifras; ¿la {letter} es un {digit}?"},
    "err_barcode_not_digits": {
        "en": "{code}: a barcode has only digits (EAN, UPC); write a QR code's text as {mark}TEXT.",
        "es": "{code}: un código de barras solo tiene cifras (EAN, UPC); escriba el texto de un código QR como {mark}TEXTO."},
    "err_barcode_name_long": {"en": "{code}: the name is longer than {n} characters.",
                              "es": "{code}: el nombre tiene más de {n} caracteres."},
    "err_barcode_list_unreadable": {
        "en": "{path}: the barcode list cannot be read; it was left as it is.",
        "es": "{path}: no se puede leer la lista de códigos; se ha dejado como estaba."},
    "err_barcode_taken": {"en": "{code} already belongs to {product}; remove it first.",
                          "es": "{code} ya es de {product}; quítelo primero."},
    "err_barcode_no_name": {"en": "{code}: give a name to say.",
                            "es": "{code}: falta el nombre que hay que decir."},
    "err_barcode_unknown": {"en": "{code} is not in your list.",
                            "es": "{code} no está en su lista."},
    "err_barcode_not_text": {"en": "{path}: not a text file (UTF-8).",
                             "es": "{path}: no es un archivo de texto (UTF-8)."},
    "err_barcode_fields": {"en": "expected code,en,es, found {n} fields",
                           "es": "se esperaba código,en,es y hay {n} campos"},
    "err_barcode_name_control": {"en": "{code}: the name holds control characters.",
                                 "es": "{code}: el nombre tiene caracteres de control."},
    "err_barcode_twice": {"en": "{code} appears again (first on line {first})",
                          "es": "{code} aparece otra vez (la primera en la línea {first})"},
    "err_barcode_import_lines": {
        "en": "{path}: {n} damaged lines, the first: line {line}: {why}; nothing was imported.",
        "es": "{path}: {n} líneas dañadas, la primera: línea {line}: {why}; no se ha importado nada."},
    "err_barcode_list_busy": {
        "en": "{path}: the barcode list cannot be changed now ({detail}); nothing was changed.",
        "es": "{path}: ahora no se puede cambiar la lista de códigos ({detail}); no se ha cambiado nada."},
    "err_barcode_import_line": {"en": "{path}, line {line}: {why}; nothing was imported.",
                                "es": "{path}, línea {line}: {why}; no se ha importado nada."},
}

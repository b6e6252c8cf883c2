"""What training and retraining say about their progress (the terminal and maintainer mode)."""

TRAINING: dict[str, dict[str, str]] = {
    "retrain_starting": {
        "en": "starting from {base}: {n} {n|product|products} ({new} new, {replaced} replaced), {train} "
              "training and {heldout} held-out photos",
        "es": "partiendo de {base}: {n} {n|producto|productos} ({new} {new|nuevo|nuevos}, "
              "{replaced} {replaced|sustituido|sustituidos}), {train} {train|foto|fotos} de "
              "entrenamiento y {heldout} {heldout|apartada|apartadas} para comprobar"},
    "retrain_cancelled": {"en": "cancelled; the model in use is untouched",
                          "es": "cancelado; el modelo en uso no ha cambiado"},
    "child_died": {"en": "the training process stopped unexpectedly (exit code {code}{why}); the model "
                         "in use is unchanged",
                   "es": "el proceso de entrenamiento se detuvo de improviso (código {code}{why}); el "
                         "modelo en uso no ha cambiado"},
    "child_not_started": {"en": "the training process could not start ({why}); the model in use is unchanged",
                          "es": "el proceso de entrenamiento no pudo empezar ({why}); el modelo en uso "
                                "no ha cambiado"},
    "retrain_estimate": {"en": "about {t} on this computer, by its measured speed",
                         "es": "unos {t} en este ordenador, según su velocidad medida"},
    "retrain_untimed": {"en": "not yet timed on this computer: this retrain measures its speed",
                        "es": "aún sin medir en este ordenador: este reentrenamiento mide su velocidad"},
    "retrain_took": {"en": "took {seconds} s; estimated {estimate} s at the start (ratio {ratio})",
                     "es": "tardó {seconds} s; estimado al empezar: {estimate} s (proporción {ratio})"},
    "retrain_preparing": {"en": "preparing the new model for the app",
                          "es": "preparando el modelo nuevo para la aplicación"},
    "retrain_head_first": {"en": "first the head alone: {text}",
                           "es": "primero solo la última capa: {text}"},
    "retrain_checking": {"en": "checking both models on {n} held-out photos",
                         "es": "comprobando los dos modelos con {n} {n|foto apartada|fotos apartadas}"},
    "retrain_reading": {"en": "reading {n} {n|photo|photos} or fewer through the network (cached for next time)",
                        "es": "pasando {n} {n|foto|fotos} o menos por la red (se guardan para la próxima vez)"},
    "retrain_from_bank": {"en": "{n} known products without photos here taken from the feature bank",
                          "es": "{n} {n|producto conocido|productos conocidos} sin fotos aquí, tomados del banco de "
                                "características"},
    "retrain_stand_ins": {
        "en": "{n} known products without photos here: stand-ins made from the model's head keep "
              "the new products from claiming them",
        "es": "{n} {n|producto conocido|productos conocidos} sin fotos aquí: unos sustitutos hechos con la última capa "
              "del modelo evitan que los productos nuevos los acaparen"},
    "retrain_fitting_head": {"en": "fitting the head", "es": "ajustando la última capa"},
    "retrain_refitting": {"en": "checked: learning from the {n} held-out {n|photo|photos} too",
                          "es": "comprobado: aprendiendo también de {n|la|las} {n} {n|foto reservada|fotos reservadas}"},
    "retrain_adapt_auto": {"en": "{n} {n|product is|products are} new: the upper blocks are adapted too "
                                 "(minutes; far more often right than the last layer alone)",
                           "es": "{n} {n|producto es nuevo|productos son nuevos}: se ajustan también los "
                                 "bloques superiores (minutos; aciertan mucho más que solo la última capa)"},
    "retrain_adapting": {"en": "adapting the upper blocks", "es": "adaptando los bloques superiores"},
    "retrain_upper_imagenet": {"en": "the upper blocks start from ImageNet's weights",
                               "es": "los bloques superiores parten de los pesos de ImageNet"},
    "retrain_features_imagenet": {"en": "as asked, the new head reads ImageNet's upper blocks",
                                  "es": "como se pidió, la capa nueva lee los bloques superiores de ImageNet"},
    "retrain_upper_no_imagenet": {"en": "ImageNet's weights are not installed: the upper blocks start "
                                        "from the model's own",
                                  "es": "los pesos de ImageNet no están instalados: los bloques "
                                        "superiores parten de los del modelo"},
    "retrain_upper_lower_differs": {"en": "this model's lower blocks are not ImageNet's: the upper blocks "
                                          "start from its own",
                                    "es": "los bloques inferiores de este modelo no son los de ImageNet: "
                                          "los superiores parten de los suyos"},
    "retrain_epoch": {"en": "epoch {epoch}: loss {loss}", "es": "época {epoch}: pérdida {loss}"},
    "retrain_epoch_val": {"en": "epoch {epoch}: loss {loss}, validation {acc}",
                          "es": "época {epoch}: pérdida {loss}, validación {acc}"},
    "train_saved": {"en": "saved {path}", "es": "guardado {path}"},
    "train_reading": {"en": "reading photos from {folder}", "es": "leyendo fotos de {folder}"},
    "train_skipped": {"en": "skipped {n} unreadable file(s); see the report",
                      "es": "{n} archivo(s) ilegible(s) omitido(s); véase el informe"},
    "train_unlabelled": {"en": "added {n} unlabelled photos from {folder}",
                         "es": "{n|añadida|añadidas} {n} {n|foto|fotos} sin etiqueta de {folder}"},
    "train_split": {"en": "{train} training, {val} validation, {test} test photos, {n} {n|product|products}",
                    "es": "{train} {train|foto|fotos} de entrenamiento, {val} de validación, {test} de prueba, "
                          "{n} {n|producto|productos}"},
    "train_resumed": {"en": "resumed from epoch {epoch}", "es": "reanudado desde la época {epoch}"},
    "train_cancelled": {"en": "cancelled; the current model is untouched",
                        "es": "cancelado; el modelo actual no ha cambiado"},
    "train_budget": {"en": "{minutes} min budget: the schedule now ends at epoch {epoch}",
                     "es": "presupuesto de {minutes} min: el programa termina ahora en la época {epoch}"},
    "cache_ready": {"en": "the teacher's answers for {photos} {photos|photo|photos} x {views} {views|view|views} are ready ({path})",
                    "es": "las respuestas del maestro para {photos} {photos|foto|fotos} x {views} {views|vista|vistas} están listas ({path})"},
    "cache_building": {"en": "computing the teacher's answers: {photos} {photos|photo|photos} x {views} {views|view|views}, "
                             "{done} {done|photo|photos} done ({path})",
                       "es": "calculando las respuestas del maestro: {photos} {photos|foto|fotos} x {views} {views|vista|vistas}, "
                             "{done} {done|foto hecha|fotos hechas} ({path})"},
    "cache_progress": {"en": "teacher's answers: {done} of {photos} {photos|photo|photos} ({views_per_s} views/s)",
                       "es": "respuestas del maestro: {done} de {photos} {photos|foto|fotos} ({views_per_s} vistas/s)"},
}

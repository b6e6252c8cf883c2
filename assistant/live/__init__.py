"""The live flow: camera -> grabber -> pipeline (vision, classifier) -> announcer -> speech,
with the catalogue of sentences and the settings. Emits events; never imports Qt."""

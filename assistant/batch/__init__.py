"""`classify DIR`: name the product in every photo of a folder. command (the subcommand and
its CSV/JSON report) over the two engines, local (threads on this machine) and on_ray (Ray
Data), which share photos (decoding a photo and answering a batch: the one way to do both)."""

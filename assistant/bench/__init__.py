"""`bench`: speed figures of this machine. command (the subcommand and its parts) over
runtime (the app, `serve` and `classify` without torch against the torch path)."""

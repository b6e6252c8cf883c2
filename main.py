"""Entry point: hand over to the command line (no subcommand opens the app)."""
from assistant.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m assistant`: the same command line as `grocery-assistant` (and main.py)."""
from assistant.cli import main

raise SystemExit(main())

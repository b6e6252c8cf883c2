"""Training, evaluation and export of the product models, and the bundled checkpoint."""
from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"

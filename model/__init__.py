"""Training, evaluation and export of the product models, and the bundled checkpoint."""
from assistant.paths import BUNDLED_DIR

__all__ = ["BUNDLED_DIR"]

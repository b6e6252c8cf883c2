"""What every loaded model answers, whichever runtime runs it (ONNX Runtime's OnnxClassifier,
PyTorch's inference.classifier.Classifier, a test's fake): the live flow, the window and the
entry points type their classifier with this instead of probing it for attributes."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy and the checkpoint only for the annotations: this stays import-light
    import numpy as np

    from assistant.inference.calibration import Calibration
    from assistant.inference.checkpoint import Checkpoint
    from assistant.inference.prediction import Prediction
    from assistant.inference.vision import Preprocessing


@runtime_checkable
class Classifier(Protocol):
    """A model ready to answer: its checkpoint (names, metadata), its calibration (temperature,
    the announcer's bands), and how it runs (backend "torch", "onnx", "onnx-int8" or
    "openvino-bf16"; device; precision)."""

    path: Path | None
    checkpoint: Checkpoint
    class_ids: list[str]
    preprocessing: Preprocessing
    calibration: Calibration
    backend: str
    device: str
    precision: str

    def name(self, class_id: str, language: str = "en") -> str:
        """The spoken name of class_id in language."""
        ...

    def predict(self, rgb: np.ndarray, k: int = 3) -> Prediction:
        """The best k answers for one RGB picture."""
        ...

    def predict_batch(self, pictures: list[np.ndarray], k: int = 3) -> list[Prediction]:
        """The best k answers for each picture, in one run of the network."""
        ...

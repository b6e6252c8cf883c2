"""What every runtime of a checkpoint's exported graph shares (ONNX Runtime in onnx_backend,
OpenVINO in openvino_backend): the checkpoint's names, preprocessing and calibration, and
answers made from its logits(). No torch, no Qt."""
from __future__ import annotations

import os
from pathlib import Path


class ExportedModel:
    """What a runtime of a checkpoint's exported graph shares: the checkpoint's names,
    preprocessing and calibration, and answers from its logits() (ONNX Runtime here, OpenVINO
    in openvino_backend)."""

    def _read(self, source: str | os.PathLike) -> None:
        from assistant.inference.calibration import Calibration
        from assistant.inference.checkpoint import Checkpoint, read_metadata
        self.path = Path(source)
        meta = read_metadata(self.path)
        self.checkpoint = Checkpoint({}, meta, self.path)
        self.class_ids = self.checkpoint.class_ids
        self.preprocessing = self.checkpoint.preprocessing
        self.calibration = Calibration.from_meta(meta)

    def logits(self, batch):
        raise NotImplementedError

    @staticmethod
    def _array(batch):
        """A normalised batch as the contiguous float32 array a runtime takes (a torch tensor,
        from a caller that has torch anyway, is accepted)."""
        import numpy as np
        if hasattr(batch, "detach"):
            batch = batch.detach().cpu().float().numpy()
        return np.ascontiguousarray(batch, dtype=np.float32)

    def name(self, class_id: str, language: str = "en") -> str:
        return self.checkpoint.name(self.class_ids.index(class_id), language)

    def predict(self, rgb, k: int = 3):
        return self.predict_batch([rgb], k)[0]

    def predict_batch(self, pictures: list, k: int = 3) -> list:
        if not pictures:
            return []
        return self.predict_array(self.preprocessing.batch_array(pictures), k)

    def predict_array(self, batch, k: int = 3) -> list:
        return self.calibration.predictions(self.logits(batch), self.class_ids, k)

    def predict_tensor(self, batch, k: int = 3) -> list:
        return self.predict_array(batch, k)

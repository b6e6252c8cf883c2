"""What a classifier answers: best-first (product id, probability) pairs. numpy only, no torch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """Best-first (class id, probability) pairs."""

    top: list[tuple[str, float]]
    #: the runner-up's id when the best two are a pair this model is known to confuse
    lookalike: str | None = None

    @property
    def label(self) -> str:
        return self.top[0][0]

    @property
    def score(self) -> float:
        return self.top[0][1]


def check_finite_answers(logits, source: object) -> None:
    """A model whose answers on a plain grey picture are not all numbers (NaN, infinite) is
    refused at load: it would say nothing, or send invalid JSON, for every photo."""
    values = np.asarray(logits, dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).all():
        raise not_numbers(source)


def not_numbers(source: object) -> Exception:
    """The one-line refusal of a model whose answers (or weights) are not numbers."""
    from assistant.inference.checkpoint import CheckpointError
    return CheckpointError(f"{source}: the model's answers are not numbers (NaN or infinite "
                           "weights or normalisation); it cannot be used")


def probe_batch(size: int) -> np.ndarray:
    """The fixed probe: one mid-grey picture, normalised as zeros (1 x 3 x size x size)."""
    return np.zeros((1, 3, size, size), dtype=np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of N x C logits, in float64 for the sums, returned as float32."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def top_k(logits: np.ndarray, class_ids: list[str], k: int) -> list[Prediction]:
    """N x C logits -> one best-first Prediction of k entries per row."""
    probs = softmax(logits)
    k = min(k, probs.shape[1])
    # stable sort on the negated values: ties keep the lower index first, as torch.topk does
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [Prediction([(class_ids[i], float(row[i])) for i in idx]) for row, idx in zip(probs, order, strict=True)]

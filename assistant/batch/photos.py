"""What the two engines of `classify` share, so that both give the same answers: a photo file
decoded the one way (decode), a batch of them answered in one model pass (answer), the reason
a file was skipped (reason), and the report they fill (Result, Report)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.catalog.languages import LANGUAGES


@dataclass
class Result:
    path: str
    label: str
    score: float
    top: list[tuple[str, float]]
    names: dict[str, str]
    text: list[str] | None = None  # with --text: the lines read, most prominent first
    dates: list[dict] | None = None  # with --text: {"text", "date", "kind"} per date read


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def photos_per_second(self) -> float:
        return len(self.results) / self.seconds if self.seconds > 0 else 0.0


def decode(path: Path, size: int):
    """Photo file -> 3xSxS uint8 array, or the ImageError saying why not.

    numpy, not torch, in these threads: a torch op started from several threads at once makes
    an OpenMP team per thread, which costs tens of ms a photo when the model's threads are busy.
    """
    import numpy as np

    from assistant.inference.vision import ImageError, fit_square, load_image
    try:
        return np.ascontiguousarray(fit_square(load_image(path), size).transpose(2, 0, 1))
    except ImageError as exc:
        return exc
    except Exception as exc:  # a decoder bug must cost one file, never the run
        return ImageError(f"{path}: cannot be read ({type(exc).__name__}: {exc})")


def answer(classifier, rels: list[str], chws: list, k: int = 3) -> list[Result]:
    """3xSxS uint8 pictures (made by decode) -> their Results, in one model pass."""
    import numpy as np
    batch = classifier.preprocessing.normalize_array(np.stack(chws))
    return [Result(rel, pred.label, pred.score, pred.top,
                   {lang: classifier.name(pred.label, lang) for lang in LANGUAGES})
            for rel, pred in zip(rels, classifier.predict_array(batch, k), strict=True)]


def reason(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text

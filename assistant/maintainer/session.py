"""The maintainer's session, with no Qt: the product library, features warmed ahead, a retrain
(in a child process for the window, in the terminal's own process for `main.py retrain`), its
comparison with the model in use, activation, rollback and the bundled model. Maintainer mode's
window, `main.py retrain --activate` and `main.py models activate` all go through it.

The new model's ONNX file is made once, where the retrain ran (prepare); activation finds it.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from assistant.errors import UserError
from assistant.files import MIN_PHOTOS
from assistant.inference.checkpoint import read_metadata
from assistant.maintainer.job import ChildJob
from assistant.store import models
from assistant.store.library import Library

log = logging.getLogger(__name__)


class Worse(UserError):
    """Activation refused: the model's own report says it is worse than the one it came from."""

    def __init__(self, new_top1: float | None, current_top1: float | None) -> None:
        self.new_top1, self.current_top1 = new_top1 or 0.0, current_top1 or 0.0
        super().__init__(f"the new model is worse than the one in use ({self.new_top1:.1%} vs "
                         f"{self.current_top1:.1%})")


class RetrainListener:
    """What a retrain tells whoever started it; called from the job's reader thread."""

    def on_progress(self, fraction: float, eta: float) -> None: ...

    def on_message(self, text: str) -> None: ...

    def on_finished(self, result) -> None: ...   # a model.retrain.RetrainResult

    def on_failed(self, message: str) -> None: ...


#: photos of each new product read for its label words when maintainer mode is asked to
#: (retrain --label-words N; 4 gave top1_text +5.0 points on the 31 packaged GroceryStore
#: products, docs/reading.md)
WORD_PHOTOS = 4


def prepare(out: Path, callback=None, photos: tuple | None = None) -> None:
    """The new model's ONNX file, made now (torch is loaded where a retrain ran), so neither
    activation nor the app's start waits for an export, and its precision on this CPU kind
    (int8 only where measured as right as fp32), calibrated on the photos it learnt from and
    judged on the ones held out (photos: (train, heldout) as RetrainResult keeps them). A failure
    is logged: the model is fine, and the app would answer with PyTorch (or fp32) and say so."""
    from assistant.inference.export import ensure_onnx
    if callback is not None:
        callback.note("retrain_preparing")
    try:
        ensure_onnx(out)
    except Exception as exc:
        log.warning("%s: no ONNX file (%s)", out, exc)
        return
    if fp32_like_its_base(out):
        return
    from model.precision import make_ready
    train, heldout = photos if photos else (None, None)
    make_ready(out, train=train, heldout=heldout)


def fp32_like_its_base(out: Path) -> bool:
    """A head-only retrain of a model that runs in fp32 on this CPU kind (measured lossy in
    int8 and bf16, or never measured), or in a precision checked by fp32, runs in fp32, without
    building and measuring an int8 file of its own (20-30 s of a one-product retrain's time to
    live, more than the retrain): its network is the base's, and fp32 gives the answers a checked
    precision keeps. `python -m model.precision FILE` measures it whenever wanted."""
    from assistant.inference.checkpoint import head_only_base
    from assistant.inference.precision import read_choice
    base = head_only_base(read_metadata(out))
    if base is None:
        return False
    choice = read_choice(base)
    if choice is not None and choice.precision in ("int8", "bf16"):  # the new head is measured
        return False
    log.info("%s: fp32, as its base on this CPU kind (int8 not measured for a new head)", out)
    return True


def retrain_here(cfg, callback=None, began: float | None = None):
    """model.retrain.retrain in this process, then its one export and precision; what it
    measured becomes this computer's speed (assistant.maintainer.speed). began: time.time()
    when the work began (default: the process's start: a child's or a command's whole time)."""
    from assistant.maintainer import speed
    from assistant.store import timings
    from model.retrain import retrain
    from model.retrain.features import METER
    began = timings.process_started() if began is None else began
    METER.reset()
    result = retrain(cfg, callback, began)
    if result.out is not None and not result.cancelled:
        prepare(result.out, callback, result.photos)
        speed.after_retrain(cfg, result, began)
    return result


def check_verdict(path: str | Path, yes: bool = False) -> None:
    """Worse when the model's recorded comparison says so and the maintainer did not insist."""
    verdict = read_metadata(path).get("retrain", {}).get("comparison", {})
    if verdict.get("verdict") == "worse" and not yes:
        raise Worse(verdict.get("new_top1"), verdict.get("current_top1"))


class MaintainerSession:
    """One maintainer's work on the library and the models. model_in_use() names the model the
    app runs (its retrains start from it); None: the active one. lean: this process must not
    load torch (the app's): activation's load checks run in a child too."""

    def __init__(self, library: Library | None = None, language: str = "en",
                 model_in_use: Callable[[], Path | None] | None = None, lean: bool = False) -> None:
        self.library = library or Library()
        self.lean = lean
        self.language = language
        self.model_in_use = model_in_use or (lambda: None)
        self.retrain_job: ChildJob | None = None
        self.warm_job: ChildJob | None = None

    # --- the library --------------------------------------------------------------------
    def base_model(self) -> Path:
        return Path(self.model_in_use() or models.active_model_path())

    def too_few(self) -> list[str]:
        return [p.name(self.language) for p in self.library.too_few(MIN_PHOTOS)]

    # --- features ahead of a retrain ----------------------------------------------------
    def start_warm(self, on_ended: Callable[[dict], None],
                   on_counted: Callable[[dict], None] | None = None, only: bool = False) -> None:
        """Compute, in a child, the features a fast retrain will need (only: for a model of the
        library's products alone). One already running is ended first: the new one covers its
        photos and the ones added since (what it cached stays), and only the new one's events
        are told: on_counted({"cold": photo views not cached yet, "photos": n}) and
        on_counted({"cold_upper": those of a retrain with the upper blocks, "upper": whether
        `retrain --adapt auto` would adapt them}) before it reads,
        on_ended at its end."""
        if self.warm_job is not None:
            self.warm_job.cancel()
        task = {"kind": "warm", "base": str(self.base_model()), "data": str(self.library.folder),
                "only": only}
        job: ChildJob | None = None

        def ended(event: dict) -> None:
            if self.warm_job is not job:
                return
            if event["event"] == "counted" and on_counted is not None:
                on_counted(event)
            elif event["event"] == "ended":
                self.warm_job = None
                on_ended(event)
        job = self.warm_job = ChildJob(task, ended, self.language)
        job.start()

    def stop_warm(self, wait_s: float | None = None) -> None:
        job = self.warm_job
        if job is not None:
            job.cancel()
            if wait_s is not None:
                job.wait(wait_s)

    # --- retraining ---------------------------------------------------------------------
    def config(self, mode: str = "fast", only: bool = False, upper: bool = False,
               command: str = "maintainer dialog", words: bool = False):
        """words: read WORD_PHOTOS photos of each new product for its label words."""
        from model.retrain import RetrainConfig
        return RetrainConfig(data=str(self.library.folder), out=str(models.new_candidate_path()),
                             mode=mode, only=only, base=str(self.base_model()),
                             adapt="upper" if upper else "head", command=command,
                             label_words=WORD_PHOTOS if words else 0)

    # --- label words: what is read on each product's pack ----------------------------
    def label_words(self, path: Path) -> dict[str, list[str]]:
        """{product id: its label words, strongest first} of a model ({} when it has none)."""
        from assistant.reading.labels import ranked
        words = read_metadata(path).get("label_words") or {}
        return {pid: ranked(ws) for pid, ws in words.items()}

    def set_label_words(self, path: Path, product: str, words: list[str]) -> None:
        """The product's words from now on, written into the model (`models words --set`, in a
        child: the app's process never loads torch). UserError with the command's one line."""
        import subprocess
        if Path(path).resolve().parent == models.bundled_dir().resolve():
            raise UserError("the bundled model is not changed", message_id="words_bundled")
        run = subprocess.run([sys.executable, "-m", "assistant", "models", "words", product, "--set",
                              *words, "--model", str(path)], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=600)
        if run.returncode != 0:
            lines = (run.stderr or run.stdout or "").strip().splitlines()
            raise UserError(lines[-1] if lines else f"models words ended with {run.returncode}")

    def start_retrain(self, cfg, listener: RetrainListener) -> ChildJob:
        """The retrain in a child process; the listener hears its progress and its end."""
        task = {"kind": "retrain", "language": self.language, "config": vars(cfg)}
        self.retrain_job = ChildJob(task, lambda event: self._heard(event, listener), self.language)
        self.retrain_job.start()
        return self.retrain_job

    def _heard(self, event: dict, listener: RetrainListener) -> None:
        from model.retrain import RetrainResult
        from model.retrain.outcome import read_report
        kind = event["event"]
        if kind == "progress":
            listener.on_progress(event["fraction"], event["eta"])
        elif kind == "message":
            listener.on_message(event["text"])
        elif kind == "failed":
            listener.on_failed(event["message"])
        elif kind == "done" and event.get("cancelled"):
            listener.on_finished(RetrainResult(None, None, True, event["seconds"]))
        elif kind == "done":
            try:
                report = read_report(event["report"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                listener.on_failed(f"{event['report']}: {exc}")
                return
            listener.on_finished(RetrainResult(Path(event["out"]), report, False, event["seconds"]))
        elif kind == "ended" and event["cancelled"]:
            listener.on_finished(RetrainResult(None, None, True, 0.0))
        elif kind == "ended" and "message" in event:
            listener.on_failed(event["message"])

    def cancel_retrain(self) -> None:
        if self.retrain_job is not None:
            self.retrain_job.cancel()

    # --- the models ---------------------------------------------------------------------
    def activate(self, path: str | Path, yes: bool = False) -> Path:
        """Make a model the app's (refused with Worse when its report says worse, unless yes).
        Its load checks need torch: in a lean session whose process has none (the window),
        they run in a child."""
        check_verdict(path, yes)
        if self.lean and "torch" not in sys.modules:
            return self._in_child({"kind": "activate", "path": str(path)})
        return models.activate(path)

    def rollback(self) -> Path:
        return models.rollback()

    def restore_bundled(self) -> Path:
        return models.restore_bundled()

    def _in_child(self, task: dict) -> Path:
        events: list[dict] = []
        job = ChildJob(task, events.append, self.language)
        job.start()
        job.wait()
        for event in events:
            if event["event"] == "done":
                return Path(event["path"])
            if event["event"] == "failed" or "message" in event:
                raise UserError(event["message"])
        raise UserError("cancelled")

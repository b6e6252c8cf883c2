"""The child process of maintainer mode: `python -m assistant.maintainer.child FD TASK_JSON`.

It runs one task (retrain, warm, activate) where torch may be loaded, and tells the window on
pipe FD, one JSON object a line: progress, message, then done or failed."""
from __future__ import annotations

import json
import logging
import os
import sys

from model.callbacks import ProgressEstimator, TrainCallback


class PipeProgress(TrainCallback):
    """The training callback as lines on the pipe."""

    def __init__(self, send, language: str) -> None:
        self.send, self.language = send, language
        self.estimator = ProgressEstimator()

    def on_start(self, epochs: int, steps_per_epoch: int) -> None:
        self.estimator.begin(epochs, steps_per_epoch)
        self.send("progress", fraction=0.0, eta=-1.0)

    def on_step(self, epoch: int, step: int, steps: int, loss: float) -> None:
        eta = self.estimator.eta(epoch, step)
        self.send("progress", fraction=float(self.estimator.fraction(epoch, step)),
                  eta=-1.0 if eta is None else float(eta))

    def on_epoch_end(self, epoch: int, row: dict) -> None:
        acc, loss = row.get("val_acc"), f"{row['train_loss']:.3f}"
        if acc is None:
            self.note("retrain_epoch", epoch=epoch, loss=loss)
        else:
            self.note("retrain_epoch_val", epoch=epoch, loss=loss, acc=f"{acc:.0%}")

    def on_message(self, text: str) -> None:
        self.send("message", text=text)


def run_task(task: dict, send) -> None:
    kind = task["kind"]
    if kind == "retrain":
        from assistant.maintainer.session import retrain_here
        from model.retrain import RetrainConfig
        result = retrain_here(RetrainConfig(**task["config"]), PipeProgress(send, task["language"]))
        report = result.report
        send("done", out=str(result.out) if result.out else None, cancelled=result.cancelled,
             seconds=result.seconds, report=str(report.folder) if report is not None else None)
    elif kind == "warm":
        from model.retrain import warm_cache
        send("done", read=warm_cache(task["base"], task["data"], only=task.get("only", False)))
    elif kind == "activate":
        from assistant.store import models
        send("done", path=str(models.activate(task["path"])))
    else:
        raise ValueError(f"unknown task {kind!r}")


def main(argv: list[str]) -> int:
    from assistant.catalog import error_text
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:  # the assistant comes first: the child yields the CPU
        os.nice(10)
    except OSError:
        pass
    pipe = os.fdopen(int(argv[1]), "w", encoding="utf-8", buffering=1)
    task = json.loads(argv[2])

    def send(event: str, **fields) -> None:
        pipe.write(json.dumps({"event": event, **fields}) + "\n")
        pipe.flush()

    try:
        run_task(task, send)
    except Exception as exc:  # a one-line reason for the window; the traceback to stderr
        message = error_text(exc, task.get("language", "en"))
        if message is None:
            logging.getLogger(__name__).exception("maintainer task %s failed", task.get("kind"))
            message = f"{type(exc).__name__}: {exc}"
        send("failed", message=message)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

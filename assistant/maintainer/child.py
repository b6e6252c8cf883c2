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
    """The training callback as lines on the pipe. The seconds left come from the run's
    forecast (this computer's recorded speed, then the reading rate this run measures), and
    from the steps left where it has none or is overdue."""

    def __init__(self, send, language: str) -> None:
        self.send, self.language = send, language
        self.estimator = ProgressEstimator()

    def on_forecast(self, forecast) -> None:
        super().on_forecast(forecast)
        self.send("progress", fraction=0.0, eta=self._left())

    def _left(self, epoch: int | None = None, step: int = 0) -> float:
        from model.retrain.features import METER
        left = self.forecast.left(METER.views, METER.seconds) if self.forecast is not None else None
        if left is None and epoch is not None:
            left = self.estimator.eta(epoch, step)
        return -1.0 if left is None else float(left)

    def on_start(self, epochs: int, steps_per_epoch: int) -> None:
        self.estimator.begin(epochs, steps_per_epoch)
        self.send("progress", fraction=0.0, eta=self._left())

    def on_step(self, epoch: int, step: int, steps: int, loss: float) -> None:
        self.send("progress", fraction=float(self.estimator.fraction(epoch, step)),
                  eta=self._left(epoch, step))

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
        warm(task, send)
    elif kind == "activate":
        from assistant.store import models
        send("done", path=str(models.activate(task["path"])))
    else:
        raise ValueError(f"unknown task {kind!r}")


def warm(task: dict, send) -> None:
    """The features a fast retrain will need, read ahead; what is left to read is told first
    (the window's estimates), and the time it took is this computer's speed."""
    import time

    from assistant.maintainer import speed
    from assistant.store import timings
    from model.retrain import warm_cache
    started = timings.process_started()
    start_s = []

    def counted(**fields: int) -> None:
        if not start_s:
            start_s.append(time.time() - started)  # the process, its imports, the network loaded
        send("counted", **fields)

    read = warm_cache(task["base"], task["data"], counted=counted, only=task.get("only", False))
    if read >= 0 and start_s:
        speed.after_warm(task["base"], start_s[0])
    send("done", read=read)


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

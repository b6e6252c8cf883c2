"""How a training run reports progress and learns it should stop (terminal bar or the app)."""
from __future__ import annotations

import time


class TrainCallback:
    """Base: does nothing. The maintainer dialog and the terminal bar subclass it.

    Called from the training thread; an implementation must not touch a UI directly.
    """

    def on_start(self, epochs: int, steps_per_epoch: int) -> None: ...

    def on_step(self, epoch: int, step: int, steps: int, loss: float) -> None: ...

    def on_epoch_end(self, epoch: int, row: dict) -> None: ...

    def on_message(self, text: str) -> None: ...

    #: how long the run will take (an assistant.store.timings.Forecast), given at its start
    forecast = None

    def on_forecast(self, forecast) -> None:
        """The run's estimate, before anything is read (the run says it in a sentence after
        the one that says what it starts from)."""
        self.forecast = forecast

    #: the language of note()'s sentences (maintainer mode sets the interface's)
    language: str = "en"

    def note(self, message_id: str, **fields: object) -> None:
        """A progress sentence of the catalogue, in this callback's language, to on_message."""
        from assistant.catalog import phrase
        self.on_message(phrase(message_id, self.language, **fields))

    def cancelled(self) -> bool:
        return False


class ProgressEstimator:
    """Fraction done and seconds left, from epochs and steps."""

    def __init__(self) -> None:
        self.epochs = self.steps = 1
        self.start = time.monotonic()
        self.first_epoch = 0
        self.first_set = False

    def begin(self, epochs: int, steps: int) -> None:
        self.epochs, self.steps = max(epochs, 1), max(steps, 1)
        self.start = time.monotonic()
        self.first_set = False

    def fraction(self, epoch: int, step: int) -> float:
        if not self.first_set:
            self.first_epoch, self.first_set = epoch, True
        return min((epoch + step / self.steps) / self.epochs, 1.0)

    def eta(self, epoch: int, step: int) -> float | None:
        done = (epoch - self.first_epoch) + step / self.steps
        left = self.epochs - epoch - step / self.steps
        if done <= 0:
            return None
        return (time.monotonic() - self.start) / done * left


class TerminalProgress(TrainCallback):
    """A tqdm bar with ETA over all steps of all epochs, and a line per epoch."""

    def __init__(self) -> None:
        self.bar = None

    def on_start(self, epochs: int, steps_per_epoch: int) -> None:
        from tqdm import tqdm
        # disable=None: no bar when stderr is not a terminal (logs, CI); epoch lines still print
        self.bar = tqdm(total=epochs * steps_per_epoch, unit="step", dynamic_ncols=True,
                        desc="training", disable=None)
        self.steps = steps_per_epoch

    def on_step(self, epoch: int, step: int, steps: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.n = epoch * steps + step
            self.bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}", refresh=False)
            self.bar.refresh()

    def on_epoch_end(self, epoch: int, row: dict) -> None:
        va = row.get("val_acc")
        text = (f"epoch {epoch}: train loss {row['train_loss']:.3f}"
                + (f", val loss {row['val_loss']:.3f}, val top-1 {va:.1%}" if va is not None else "")
                + f" ({row['seconds']:.0f} s)")
        (self.bar.write if self.bar is not None else print)(text)

    def on_message(self, text: str) -> None:
        (self.bar.write if self.bar is not None else print)(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

"""Heavy maintainer work in a child process that reports over a pipe, as Vorta runs borg: the
app's process never imports torch for it, cancel ends the child, and a crash there is one line
for the user while the model in use stays as it was.

The child (assistant.maintainer.child) writes one JSON object a line on its own pipe (not on
stdout, where a library may print); its stderr goes to a file whose last line explains a crash.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from assistant.catalog import phrase

log = logging.getLogger(__name__)

#: the folder that holds the `assistant` package the app runs: the child imports the same code
ROOT = Path(__file__).resolve().parents[2]


#: PyTorch's OpenMP threads sleep while they wait instead of spinning: a retrain shares the CPU
#: (the window's recognition, any other program), and a spinning pool then waits for cores its
#: own threads hold. Measured under load 3.5-4 on 2 cores: `--adapt upper`'s random crops 129 -> 13
#: ms a picture (they now run on one thread: 7 ms), a step of the upper blocks 145 -> 82 ms a photo;
#: quiet, that step 33-39 -> 29-30 ms (docs/retraining.md). Set before
#: torch is loaded: the maintainer's child, `main.py retrain`, the retrain bench.
SLEEPING_THREADS = ("OMP_WAIT_POLICY", "PASSIVE")


def sleeping_threads(env: dict | None = None) -> dict:
    """env (default: this process's environment) with SLEEPING_THREADS, unless already chosen."""
    env = os.environ if env is None else env
    env.setdefault(*SLEEPING_THREADS)
    return env


def child_command(fd: int, task: dict) -> list[str]:
    return [sys.executable, "-m", "assistant.maintainer.child", str(fd), json.dumps(task)]


def child_env() -> dict[str, str]:
    env = sleeping_threads(dict(os.environ))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


class ChildJob:
    """One task in a child process. on_event(dict) is called from a reader thread for each line
    the child sends, then once with {"event": "ended", ...}: "done" or "failed" said what
    happened, else the job was cancelled (cancelled=True) or the child died (a message)."""

    def __init__(self, task: dict, on_event: Callable[[dict], None], language: str = "en") -> None:
        self.task, self.on_event, self.language = task, on_event, language
        self.proc: subprocess.Popen | None = None
        self.cancelled = False
        self._reader: threading.Thread | None = None
        self._finished = threading.Event()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(child_command(write_fd, self.task), pass_fds=(write_fd,),
                                         stdin=subprocess.DEVNULL, stdout=self._stderr,
                                         stderr=self._stderr, env=child_env(), cwd=ROOT)
        except OSError as exc:
            os.close(read_fd)
            self._stderr.close()
            self._finished.set()
            raise RuntimeError(phrase("child_not_started", self.language, why=exc)) from exc
        finally:
            os.close(write_fd)  # the child holds its end: EOF here when it ends, however it ends
        self._reader = threading.Thread(target=self._read, args=(read_fd,),
                                        name=f"child {self.task.get('kind')}", daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        final = None
        with os.fdopen(fd, "r", encoding="utf-8") as pipe:
            for line in pipe:
                try:
                    event = json.loads(line)
                except ValueError:
                    log.warning("child sent %r", line[:200])
                    continue
                if event.get("event") in ("done", "failed"):
                    final = event
                self._deliver(event)
        code = self.proc.wait()
        ended = {"event": "ended", "code": code, "cancelled": self.cancelled and final is None}
        if final is None and not self.cancelled:
            ended["message"] = phrase("child_died", self.language, code=code, why=self._last_words())
        self._stderr.close()
        self._deliver(ended)
        self._finished.set()

    def _deliver(self, event: dict) -> None:
        try:
            self.on_event(event)
        except Exception:  # a listener's bug must not leave the child's pipe unread
            log.exception("maintainer job listener failed on %s", event.get("event"))

    def _last_words(self) -> str:
        try:
            self._stderr.seek(0)
            lines = [x for x in self._stderr.read().decode("utf-8", "replace").splitlines() if x.strip()]
        except (OSError, ValueError):
            return ""
        return f": {lines[-1].strip()[:200]}" if lines else ""

    def cancel(self) -> None:
        """End the child now: what it wrote is atomic, so nothing half-written stays behind."""
        self.cancelled = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the child has ended and its last event was delivered."""
        if self.proc is not None and timeout is not None and self.cancelled:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self._finished.wait(timeout)

    @property
    def running(self) -> bool:
        return not self._finished.is_set()

"""Listen as a screen reader does: run a command and record the announcements it sends on the
accessibility bus (AT-SPI, what Orca reads).

    dbus-run-session -- xvfb-run -a python tests/ui/atspi_listener.py OUT.jsonl -- COMMAND...

Starts the accessibility bus, registers for `object:announcement` (Qt sends only the events a
listener asked for), runs COMMAND with Qt's AT-SPI bridge on, writes one JSON line per
announcement received ({"text", "politeness"}) and exits with COMMAND's status.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot
from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage

LAUNCHERS = ("/usr/libexec/at-spi-bus-launcher", "/usr/lib/at-spi2-core/at-spi-bus-launcher",
             "/usr/lib/at-spi-bus-launcher")


def bus_launcher() -> str | None:
    return next((p for p in LAUNCHERS if Path(p).exists()), shutil.which("at-spi-bus-launcher"))


def a11y_address(timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = subprocess.run(["dbus-send", "--session", "--dest=org.a11y.Bus",
                                "--print-reply=literal", "/org/a11y/bus", "org.a11y.Bus.GetAddress"],
                               capture_output=True, text=True)
        if reply.returncode == 0 and reply.stdout.strip():
            return reply.stdout.strip()
        time.sleep(0.2)
    raise SystemExit("the accessibility bus did not start")


class Recorder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.heard: list[dict] = []

    @Slot(QDBusMessage)
    def announcement(self, message: QDBusMessage) -> None:
        _, politeness, _, text, *_ = message.arguments()
        self.heard.append({"text": text.variant(), "politeness": int(politeness)})


def main(argv: list[str]) -> int:
    out, separator, *command = argv
    assert separator == "--" and command, __doc__
    launcher = subprocess.Popen([bus_launcher(), "--launch-immediately"])
    app = QCoreApplication([])
    bus = QDBusConnection.connectToBus(a11y_address(), "a11y")
    registry = QDBusInterface("org.a11y.atspi.Registry", "/org/a11y/atspi/registry",
                              "org.a11y.atspi.Registry", bus)
    registry.call("RegisterEvent", "object:announcement")
    recorder = Recorder()
    if not bus.connect("", "", "org.a11y.atspi.Event.Object", "Announcement", recorder,
                       "1announcement(QDBusMessage)"):
        raise SystemExit("cannot listen for announcements")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1")
    child = subprocess.Popen(command, env=env)
    timer = QTimer()
    timer.timeout.connect(lambda: child.poll() is not None and app.quit())
    timer.start(100)
    app.exec()
    for _ in range(5):  # the last signals may still be on their way
        app.processEvents()
        time.sleep(0.1)
    Path(out).write_text("".join(json.dumps(h) + "\n" for h in recorder.heard), encoding="utf-8")
    launcher.terminate()
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

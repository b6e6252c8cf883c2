"""Speed of the real window (a benchmark that prints figures; it never fails):

    python -m assistant.ui.bench_window [--seconds 20] [--source demo] [--model FILE] [--json F]

Runs the assistant's window (offscreen unless a screen is given) on a source and reports
frames shown in the preview and frames classified per second while the preview runs, how
late the GUI thread answers a 50 ms timer (does recognition ever freeze the window?), the
start-up time to "ready", and resident memory at the start and the end.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.ui.bench_window",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of play measured")
    parser.add_argument("--source", default="demo", help="demo, a video, a photo folder")
    parser.add_argument("--model", help="model file (default: the active model)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    began = time.perf_counter()

    import psutil
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.ui.app import _quiet_qt_noise, build
    from assistant.ui.main_window import MainWindow
    _quiet_qt_noise()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    flags = argparse.Namespace(source=args.source, hold=None, once=False, transcript=None,
                               model=args.model, language=None, engine="silent")
    context, _notes = build(flags)
    window = MainWindow(context)
    window.show()
    figures: dict[str, float] = {}
    lags: list[float] = []
    state = {"tick": None, "t0": None, "shown": 0, "classified": 0}

    def on_ready(_payload) -> None:
        figures["ready_s"] = time.perf_counter() - began
        state["t0"] = time.perf_counter()
        state["shown"] = window.preview.frames_shown
        state["classified"] = context.assistant.frames_classified
        figures["rss_start_mb"] = psutil.Process().memory_info().rss / 2**20
        QTimer.singleShot(int(args.seconds * 1000), finish)

    def tick() -> None:
        now = time.perf_counter()
        if state["tick"] is not None and state["t0"] is not None:
            lags.append((now - state["tick"]) * 1000 - 50)
        state["tick"] = now

    def finish() -> None:
        spent = time.perf_counter() - state["t0"]
        figures["preview_fps"] = (window.preview.frames_shown - state["shown"]) / spent
        figures["classified_fps"] = (context.assistant.frames_classified - state["classified"]) / spent
        ms = list(context.assistant.classify_ms)
        figures["classify_ms_median"] = statistics.median(ms) if ms else float("nan")
        figures["gui_lag_ms_median"] = statistics.median(lags) if lags else float("nan")
        figures["gui_lag_ms_max"] = max(lags) if lags else float("nan")
        figures["rss_end_mb"] = psutil.Process().memory_info().rss / 2**20
        window.close()

    window.bridge.ready.connect(on_ready)
    timer = QTimer(window)
    timer.timeout.connect(tick)
    timer.start(50)
    context.start()
    app.exec()
    context.stop()
    print(f"source {args.source}, {args.seconds:.0f} s measured after ready, "
          f"{os.cpu_count()} CPUs (figures depend on what else the machine is doing)")
    for name, value in figures.items():
        print(f"  {name:22s} {value:8.1f}")
    if args.json:
        from assistant.files import atomic_write_text
        atomic_write_text(args.json, json.dumps(figures, indent=1) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

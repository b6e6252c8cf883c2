"""`python main.py app`: open the window on a camera, a video or a folder of photos.

Flags are for this run only (they are not saved as settings). Heavy imports (Qt, torch)
happen inside run() so that `--help` stays instant.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from assistant.catalog import LANGUAGES
from assistant.inference.protocol import Classifier

log = logging.getLogger(__name__)

ENGINES = ("auto", "pyttsx3", "espeak", "silent")
#: Qt platforms without a screen: no blocking message boxes there
HEADLESS = ("offscreen", "minimal")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="PATH|INDEX",
                        help="camera index (0, 1...), a video file, a folder of photos, or "
                             "'demo'; default: the camera chosen in settings, else webcam 0, "
                             "else the bundled demo")
    parser.add_argument("--hold", type=_positive, metavar="SECONDS",
                        help="how long each photo of a folder stays in view (default: settings, 2)")
    parser.add_argument("--once", action="store_true",
                        help="quit when a video or photo folder has ended (the demo plays once)")
    parser.add_argument("--transcript", metavar="FILE",
                        help="append one line per utterance: time, the photo or frame time in view, "
                             "product or message id, words")
    parser.add_argument("--model", metavar="FILE",
                        help="model file (.safetensors) to use instead of the active one")
    parser.add_argument("--language", choices=LANGUAGES,
                        help="speak and show English or Spanish (default: settings)")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="speech engine; 'silent' shows results without speaking")
    parser.add_argument("--read", action="store_true",
                        help="read the text on each photo of a folder as it comes into view (as "
                             "the read key does); with --transcript, what was read per photo")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                        help="how the model runs: auto (ONNX Runtime on a CPU, PyTorch on an "
                             "NVIDIA GPU), onnx, or torch (slower to start; for comparisons)")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 600 seconds")
    return value


def run(args: argparse.Namespace) -> int:
    """Build the app from settings and flags, show the window, run until it closes."""
    from PySide6.QtWidgets import QApplication

    _quiet_qt_noise()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("grocery-assistant")
    app.setApplicationDisplayName("Grocery assistant")
    try:
        context, notes = build(args)
    except StartupError as exc:
        _fail(app, str(exc))
        return 1

    from assistant.ui.main_window import MainWindow
    window = MainWindow(context)
    window.reading.auto = bool(getattr(args, "read", False))
    window.show()
    for message_id, fields in notes:
        window.say(message_id, **fields)
    if args.once:
        window.source_ended.connect(lambda: _quit_when_quiet(window))
    _quit_on_signals(window)
    context.start()
    code = app.exec()
    context.stop()
    return _unreadable_photos(context.source) or _transcript_failed(context) or int(code)


def _transcript_failed(context) -> int:
    """A transcript that lost lines (a full disk) is a failure said in one line: whoever asked
    for it relies on it."""
    error = getattr(context.transcript, "error", None)
    if error:
        print(f"grocery-assistant app: {error}", file=sys.stderr)
        return 1
    return 0


def _unreadable_photos(source) -> int:
    """After a photo folder: name the photos that could not be read on the terminal; when none
    could be read, that is a failure (exit status 1), as for an empty folder."""
    from assistant.live.camera import PhotoFolderSource
    if not isinstance(source, PhotoFolderSource) or not source.skipped or not source.photos:
        return 0
    for path, reason in source.skipped:
        print(f"grocery-assistant app: skipped {reason}" if str(path) in reason
              else f"grocery-assistant app: skipped {path}: {reason}", file=sys.stderr)
    if len({p for p, _ in source.skipped}) >= len(source.photos):
        print(f"grocery-assistant app: no readable photos in {source.path}", file=sys.stderr)
        return 1
    return 0


#: Qt messages that every run on a virtual or headless screen prints and no user can act on
QT_NOISE = ("This plugin does not support propagateSizeHints()",)


def _quiet_qt_noise() -> None:
    """Qt's own warnings go to our log, except the known noise; nothing else changes."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}
    qt_log = logging.getLogger("qt")

    def handler(kind, _context, message: str) -> None:
        if any(noise in message for noise in QT_NOISE):
            return
        qt_log.log(levels.get(kind, logging.WARNING), "%s", message)
        if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            print(f"qt: {message}", file=sys.stderr)

    qInstallMessageHandler(handler)


class StartupError(Exception):
    """The app cannot start; str() is the sentence for the user."""


def build(args: argparse.Namespace, engine=None, bridge=None):
    """(AppContext, [(message id, fields) to say once the window is up]) from the flags.

    engine: a SpeechEngine to use instead of the --engine one (tests pass a RecordingEngine).
    Raises StartupError with a user-facing message for a broken model or an unusable source.
    """
    from assistant.ui.bridge import EventBridge
    from assistant.ui.context import AppContext

    # the model opens after Qt's import, never beside it: PySide6's signature module walks
    # sys.modules while it starts, and an import in another thread then kills the process
    # ("dictionary changed size during iteration"; seen at start under load)
    settings, pinned, notes = _settings(args)
    classifier = _open_model(settings.model_path, "model_path" in pinned,
                             getattr(args, "backend", "auto"), notes)
    if getattr(args, "backend", "auto") == "auto" and classifier.backend == "torch" \
            and classifier.device == "cpu":
        notes.append(("model_slow_path", {}))  # the ONNX file could not be made: say why it is slow
    source = _open_source(settings, "camera" in pinned, notes, once=getattr(args, "once", False))
    bridge = bridge or EventBridge()
    speaker = _speaker(args.engine, engine, settings, bridge)
    transcript = _transcript(args.transcript)
    context = AppContext(settings, classifier, speaker, source, bridge, transcript,
                         engine_name=args.engine, pinned=pinned)
    if context.barcode_problem:
        notes.append(("barcode_list_problem", {"detail": context.barcode_problem}))
    return context, notes


def _settings(args: argparse.Namespace):
    """The saved settings with this run's flags over them: (settings, {name: (saved value,
    flag value)} for the flags given, the notes on a damaged settings file)."""
    from assistant.live import settings as settings_mod

    settings, settings_problem, settings_kept = settings_mod.load_checked()
    pinned = {}  # flag values are for this run: remember what the settings file had
    for name, value in (("language", args.language), ("hold", args.hold),
                        ("camera", _source_spec(args.source)), ("model_path", args.model)):
        if value is not None:
            pinned[name] = (getattr(settings, name), value)
            setattr(settings, name, value)
    notes: list[tuple[str, dict]] = []
    if settings_kept:
        notes.append(("settings_kept_aside", {"detail": settings_problem, "kept": settings_kept.name}))
    elif settings_problem:
        notes.append(("settings_problem", {"detail": settings_problem}))
    return settings, pinned, notes


def _open_source(settings, pinned: bool, notes: list, once: bool):
    """The camera, video or folder of the settings, opened; a missing webcam or a saved source
    gone since plays the demo (and a note says so); one named by --source (pinned) that cannot
    be had stops the start."""
    from assistant.live.camera import CameraError, DemoSource, open_source

    try:
        source = open_source(settings.camera, settings.hold)
        source.open()  # a webcam index comes back unopened: find out now if it is there
    except CameraError as exc:
        if pinned:  # asked for on the command line (--source 5): say it cannot be had
            raise StartupError(f"cannot use the source {settings.camera}: {exc}") from exc
        if isinstance(settings.camera, int) or settings.camera is None:
            # a missing webcam is no reason to stop: play the demo, and say so
            log.warning("camera %r: %s; using the demo", settings.camera, exc)
            try:
                source = open_source("demo", settings.hold)
            except CameraError as demo_exc:
                raise StartupError(f"no camera and no demo: {demo_exc}") from demo_exc
            notes.append(("camera_fallback_demo", {}))
        else:  # saved earlier (Ctrl+K), gone since: the demo plays, and that is said
            log.warning("saved source %r: %s; using the demo", settings.camera, exc)
            try:
                source = open_source("demo", settings.hold)
            except CameraError as demo_exc:
                raise StartupError(f"no saved source and no demo: {demo_exc}") from demo_exc
            notes.append(("source_missing_demo", {"name": str(settings.camera)}))
    else:
        if settings.camera is None and isinstance(source, DemoSource):
            # open_source(None) fell back to the demo by itself
            notes.append(("camera_fallback_demo", {}))
    if once and isinstance(source, DemoSource):
        source.loop = False  # --once: the demo plays through once, then the app quits
    return source


def _speaker(engine_name: str, engine, settings, bridge):
    """The speech queue on the --engine engine (or the one given); an engine that cannot speak
    leaves a silent one, and the failure is said once recognition starts."""
    from assistant.live.speech import SilentEngine, Speaker, SpeechError, make_engine

    speech_failure = None
    if engine is None:
        try:
            engine = make_engine(engine_name)
        except (SpeechError, ValueError) as exc:
            speech_failure = exc
            engine = SilentEngine()
        else:
            speech_failure = getattr(engine, "reason", None)  # auto found no engine that works
        if isinstance(speech_failure, SpeechError):
            speech_failure = speech_failure.words(settings.language)  # said in the user's language
        elif speech_failure is not None:
            speech_failure = str(speech_failure)
    speaker = Speaker(engine, on_error=bridge.on_speech_error, language=settings.language,
                      rate=settings.rate, volume=settings.volume, voice=settings.voice)
    if speech_failure:
        # said when recognition starts, once the window listens: shown, announced to the
        # screen reader, in the history and the transcript (emitted now, no one would hear it)
        speaker.failed = speech_failure
    return speaker


def _transcript(path: str | None):
    """The --transcript file, open for appending (None without the flag)."""
    from assistant.live.transcript import Transcript

    if not path:
        return None
    try:
        return Transcript(path)
    except OSError as exc:
        raise StartupError(f"cannot write the transcript {path}: {exc.strerror or exc}") from exc


def _open_model(model_path: str | None, pinned: bool, backend: str, notes: list) -> Classifier:
    """The classifier of the saved or active model. One that cannot be loaded (truncated, NaN
    weights, a saved model_path that is gone) is no reason to fall silent: the bundled model
    answers instead and a note says why. Only a model named on the command line, or no
    usable bundled model either, stops the start (StartupError, one line)."""
    from assistant.catalog import error_text
    from assistant.inference.checkpoint import CheckpointError
    from assistant.inference.onnx_backend import open_classifier
    from assistant.store.models import active_model_path, bundled_default
    try:
        # auto: ONNX Runtime on a CPU (no torch in this process), PyTorch on an NVIDIA GPU
        return open_classifier(model_path or active_model_path(), backend)
    except CheckpointError as exc:
        if pinned:
            raise StartupError(f"cannot load the model: {exc}") from exc
        problem = exc
    log.warning("cannot load the model (%s); using the bundled model", problem)
    try:
        classifier = open_classifier(bundled_default(), backend)
    except CheckpointError as exc:
        raise StartupError(f"cannot load the model: {problem}; nor the bundled one: {exc}") from exc
    notes.append(("model_fallback_bundled", {"detail": error_text(problem) or str(problem)}))
    return classifier


def _source_spec(text: str | None):
    if text is None:
        return None
    return int(text) if text.strip().isdigit() else text


def _quit_when_quiet(window) -> None:
    """--once: the source ended; let the last words be said, then close."""
    from PySide6.QtCore import QTimer
    speaker = window.context.speaker

    def check(tries=[0]) -> None:  # noqa: B006 - a counter shared by the retries
        tries[0] += 1
        # a reading of the last photo still running (app --read) is waited for too
        if (speaker.wait_idle(0.0) and not window.reading.busy()) or tries[0] > 300:  # 30 s at most
            window.close()
        else:
            QTimer.singleShot(100, check)

    QTimer.singleShot(200, check)


def _quit_on_signals(window) -> None:
    """Ctrl+C or a polite kill closes the window properly (settings saved, camera released).

    Python only runs signal handlers between bytecodes, never inside Qt's event loop, so a
    timer gives it that chance a few times a second. The close itself is queued to the event
    loop: a signal that came before the loop ran (during the start) closed the window with no
    loop to end, and the app then ran on, windowless (a test's terminate waited 30 s for it)."""
    import signal

    from PySide6.QtCore import QTimer
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, window.close))
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def _fail(app, message: str) -> None:
    """A startup failure: one line on stderr, and a dialog where there is a screen."""
    print(f"grocery-assistant app: {message}", file=sys.stderr)
    log.error("startup failed: %s", message)
    platform = os.environ.get("QT_QPA_PLATFORM", "") or app.platformName()
    if platform in HEADLESS or app.platformName() in HEADLESS:
        return
    from PySide6.QtWidgets import QMessageBox
    box = QMessageBox(QMessageBox.Icon.Critical, "Grocery assistant", message)
    box.setAccessibleName("Grocery assistant cannot start")
    box.setAccessibleDescription(message)
    box.exec()

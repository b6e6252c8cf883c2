"""The one command line: `python main.py [app|train|evaluate|classify|read|serve|bench|retrain|models] ...`.

Every subcommand is declared here once; its work lives in the module it names, imported only
when that subcommand runs (so `--help` is instant and the service never loads Qt).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from assistant import __version__

PROG = "grocery-assistant"
log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one clear line on stderr (and exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" only where the help does not already say its default, and never for
    a default of nothing (None, False, an empty list)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return _HelpFormatter(prog, max_help_position=32)


# (name, handler "module:function", one-line help, description)
SUBCOMMANDS = [
    ("app", "assistant.ui.app:run", "open the assistant window (the default)",
     "Open the assistant: it watches the camera (or a video, or a folder of photos) and says "
     "the name of the product held in front of it."),
    ("train", "model.cli:run_train", "train a product model on a folder of photos",
     "Train a model on a folder holding one sub-folder of photos per product. Writes a "
     "checkpoint (.safetensors) and a report folder with curves and confusion matrices."),
    ("evaluate", "model.cli:run_evaluate", "measure a model's accuracy on a folder of photos",
     "Measure top-1/top-3 and per-product accuracy of a model on a folder with one sub-folder "
     "per product (folder names = the model's product ids)."),
    ("classify", "assistant.batch.command:run", "classify every photo in a folder into a CSV",
     "Classify all photos in a folder (stock-taking) and write path,label,score,top3 rows."),
    ("read", "assistant.reading_cli:run", "read the text and the dates on packs in photos",
     "Read the text on the pack in each photo (most prominent first) and its dates (best "
     "before, use by, expiry), as the read key says them; offline (RapidOCR)."),
    ("serve", "assistant.service.command:run", "start the HTTP service (POST /api/predict)",
     "Serve the model over HTTP on this machine; see /docs for the API."),
    ("bench", "assistant.bench.command:run", "measure speed: ms per frame, photos per second, start-up",
     "Print speed figures of this machine for the classifier and the pipeline."),
    ("retrain", "assistant.maintainer.retrain_cli:run", "teach the assistant new products (maintainer)",
     "Start from the active model and add (or replace) the products found in a folder."),
    ("barcodes", "assistant.barcodes_cli:run", "list, add, remove or import the barcodes said by name",
     "The barcodes the assistant says by name when it sees one (EAN-13, EAN-8, UPC-A, UPC-E, "
     "QR): offline there is no product database, so you teach them or import a list."),
    ("desktop", "assistant.desktop:run", "add the assistant to the desktop menu, or remove it",
     "Install (or remove) the freedesktop menu entry and icon for this user, so that the "
     "assistant starts from the desktop menu or a launcher, named in English and Spanish."),
    ("models", "assistant.maintainer.models_cli:run", "list, activate, roll back or restore the product models",
     "The models maintainer mode made: list them, activate one, go back to the previous one, "
     "or use the bundled model again."),
]


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The whole command line. Only the selected subcommand's module is imported for its flags
    (all of them when selected is None), so `--help` and each command start fast."""
    parser = _Parser(prog=PROG, formatter_class=_formatter,
                     description="Offline assistant that tells visually impaired shoppers which "
                                 "product they are holding. Without a subcommand it opens the app.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="also log to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, handler, short, description in SUBCOMMANDS:
        p = sub.add_parser(name, help=short, description=description, formatter_class=_formatter)
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="also log to stderr")
        p.set_defaults(handler=handler)
        module, _ = handler.split(":")
        if selected is not None and name != selected:
            continue
        if name in ("train", "evaluate"):
            from model.cli import add_arguments
            add_arguments(name, p)
        else:
            _add_arguments_from(module, name, p)
    return parser


def _add_arguments_from(module: str, name: str, parser: argparse.ArgumentParser) -> None:
    """Each handler module owns its flags in add_arguments(parser); such modules keep their
    heavy imports (torch, Qt, uvicorn) inside functions so that --help stays instant."""
    try:
        mod = importlib.import_module(module)
    except ImportError:  # not built yet, or an optional part is missing: no extra flags
        return
    fn = getattr(mod, "add_arguments", None)
    if fn is not None:
        fn(parser)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # No subcommand means the app; `-v` before a subcommand (`-v train ...`) still names one.
    lead = 0
    while lead < len(argv) and argv[lead] in ("-v", "--verbose"):
        lead += 1
    rest = argv[lead:]
    if not rest or rest[0].startswith("-") and rest[0] not in ("-h", "--help", "--version"):
        argv = [*argv[:lead], "app", *rest]
        rest = argv[lead:]
    names = {name for name, *_ in SUBCOMMANDS}
    parser = build_parser(rest[0] if rest and rest[0] in names else "")
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["app"])
    from assistant.logs import setup_logging
    setup_logging(getattr(args, "verbose", False))
    module, func = args.handler.split(":")
    try:
        handler = getattr(importlib.import_module(module), func)
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()
    except Exception as exc:
        return _report(exc, args.command)


def _reader_gone() -> int:
    """The output's reader stopped reading (`models list | head -1`): not an error to report.
    Python would fail again flushing stdout at exit, so stdout goes to /dev/null first; the
    status is a shell's for a pipe closed early (128 + SIGPIPE)."""
    import os
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def _report(exc: Exception, command: str) -> int:
    from assistant.errors import user_message
    message = user_message(exc)
    if message is None:
        log.exception("unexpected error in %s", command)
        from assistant import paths
        message = (f"unexpected error: {type(exc).__name__}: {exc} "
                   f"(details in {paths.log_dir() / 'assistant.log'})")
    print(f"{PROG} {command}: {message}", file=sys.stderr)
    return 1

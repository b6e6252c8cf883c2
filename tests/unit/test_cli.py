"""The command line as a user meets it: help that reads well, and one clear line for mistakes.

Every call runs `python main.py ...` as a subprocess, as the user would.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import PROG, SUBCOMMANDS, build_parser
from tests.helpers import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
NAMES = [name for name, *_ in SUBCOMMANDS]


def test_main_help_lists_every_subcommand():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"usage: {PROG}")
    assert "Without a subcommand it opens the app" in result.stdout
    for name, _handler, short, _description in SUBCOMMANDS:
        assert name in result.stdout
        assert short in " ".join(result.stdout.split()), f"{name}'s one-line help is missing"


@pytest.mark.parametrize("name", NAMES)
def test_subcommand_help(name):
    result = run_cli(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"usage: {PROG} {name}")
    description = next(d for n, _h, _s, d in SUBCOMMANDS if n == name)
    # argparse re-wraps the description; compare words, not lines
    assert " ".join(description.split()) in " ".join(result.stdout.split())
    assert "--verbose" in result.stdout
    assert "(default: None)" not in " ".join(result.stdout.split())


@pytest.mark.parametrize("name", NAMES)
def test_each_flag_states_its_default_once_at_most(name):
    """"(default: settings, 2) (default: None)" read badly: argparse added its own default to a
    help that gave one already."""
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[name]
    formatter = sub._get_formatter()
    for action in sub._actions:
        if action.help and action.help is not __import__("argparse").SUPPRESS:
            shown = formatter._expand_help(action)
            assert shown.lower().count("default:") <= 1, f"{name} {action.option_strings}: {shown}"


@pytest.mark.parametrize("name", NAMES)
def test_every_option_is_explained(name):
    """Help reads well only if each flag says what it is for."""
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[name]  # argparse keeps them here
    for action in sub._actions:
        if action.option_strings:
            assert action.help and action.help.strip(), f"{name} {action.option_strings} has no help"


@pytest.mark.parametrize("name", NAMES)
def test_every_subcommand_has_its_handler(name):
    """build_parser skips a handler module that fails to import (its flags would silently
    vanish), so check here that each one imports and has its function."""
    import importlib
    handler = next(h for n, h, *_ in SUBCOMMANDS if n == name)
    module, func = handler.split(":")
    assert callable(getattr(importlib.import_module(module), func)), handler


HEAVY = ("torch", "torchvision", "PySide6", "cv2", "onnxruntime", "uvicorn", "matplotlib")


def test_help_loads_no_heavy_library():
    """--help must be instant: handler modules keep torch, Qt, OpenCV... inside functions."""
    code = ("import sys\nfrom assistant.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = run_cli(code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", \
        f"--help imported {result.stdout.strip().splitlines()[-1]}"


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith(PROG)


def test_verbose_before_a_subcommand_still_names_it():
    result = run_cli("-v", "train", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {PROG} train")


def test_unknown_subcommand():
    line = assert_one_line_error(run_cli("frobnicate"), "invalid choice", "frobnicate")
    assert "--help" in line


@pytest.mark.parametrize("args", [
    ["--no-such-flag"],
    ["-v", "--no-such-flag"],
    ["train", "--data", "x", "--out", "y.safetensors", "--no-such-flag"],
    ["evaluate", "--data", "x", "--bogus", "1"],
    ["train", "--data", "x", "--out", "y.safetensors", "--epochs", "many"],
    ["train", "--out", "y.safetensors"],  # --data is required
])
def test_bad_arguments(args):
    result = run_cli(*args)
    assert result.returncode == 2
    assert_one_line_error(result, "error")


def test_train_on_a_missing_folder(tmp_path):
    missing = tmp_path / "no-photos-here"
    result = run_cli("train", "--data", str(missing), "--out", str(tmp_path / "m.safetensors"))
    assert_one_line_error(result, str(missing), "no such folder")
    assert not (tmp_path / "m.safetensors").exists()


def test_train_on_a_file_instead_of_a_folder(tmp_path):
    not_a_folder = tmp_path / "photos.txt"
    not_a_folder.write_text("these are not photos")
    result = run_cli("train", "--data", str(not_a_folder), "--out", str(tmp_path / "m.safetensors"))
    assert_one_line_error(result, str(not_a_folder))


def test_evaluate_with_a_missing_model(tmp_path, photo_dir):
    missing = tmp_path / "nothing.safetensors"
    result = run_cli("evaluate", "--data", str(photo_dir), "--model", str(missing))
    assert_one_line_error(result, "evaluate", str(missing), "no such model file")


def test_train_with_a_missing_split_file(tmp_path, photo_dir):
    missing = tmp_path / "split.csv"
    result = run_cli("train", "--data", str(photo_dir), "--out", str(tmp_path / "m.safetensors"),
                     "--split-file", str(missing), "--epochs", "1", "--image-size", "32",
                     "--device", "cpu", "--scratch")
    assert_one_line_error(result, str(missing), "split file")


# An unreadable folder, simulated inside the real CLI process: root (as in CI) may read any
# folder, so chmod alone cannot make one.
DENY_LISTING = """
import pathlib, sys
real_iterdir = pathlib.Path.iterdir
def iterdir(self):
    if self.name == "locked":
        raise PermissionError(13, "Permission denied", str(self))
    return real_iterdir(self)
pathlib.Path.iterdir = iterdir
from assistant.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_train_on_an_unreadable_folder(tmp_path):
    locked = tmp_path / "locked"
    (locked / "tea").mkdir(parents=True)
    result = run_cli("train", "--data", str(locked), "--out", str(tmp_path / "m.safetensors"),
                     code=DENY_LISTING)
    assert_one_line_error(result, str(locked), "Permission denied")


def _without_root_file_powers():  # pragma: no cover - runs in the child between fork and exec
    """Root reads any folder through two capabilities; drop them from the child's bounding set
    (what `setpriv --bounding-set -dac_override,-dac_read_search` does), so chmod 000 holds."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop the capability")


@pytest.mark.skipif(os.name != "posix", reason="chmod 000 is a POSIX permission")
def test_train_on_a_chmod_000_folder(tmp_path):
    """A real unreadable folder, also in CI, which runs as root: there the command runs without
    root's power to read any folder."""
    locked = tmp_path / "photos"
    (locked / "tea").mkdir(parents=True)
    locked.chmod(0)
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "train", "--data", str(locked),
             "--out", str(tmp_path / "m.safetensors")],
            cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
            preexec_fn=_without_root_file_powers if os.geteuid() == 0 else None)
    finally:
        locked.chmod(0o755)
    assert_one_line_error(result, str(locked), "ermission denied")


def test_unexpected_error_is_one_line_and_the_traceback_goes_to_the_log(tmp_path, isolated_home):
    """A bug is still one line for the user, pointing at the log that holds the traceback."""
    code = """
import sys
import model.cli
def broken(args):
    raise RuntimeError("boom in the handler")
model.cli.run_evaluate = broken
from assistant.cli import main
sys.exit(main(sys.argv[1:]))
"""
    result = run_cli("evaluate", "--data", str(tmp_path), code=code)
    line = assert_one_line_error(result, "unexpected error", "RuntimeError", "boom in the handler")
    log_file = isolated_home / "log" / "assistant.log"
    assert str(log_file) in line
    text = log_file.read_text()
    assert "Traceback" in text and "boom in the handler" in text


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    code = """
import sys
import model.cli
def interrupted(args):
    raise KeyboardInterrupt
model.cli.run_evaluate = interrupted
from assistant.cli import main
sys.exit(main(sys.argv[1:]))
"""
    result = run_cli("evaluate", "--data", str(tmp_path), code=code)
    assert result.returncode == 130
    assert_one_line_error(result, "interrupted")

"""Where things live (platformdirs, or GROCERY_ASSISTANT_HOME) and where the log goes."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import logs, paths

ROOT = Path(__file__).resolve().parents[2]


def test_home_override_holds_everything(isolated_home):
    assert os.environ[paths.HOME_ENV] == str(isolated_home)
    expected = {paths.config_dir: "config", paths.data_dir: "data", paths.log_dir: "log",
                paths.cache_dir: "cache"}
    for func, name in expected.items():
        folder = func()
        assert folder == isolated_home / name and folder.is_dir()
    assert paths.models_dir() == isolated_home / "data" / "models" and paths.models_dir().is_dir()
    assert paths.settings_file() == isolated_home / "config" / "settings.json"


def test_without_the_override_the_platform_folders_are_used(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.HOME_ENV)
    xdg = {name: tmp_path / name.lower() for name in
           ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")}
    for name, folder in xdg.items():
        monkeypatch.setenv(name, str(folder))
    app = paths.APP_NAME
    assert paths.config_dir() == xdg["XDG_CONFIG_HOME"] / app
    assert paths.data_dir() == xdg["XDG_DATA_HOME"] / app
    assert paths.cache_dir() == xdg["XDG_CACHE_HOME"] / app
    assert xdg["XDG_STATE_HOME"] / app in paths.log_dir().parents or \
        paths.log_dir() == xdg["XDG_STATE_HOME"] / app
    assert all(p.is_dir() for p in (paths.config_dir(), paths.data_dir(), paths.log_dir()))


@pytest.fixture
def fresh_root_logger():
    """setup_logging configures the process's root logger once; give each test a clean one."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, getattr(root, "_grocery_configured", None))
    root.handlers = [h for h in root.handlers if type(h).__module__.startswith("_pytest")]
    if hasattr(root, "_grocery_configured"):
        del root._grocery_configured
    yield root
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers, root.level = saved[0], saved[1]
    if saved[2] is None:
        root.__dict__.pop("_grocery_configured", None)
    else:
        root._grocery_configured = saved[2]


def test_the_log_file_is_written(isolated_home, fresh_root_logger, capsys):
    logs.setup_logging(verbose=False)
    logs.setup_logging(verbose=False)           # a second call adds nothing
    log = logging.getLogger("assistant.test")
    log.info("tea recognised")
    log.debug("a detail only --verbose keeps")
    for handler in fresh_root_logger.handlers:
        handler.flush()
    text = (isolated_home / "log" / "assistant.log").read_text()
    assert "INFO assistant.test: tea recognised" in text
    assert "a detail" not in text
    assert text.count("tea recognised") == 1
    assert "tea recognised" not in capsys.readouterr().err   # not on stderr without --verbose


def test_the_log_file_rotates(isolated_home, fresh_root_logger):
    logs.setup_logging(verbose=False)
    log = logging.getLogger("assistant.test")
    line = "x" * 1000
    for _ in range(2500):                       # ~2.5 MB through a 1 MB file
        log.info(line)
    folder = isolated_home / "log"
    assert (folder / "assistant.log.1").is_file() and (folder / "assistant.log.2").is_file()
    assert (folder / "assistant.log").stat().st_size <= 1_000_000
    assert not (folder / "assistant.log.4").exists()          # three old files at most


def test_verbose_also_logs_to_stderr(isolated_home, fresh_root_logger, capsys):
    logs.setup_logging(verbose=True)
    logging.getLogger("assistant.test").debug("looking at frame 12")
    assert "DEBUG assistant.test: looking at frame 12" in capsys.readouterr().err


def test_an_unwritable_log_folder_does_not_stop_the_app(tmp_path, monkeypatch, fresh_root_logger,
                                                         capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(paths.HOME_ENV, str(blocker / "home"))
    logs.setup_logging(verbose=False)
    assert "cannot write the log file" in capsys.readouterr().err


# --- through the real command line -------------------------------------------------------------

HANDLER_THAT_LOGS = """
import logging, sys
import model.cli
def handler(args):
    logging.getLogger("model.cli").info("evaluating %s", args.data)
    logging.getLogger("model.cli").debug("a debug detail")
    return 0
model.cli.run_evaluate = handler
from assistant.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("argv", [["-v", "evaluate", "--data", "shelf"],
                                  ["evaluate", "--data", "shelf", "--verbose"],
                                  ["evaluate", "--data", "shelf"]])
def test_cli_logs_to_the_file_and_with_verbose_to_stderr(isolated_home, argv):
    result = subprocess.run([sys.executable, "-c", HANDLER_THAT_LOGS, *argv], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    verbose = any(a in ("-v", "--verbose") for a in argv)
    assert ("INFO model.cli: evaluating shelf" in result.stderr) == verbose
    assert ("DEBUG model.cli: a debug detail" in result.stderr) == verbose
    text = (isolated_home / "log" / "assistant.log").read_text()
    assert "INFO model.cli: evaluating shelf" in text
    assert ("a debug detail" in text) == verbose

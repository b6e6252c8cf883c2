"""Bad input found by a newcomer's trial (issue 33, item 8): each is one clear line on stderr
and a failing exit status, never a traceback, a silent success or a file left behind."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a full disk)")
def test_a_transcript_that_cannot_be_written_fails_the_run_in_one_line(tmp_path):
    """It opens fine but every write fails (a full disk): once exit 0, and a traceback."""
    result = run_cli("app", "--source", str(ROOT / "assets" / "demo"), "--hold", "0.3", "--once",
                     "--engine", "silent", "--transcript", "/dev/full",
                     env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert_one_line_error(result, "cannot write the transcript /dev/full", "No space left")


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_on_a_port_that_cannot_be_is_refused_in_one_line(port):
    result = run_cli("serve", "--port", port)
    assert result.returncode == 2
    assert_one_line_error(result, "--port")


def test_classify_of_an_empty_folder_writes_no_results_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "results.csv"
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "classify", str(empty),
                             "--out", str(out), "--no-progress"], cwd=tmp_path,
                            env=dict(os.environ), capture_output=True, text=True)
    assert result.returncode == 1 and "no files in" in result.stderr
    assert not out.exists()


def test_a_camera_that_is_not_there_is_said_not_replaced_by_the_demo(tmp_path):
    """Trial item 9: `--source 5` played the demo silently and exited 0."""
    from assistant.live.camera import available_cameras
    if 5 in available_cameras():
        pytest.skip("this machine has a camera 5")
    result = run_cli("app", "--source", "5", "--once", "--engine", "silent",
                     env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert_one_line_error(result, "camera 5 cannot be opened")

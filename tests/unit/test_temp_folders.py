"""The test run cleans up after itself: a passing test's temp folder and isolated home are
deleted when it ends (a retrain's home holds ~200 MB), a failing test's stay to be looked at.
Checked on an inner pytest run of two tiny tests, with this project's pytest settings and
fixtures (tests/conftest.py as a plugin)."""
from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import ROOT, run_python

INNER = '''
import os
from pathlib import Path

def record(name, tmp_path):
    (tmp_path / "made.txt").write_text("something to delete")
    (Path(os.environ["GROCERY_ASSISTANT_HOME"]) / "cache").mkdir()
    Path(os.environ["RECORD"], name).write_text(
        str(tmp_path) + "\\n" + os.environ["GROCERY_ASSISTANT_HOME"])

def test_passes(tmp_path):
    record("passed", tmp_path)

def test_fails(tmp_path):
    record("failed", tmp_path)
    assert False, "on purpose"
'''


def test_a_passing_tests_folders_are_deleted_and_a_failing_tests_kept(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "test_inner.py").write_text(INNER)
    record = tmp_path / "record"
    record.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GROCERY_"))}
    # no plugin but this project's fixtures (hypothesis and schemathesis alone take seconds)
    env.update(PYTHONPATH=str(ROOT), RECORD=str(record), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = run_python("-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-p", "tests.conftest",
                      "-p", "no:cacheprovider", "-o", "addopts=", "-W", "ignore::pytest.PytestConfigWarning",
                      "--basetemp", str(tmp_path / "base"), str(inner / "test_inner.py"), env=env)
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    passed = [Path(p) for p in (record / "passed").read_text().splitlines()]
    failed = [Path(p) for p in (record / "failed").read_text().splitlines()]
    assert all(p.is_relative_to(tmp_path / "base") for p in passed + failed), (passed, failed)
    assert [p.exists() for p in passed] == [False, False]  # tmp_path, then the home
    assert [p.is_dir() for p in failed] == [True, True]

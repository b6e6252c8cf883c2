"""A command whose reader stops early (`grocery-assistant models list | head -1`) ends quietly:
it printed 'grocery-assistant models: Broken pipe' as if something had failed."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import ROOT


def test_a_reader_that_stops_early_is_not_reported_as_an_error(isolated_home):
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "models", "list"], cwd=ROOT,
                            env=dict(os.environ), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()          # the reader is gone before the first line is written
    err = proc.stderr.read()
    assert proc.wait() == 141, err
    assert err == "", err

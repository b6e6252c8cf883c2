"""A retrain's PyTorch threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE): the maintainer's
child starts with it, unless the user chose otherwise. Its speed is a bench figure
(docs/retraining.md), not a test's."""
from __future__ import annotations

import subprocess
import sys

from assistant.maintainer.job import child_env


def policy_in_child(env: dict) -> str:
    code = "import os; print(os.environ.get('OMP_WAIT_POLICY'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_maintainers_child_starts_with_sleeping_threads(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert policy_in_child(child_env()) == "PASSIVE"


def test_a_wait_policy_the_user_chose_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert policy_in_child(child_env()) == "ACTIVE"

"""ONNX Runtime takes the thread count the process was given: OMP_NUM_THREADS, as torch does
(the test workers run on one thread each; ONNX Runtime alone took one per core and spun)."""
from __future__ import annotations

import pytest

from assistant.inference.onnx_backend import thread_count


@pytest.mark.parametrize("env,asked,expected", [(None, None, 0), ("1", None, 1), ("3", None, 3),
                                                ("1", 4, 4), (None, 2, 2), ("4,2", None, 0),
                                                ("", None, 0), ("-2", None, 0)])
def test_onnx_runtime_threads_follow_omp_num_threads_unless_asked(monkeypatch, env, asked,
                                                                   expected):
    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    assert thread_count(asked) == expected


@pytest.mark.parametrize("env", ["1", "2"])
def test_the_session_is_opened_with_that_count(monkeypatch, env):
    """On a bundled model, whose ONNX file the set-up built beside it (no export here)."""
    from assistant.inference.onnx_backend import OnnxClassifier
    from assistant.paths import BUNDLED_DIR
    monkeypatch.setenv("OMP_NUM_THREADS", env)
    classifier = OnnxClassifier(BUNDLED_DIR / "efficientnet-lite0-freiburg.safetensors")
    assert classifier.session.get_session_options().intra_op_num_threads == int(env)

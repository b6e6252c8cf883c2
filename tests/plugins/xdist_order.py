"""How the README's `-n 2 --dist loadgroup` hands test files to its two workers: a file whole,
the Ray files together, the longest first."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """The README's `-n 2 --dist loadgroup`: each test file runs whole on one worker, so its
    module fixtures (a server, a window) are made once, and the files on the session's Ray
    cluster (test_ray_*.py) run on one worker, so one cluster starts, not one per worker.
    (xdist's own loadgroup reads xdist_group marks through item._nodeid, which pytest 9 no
    longer uses for the node id, so it would hand out single tests.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "ray" if Path(path).name.startswith("test_ray_") else path

        def _assign_work_unit(self, node) -> None:
            # longest first: a long file handed out last would leave the other worker idle
            # while it runs (xdist's own order is by number of tests: test_api_guard's 408
            # quick cases came first, the maintainer dialog's minutes near the end)
            for scope in LONGEST_FIRST:
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
                    break
            super()._assign_work_unit(node)
    return ByFile(config, log)


#: the test files (or groups) that take longest, longest first, from the default run's
#: --durations on the 2-core Xeon (2026-12-07); the others follow in xdist's order
LONGEST_FIRST = ("tests/ui/test_headless.py", "tests/ui/test_maintainer_retrain.py",
                 "tests/model/test_retrain.py", "ray", "tests/e2e/test_export.py",
                 "tests/e2e/test_benchmarks.py", "tests/ui/test_accessibility.py",
                 "tests/ui/test_maintainer_child.py", "tests/model/test_retrain_upper.py",
                 "tests/model/test_train.py", "tests/unit/test_model_sanity.py",
                 "tests/e2e/test_install.py", "tests/ui/test_retrain_modes.py",
                 "tests/ui/test_maintainer_retrain_options.py", "tests/e2e/test_api.py")

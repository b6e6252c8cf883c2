"""The session's Ray cluster for the tests marked `ray`: started by the first that asks, stopped
after the last of a run of consecutive ones."""
from __future__ import annotations

import pytest

from tests.helpers import unavailable


class RayCluster:
    """One Ray cluster of this machine alone (2 CPUs, a small object store, no dashboard),
    started by the first test that asks for its address and shut down after the last test of
    a run of consecutive tests that need it (pytest_runtest_teardown below): idle, its daemons
    (raylet, GCS, agents, actors) cost ~5 CPU-seconds a minute on the 2-core development CPU,
    which the rest of the run paid for when it lived until the session's end. The tests that
    need it are marked `ray` and skip without Ray (the optional extra), except in CI."""

    def __init__(self) -> None:
        self._address: str | None = None

    def address(self) -> str:
        if self._address is None:
            import logging

            from assistant.engines import import_ray
            from assistant.errors import UserError
            try:
                ray = import_ray(local=True)  # on 127.0.0.1 only, as `--engine ray` without --address
            except UserError as exc:
                unavailable(str(exc))
            ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False,
                     logging_level=logging.WARNING, log_to_driver=False)
            self._address = ray.get_runtime_context().gcs_address
        return self._address

    def stop(self) -> None:
        if self._address is not None:
            import ray
            ray.shutdown()
            self._address = None


RAY = RayCluster()


@pytest.fixture(scope="session")
def ray_cluster() -> RayCluster:
    """The Ray cluster, for a module fixture (a service on it); call .address() for its address."""
    return RAY


@pytest.fixture
def ray_address(ray_cluster) -> str:
    """The address of the Ray cluster (RayCluster), started if need be."""
    return ray_cluster.address()


def uses_ray(item) -> bool:
    return "ray_cluster" in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last of consecutive tests on the Ray cluster (and their module fixtures), the
    cluster stops; a later test that needs it starts it again. The scheduler above keeps the
    Ray files together on one worker, and one process runs them in file order, together too."""
    result = yield
    if uses_ray(item) and (nextitem is None or not uses_ray(nextitem)):
        RAY.stop()
    return result

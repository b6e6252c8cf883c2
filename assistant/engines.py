"""Which engine runs `serve` and `classify`: local (this process, the default) or ray (Ray Serve,
Ray Data on a Ray cluster), and the one way to reach a Ray cluster.

Ray is an optional extra; it is imported here (and in service/on_ray, batch/on_ray) only when
the ray engine is asked for, so the default path never loads it.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import UserError

ENGINES = ("local", "ray")
INSTALL_HINT = "pip install -e '.[ray]', or: bash scripts/setup.sh --with-ray"
#: Ray's switch for a cluster of this machine alone: its processes then talk over 127.0.0.1
#: and nothing of it listens on the network (read when ray is imported)
_LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: the node address of a Ray cluster of this machine alone
LOOPBACK_IP = "127.0.0.1"
#: seconds a cluster's address has to accept a connection before we say nothing is there
#: (ray.init itself retries for minutes)
PROBE_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """--engine and --address: shared by `serve` and `classify`."""
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="local: this process on this machine; ray: a Ray cluster (Ray "
                             f"Serve, Ray Data; needs the extra: {INSTALL_HINT})")
    parser.add_argument("--address", metavar="ADDR",
                        help="with --engine ray: join the running Ray cluster at ADDR (its head's "
                             "host:port, as `ray start --head` prints it, or 'auto' for the one "
                             "this machine is part of); without it a Ray cluster of this machine "
                             "alone is started for the run")


def check_engine_arguments(args: argparse.Namespace, local_only: dict[str, int] | None = None) -> None:
    """A flag of the other engine is a mistake, said in one line. local_only: flags that only
    the local engine has, by name, with their values (refused with --engine ray unless 1)."""
    if args.engine != "ray":
        if args.address:
            raise ValueError("--address is for --engine ray (the Ray cluster to join)")
        if getattr(args, "replicas", None) is not None:
            raise ValueError("--replicas is for --engine ray; the local engine's processes are "
                             "--workers N")
        return
    for flag, value in (local_only or {}).items():
        if value != 1:
            raise ValueError(f"--{flag} is for the local engine; on Ray use --replicas N")
    if getattr(args, "replicas", None) is not None and args.replicas < 1:
        raise ValueError("--replicas must be at least 1")


def import_ray(local: bool):
    """The ray module, or a UserError saying how to install it. local: a cluster of this
    machine alone is wanted (Ray then stays on the loopback address)."""
    if local:
        os.environ.setdefault(_LOCAL_ONLY_ENV, "0")
    try:
        import ray
    except ImportError as exc:
        raise UserError(f"the Ray engine needs Ray, which is not installed ({exc}); install the "
                        f"optional extra: {INSTALL_HINT}") from None
    return ray


def worker_env() -> dict[str, str]:
    """Environment variables Ray's workers need to find what this process finds: the user's
    folder (models, their ONNX files) when it is set."""
    return {k: os.environ[k] for k in ("GROCERY_ASSISTANT_HOME",) if k in os.environ}


@contextlib.contextmanager
def ray_cluster(address: str | None) -> Iterator:
    """Ray, connected: to the cluster at address, or to a new one of this machine alone
    (stopped at the end). A caller that already holds a connection (a test, a notebook) keeps it."""
    ray = import_ray(local=address is None)
    if ray.is_initialized():
        yield ray
        return
    if address:
        probe(address)
    options = {"include_dashboard": None}
    if address is None:
        # a cluster of this machine alone: its node address is the loopback one, so what Ray
        # opens for it (GCS, raylet, the workers' and replicas' gRPC servers) is reached from
        # this machine only; no dashboard. A cluster joined with --address keeps its own.
        options = {"include_dashboard": False, "_node_ip_address": LOOPBACK_IP}
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a Ray cluster on this machine"
        raise UserError(f"could not reach {where}: {' '.join(str(exc).split())[:300]}") from None
    private_token()
    try:
        yield ray
    finally:
        ray.shutdown()


def private_token() -> None:
    """Ray writes the cluster's token readable by every user of the machine (0644); it is the
    key to the cluster, so only its owner may read it."""
    token = Path.home() / ".ray" / "auth_token"
    try:
        if token.is_file() and token.stat().st_mode & 0o077:
            token.chmod(0o600)
    except OSError as exc:  # someone else's file: say so, it is theirs to fix
        log.warning("cannot make %s private: %s", token, exc)


def probe(address: str) -> None:
    """A clear error at once when nothing listens at a host:port address (ray.init would retry
    for minutes); 'auto' and other forms are left to Ray."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        if address == "auto":
            return
        raise UserError(f"--address {address!r} is not host:port (the head's address as "
                        "`ray start --head` prints it) nor 'auto'")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise UserError(f"no Ray cluster answers at {address} ({exc.strerror or exc}): start one "
                        "there with `ray start --head`, or leave out --address to run on a Ray "
                        "cluster of this machine alone") from None

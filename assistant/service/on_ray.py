"""`serve --engine ray`: the service's own app (assistant.service.app.create_app: the same routes,
limits, answers and error codes) in each of N Ray Serve replicas. In a replica, @serve.batch
gathers the photos that wait into one model pass, where the local engine has its model thread.

Imported only when the ray engine is asked for (it imports ray); call
engines.import_ray first, which sets what Ray reads when it is imported.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading

from ray import serve

from assistant.engines import LOOPBACK_IP, ray_cluster, worker_env
from assistant.errors import UserError
from assistant.service.app import create_app
from assistant.service.batcher import AsyncBatcher, predict_chws
from assistant.service.guard import BODY_DEADLINE_S, MAX_BODY, READ_TIMEOUT_S
from assistant.service.ray_proxy import proxy_environment
from assistant.service.server import KEEP_ALIVE_S

APP_NAME = "grocery-assistant"
#: how long Serve's controller waits for a proxy to come up and to answer its health checks
#: (Ray's defaults, 5 and 10 s, kill a proxy that starts on a busy 2-core machine, e.g. beside
#: a model training: seen here); a value in the environment wins
PROXY_PATIENCE = {"RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "60",
                  "RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S": "30"}
#: seconds a replica's batch waits for more photos once the first has come
log = logging.getLogger(__name__)


BATCH_WAIT_S = 0.005
#: seconds a request may take end to end before Ray's proxy answers 408 (the local engine's
#: body deadline, plus time for the answer)
REQUEST_TIMEOUT_S = 120.0
#: requests held at a proxy while every replica is full; more get a 503
MAX_QUEUED = 64


def keep_on_loopback() -> None:
    """In a replica of a cluster of this machine alone, its gRPC server for the other
    deployments binds the loopback address, as every other Ray process here does. Ray 2.60
    binds "[::]:0" there (ray/serve/_private/replica.py, with no setting for it), which put a
    port on every interface; it is started after this constructor, through the function
    patched here. On a real cluster (a node address other than loopback) nothing changes."""
    import ray
    from ray.serve._private import replica

    if ray.util.get_node_ip_address() != LOOPBACK_IP:
        return
    add_port = getattr(replica, "add_port_to_grpc_server", None)
    if add_port is None or getattr(add_port, "on_loopback", False):
        if add_port is None:
            log.warning("this Ray version starts its replica servers differently: not checked "
                        "that they listen on the loopback address only")
        return

    def on_loopback(server, address: str):
        return add_port(server, address.replace("[::]", LOOPBACK_IP, 1))
    on_loopback.on_loopback = True
    replica.add_port_to_grpc_server = on_loopback


@serve.deployment(name="GroceryService", health_check_period_s=2, health_check_timeout_s=30,
                  graceful_shutdown_timeout_s=5)
@serve.ingress()  # the app is built in each replica, by __serve_build_asgi_app__
class GroceryService:
    """One replica: the model loaded by create_app, its photos batched by @serve.batch."""

    def __init__(self, config: dict, replicas: int) -> None:
        keep_on_loopback()
        self._config, self._replicas = dict(config), replicas
        self._classifier = None
        self.classify.set_max_batch_size(max(1, self._config.get("max_batch", 16)))

    def __serve_build_asgi_app__(self):
        config = dict(self._config)
        return create_app(config.pop("model"), **config, make_batcher=self._batcher,
                          engine="ray", replicas=self._replicas)

    def _batcher(self, classifier) -> AsyncBatcher:
        self._classifier = classifier
        return AsyncBatcher(self.classify, classifier, self._config.get("max_pending", 64))

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=BATCH_WAIT_S)
    async def classify(self, chws: list) -> list:
        # in a thread: the replica's event loop goes on reading requests and decoding meanwhile
        return await asyncio.to_thread(predict_chws, self._classifier, chws)


def deployment(config: dict, replicas: int):
    """The bound application: N replicas, each reserving the CPUs its model's threads use."""
    threads = config.get("threads") or 1
    config = dict(config, threads=threads)
    max_pending = config.get("max_pending", 64)
    options = dict(num_replicas=replicas,
                   # a replica takes in more than its bound, so that the bound's 503 is the app's
                   max_ongoing_requests=max_pending + max(16, config.get("max_batch", 16)),
                   max_queued_requests=MAX_QUEUED,
                   ray_actor_options={"num_cpus": threads,
                                      "runtime_env": {"env_vars": worker_env()}})
    return GroceryService.options(**options).bind(config, replicas)


def start_options(config: dict, host: str, port: int) -> dict:
    """serve.start's options: where the proxies listen, their time limits, and (through the
    controller's environment, which the proxies inherit) their middlewares. Ray applies them
    when Serve first starts on a cluster; a cluster where Serve already runs keeps its own."""
    env = proxy_environment(config.get("max_body", MAX_BODY),
                            config.get("read_timeout", READ_TIMEOUT_S),
                            config.get("body_deadline", BODY_DEADLINE_S))
    patience = {k: os.environ.get(k, v) for k, v in PROXY_PATIENCE.items()}
    return {"http_options": {"host": host, "port": port, "keep_alive_timeout_s": KEEP_ALIVE_S,
                             "request_timeout_s": REQUEST_TIMEOUT_S},
            "controller_options": {"runtime_env": {"env_vars": {**patience, **env, **worker_env()}}}}


def serve_on_ray(config: dict, host: str, port: int, replicas: int, address: str | None) -> int:
    """Deploy the service on Ray Serve (a cluster of this machine alone, or the one at address)
    and answer until Ctrl-C or SIGTERM; then the application is taken down."""
    from assistant.inference.onnx_backend import open_classifier
    # opened once here: a bad model file is said before Ray starts, and its ONNX file is made
    # once rather than by every replica at the same time
    open_classifier(config["model"], config["backend"], device=config["device"], threads=1,
                    calibration=config.get("calibration"))
    if not address:
        check_port_free(host, port)
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    with ray_cluster(address) as ray:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):  # after ray.init, which sets its own
            signal.signal(sig, lambda *_: stop.set())
        ours = not serve_running(ray)
        try:
            serve.start(**start_options(config, host, port))
        except ray.exceptions.RayError as exc:
            raise UserError(f"Ray Serve's HTTP proxy did not start ({type(exc).__name__}); the "
                            "machine may be too busy: try again, or see Ray's logs in "
                            "/tmp/ray/session_latest/logs/serve") from exc
        try:
            serve.run(deployment(config, replicas), name=APP_NAME, route_prefix="/")
            where = listening_at(host, port)
            print(f"serve: Ray Serve answering on http://{where} with {replicas} "
                  f"replica{'s' if replicas != 1 else ''} (Ctrl-C stops)", file=sys.stderr,
                  flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            serve.delete(APP_NAME)  # drains its replicas
            if address and ours and not serve.status().applications:
                serve.shutdown()  # the next service on the cluster starts Serve its own way
    print("serve: stopped", file=sys.stderr)
    return 0


def serve_running(ray) -> bool:
    """Whether Ray Serve runs on the cluster already (then it keeps its proxies' options)."""
    from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE
    try:
        ray.get_actor(SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
    except ValueError:
        return False
    return True


def listening_at(host: str, port: int) -> str:
    """host:port where the cluster's proxies listen: ours, or those of a Serve that ran there
    before us (Ray then keeps its options, and says so in a warning)."""
    try:
        from ray.serve.context import _get_global_client
        config = _get_global_client().http_config
        return f"{config.host}:{config.port}"
    except Exception:  # Ray's private API moved: what was asked for
        return f"{host}:{port}"


def check_port_free(host: str, port: int) -> None:
    """Ray's proxy shares a port that is taken (SO_REUSEPORT): two services would answer at one
    address, each half the requests. A taken port is refused, as uvicorn does."""
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): another "
                            "program uses it; choose another --port") from None

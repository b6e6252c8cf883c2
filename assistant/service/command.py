"""`serve`: its flags, and the choice of where the app runs: uvicorn on this machine (one
process or --workers) or Ray Serve (`--engine ray`, assistant.service.on_ray)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from assistant.engines import add_engine_arguments, check_engine_arguments
from assistant.service.guard import LOOPBACK, MAX_BODY, TOKEN_ENV, allowed_hosts
from assistant.service.upload import MAX_DECODED, MAX_PIXELS

log = logging.getLogger(__name__)


def _port(text: str) -> int:
    """A TCP port, refused in one line by argparse when it cannot be one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:   # 0: any free port (tests and benchmarks use it)
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1 to 65535 (0: any free one)")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from assistant.inference.onnx_backend import add_backend_arguments
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (127.0.0.1: this machine only)")
    parser.add_argument("--port", type=_port, default=8000, help="TCP port (1-65535; 0: any free one, printed at start)")
    add_backend_arguments(parser)
    parser.add_argument("--calibration", metavar="DIR", help="photos to make onnx-int8 from (first use)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="server processes, each with its own copy of the model")
    parser.add_argument("--max-batch", type=int, default=16, metavar="N",
                        help="most waiting photos the model answers in one pass")
    parser.add_argument("--max-body-mb", type=_limit, default=MAX_BODY / 2**20, help="largest request body")
    parser.add_argument("--max-megapixels", type=_limit, default=MAX_PIXELS / 1e6, help="largest picture")
    parser.add_argument("--max-decoded-mb", type=_limit, default=MAX_DECODED / 2**20,
                        help="most memory one picture may take once decoded")
    parser.add_argument("--token", default=None,
                        help=f"require 'Authorization: Bearer TOKEN' on /api/ (also set by ${TOKEN_ENV})")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a name clients may use in the Host header, besides this machine's "
                             "own (repeat for several)")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    add_engine_arguments(parser)
    parser.add_argument("--replicas", type=int, default=None, metavar="N",
                        help="with --engine ray: copies of the service, each with its model "
                             "(default 1)")


def _limit(text: str) -> float:
    """A size limit: a finite number above 0. Zero must not mean "no limit": it would lift the
    body's size cap and its slow-body deadlines together."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 (there is no 'no limit')")
    return value


def app_config(args: argparse.Namespace) -> dict:
    """create_app's settings from the flags (saved as JSON for --workers and Ray's replicas),
    the model's path under "model"; a warning on stderr when others on the network can reach
    the service."""
    from assistant.store.barcodes import default_path as default_barcode_list
    from assistant.store.models import active_model_path
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.host not in LOOPBACK:
        warning = (f"listening on {args.host}: other machines on the network can reach the service"
                   + ("" if token else f"; anyone of them can use it (set --token or ${TOKEN_ENV})"))
        log.warning("%s", warning)
        print(f"serve: warning: {warning}", file=sys.stderr)
    config = {"model": str(args.model or active_model_path()), "backend": args.backend,
              "device": args.device, "threads": args.threads, "max_batch": args.max_batch,
              "max_body": int(args.max_body_mb * 2**20), "max_pixels": int(args.max_megapixels * 1e6),
              "max_decoded": int(args.max_decoded_mb * 2**20), "token": token,
              "allowed_hosts": sorted(allowed_hosts(args.host, args.allow_host)),
              "barcode_list": str(default_barcode_list())}
    if args.backend.startswith("onnx-int8") and args.calibration:
        from assistant.files import photos_in
        config["calibration"] = [str(p) for p in photos_in(args.calibration)]
    return config


def run(args: argparse.Namespace) -> int:
    check_engine_arguments(args, {"workers": args.workers})
    config = app_config(args)
    if args.engine == "ray":
        from assistant.engines import import_ray
        import_ray(local=not args.address)  # before the module below imports it
        from assistant.service.on_ray import serve_on_ray
        return serve_on_ray(config, args.host, args.port, args.replicas or 1, args.address)
    import uvicorn

    from assistant.service.app import CONFIG_ENV, app_from_env, create_app
    from assistant.service.server import server_options
    config["replicas"] = args.workers
    common = dict(host=args.host, port=args.port, access_log=args.access_log, log_level="info",
                  **server_options())
    if args.workers > 1:
        os.environ[CONFIG_ENV] = json.dumps(config)
        # by name: each worker process imports it (named from the function, so a move follows)
        factory = f"{app_from_env.__module__}:{app_from_env.__qualname__}"
        uvicorn.run(factory, factory=True, workers=args.workers, **common)
    else:
        uvicorn.run(create_app(config.pop("model"), **config), **common)
    return 0

"""Helpers the test files share (fixtures live in conftest.py, hooks in tests/plugins/): one way to
run the command line or Python in a new process, one photo-folder writer, one copy of the project
for import-linter, the shared photo data or a clear skip, a server in a thread, a child process
that refuses some imports."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_python(*argv: str, env: dict | None = None, env_extra: dict | None = None,
               cwd: Path = ROOT, timeout: float = 600,
               check: bool = False) -> subprocess.CompletedProcess:
    """`python argv...` in a new process with no standard input, output captured as text.
    env replaces this process's environment, env_extra adds to it; check raises with the
    child's stderr when it fails. The timeout only stops a hung child."""
    env = dict(os.environ if env is None else env, **(env_extra or {}))
    done = subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError(done.stderr)
    return done


def run_cli(*args: str, code: str | None = None, **options) -> subprocess.CompletedProcess:
    """`python main.py args...` as the user runs it (or `python -c code args...` when code is
    given); options as for run_python."""
    command = ("-c", code) if code else (str(ROOT / "main.py"),)
    return run_python(*command, *args, **options)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Non-zero exit, exactly one line on stderr, no traceback; returns that line."""
    from assistant.cli import PROG
    assert result.returncode != 0, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    line = lines[0]
    assert line.startswith(PROG), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def make_photo(color: tuple[int, int, int], size: int = 96, seed: int = 0) -> np.ndarray:
    """A textured synthetic 'product': a coloured box with a stripe pattern on a noisy shelf."""
    rng = np.random.default_rng(seed)
    img = rng.integers(60, 120, size=(size, size, 3), dtype=np.uint8)
    a, b = size // 5, size - size // 5
    img[a:b, a:b] = color
    img[a:b:6, a:b] = 255 - np.array(color, dtype=np.uint8)
    return img


def write_products(root: Path, colors: dict, n: int = 8, seed: int = 0,
                   quality: int = 75) -> Path:
    """n JPEG photos of each product (name -> colour) in one sub-folder per product; product
    k's photo i is make_photo(colour, seed=seed + 100 * k + i), the same photos each time."""
    from PIL import Image
    for k, (name, color) in enumerate(colors.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(make_photo(color, seed=seed + 100 * k + i)).save(
                folder / f"{i:02d}.jpg", quality=quality)
    return root


# --- import-linter on a copy of the project ---------------------------------------------------

def importlinter_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    command = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    env = dict(os.environ, PYTHONPATH=str(cwd), NO_COLOR="1")
    return subprocess.run([*command, "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


def copy_project(folder: Path) -> Path:
    """The packages and pyproject.toml, copied so that a violation can be planted."""
    for package in importlinter_config()["root_packages"]:
        shutil.copytree(ROOT / package, folder / package,
                        ignore=shutil.ignore_patterns("__pycache__", "bundled", "*.safetensors"))
    shutil.copy(ROOT / "pyproject.toml", folder)
    return folder


def plant(root: Path, relative: str, code: str) -> None:
    """Append code to a file of the copy (making it if need be)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n" + code + "\n")


def wait_until(predicate, timeout: float = 20.0, step: float = 0.02) -> bool:
    """Poll predicate until it holds (True) or timeout seconds pass (False): the timeout only
    ends a wait for something that never happens."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def unavailable(reason: str):
    """Skip a test whose tool (a speech engine, the accessibility bus, Ray) is missing here;
    in CI, whose set-up installs them all, fail instead: a skip there would hide breakage."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, and {reason}")
    pytest.skip(reason)


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists() and SHARED_DATA.is_dir():  # the data is here, but not these photos
        unavailable(f"{path} is not in {SHARED_DATA}")
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared photo data travels only with the workspace)")
    return path


def freiburg_photos(per_class: int) -> list[Path]:
    """The first per_class photos of each Freiburg product, in name order (skips without data)."""
    images = shared_data("freiburg", "images")
    return [p for folder in sorted(images.iterdir()) if folder.is_dir()
            for p in sorted(folder.glob("*.jpg"))[:per_class]]


@contextlib.contextmanager
def serve_in_thread(app, **server_options):
    """An ASGI app served on a free loopback port in a thread, with the server settings `serve`
    uses (assistant.service.server; server_options override them); yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    from assistant.service.server import config
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(config(app, "127.0.0.1", port, log_level="warning", **server_options))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


#: sitecustomize for a child process: records and refuses imports of the modules named in
#: REFUSED_IMPORTS (tests/e2e/test_no_torch.py, test_no_ray.py)
REFUSING_HOOK = '''
import os, sys, traceback
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in os.environ["REFUSED_IMPORTS"].split(","):
            with open(os.environ["REFUSED_MARKER"], "a") as fh:
                fh.write(name + "\\n" + "".join(traceback.format_stack(limit=15)) + "\\n")
            raise ImportError(os.environ["REFUSED_MESSAGE"] + name)
        return None
sys.meta_path.insert(0, _Refuse())
'''


def refusing_imports(folder: Path, modules: tuple[str, ...], message: str) -> tuple[dict, Path]:
    """(environment, marker file) for a child process in which every import of these top-level
    modules is refused (ImportError: message + the module's name) and recorded in the marker."""
    hook = folder / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(REFUSING_HOOK)
    marker = folder / f"{modules[0]}-imported.txt"
    env = dict(os.environ, PYTHONPATH=str(hook), REFUSED_IMPORTS=",".join(modules),
               REFUSED_MARKER=str(marker), REFUSED_MESSAGE=message)
    env.pop("PYTEST_CURRENT_TEST", None)
    return env, marker

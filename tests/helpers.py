"""Helpers the test files share (fixtures live in conftest.py): one way to run the command line
or Python in a new process, one photo-folder writer, one copy of the project for import-linter."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


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

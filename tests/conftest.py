"""Shared fixtures: an isolated home for settings/models/logs, tiny photos and a tiny model."""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers on two cores (the README's -n 2): each computes on one thread, and so do the
    # processes it starts. With OpenMP's default of a thread per core, the threads of one worker
    # spin while the other computes: a ResNet-18 batch cost 12-15 times the CPU time that way on
    # the loaded 2-core development CPU (1.0 s against 16 s for 30 batches of 8 at 64 px).
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402  (after the thread count: numpy and torch read it when imported)

from tests.helpers import copy_project, make_photo, write_products  # noqa: F401  (make_photo: tests import it from here)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


#: whether a test's setup or call failed (its report), read by isolated_home's teardown
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(autouse=True)
def isolated_home(request, tmp_path_factory, monkeypatch):
    """Settings, user models, caches and logs go to a temp dir, never the real home. It is
    deleted after a test that passed, as pyproject's tmp_path_retention_policy = "failed" does
    for tmp_path: a retrain's home keeps ~200 MB of ONNX, int8 and stored versions, and the
    homes of one run came to 11 GB under /tmp/pytest-of-$USER. A failed test's stays to look at."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("GROCERY_ASSISTANT_HOME", str(home))
    yield home
    if not request.node.stash.get(FAILED, False):
        shutil.rmtree(home, ignore_errors=True)


def write_photo_dir(root: Path) -> Path:
    """3 products x 8 photos, JPEG, in one sub-folder per product (the same photos each time)."""
    colors = {"red_sauce": (200, 30, 30), "green_tea": (30, 170, 60), "blue_milk": (40, 60, 200)}
    return write_products(root, colors, quality=92)


@pytest.fixture
def photo_dir(tmp_path) -> Path:
    """3 products x 8 photos, JPEG, in one sub-folder per product."""
    return write_photo_dir(tmp_path / "photos")


#: how the session's learnt model is trained: enough for a tiny ResNet-18 from scratch to
#: separate photo_dir's three products (32 px, 6 epochs of 5 steps, the default 80/10/10 split;
#: on one thread it names all 24 photos right, where 4 epochs named 16)
LEARNT = dict(arch="resnet18", pretrained=None, epochs=6, batch_size=4, image_size=32,
              device="cpu", seed=0, warmup_epochs=0, lr=3e-3, augment="none",
              label_smoothing=0.0, select="last")


@pytest.fixture(scope="session")
def learnt(tmp_path_factory):
    """model.train run for real once a test run on photo_dir's photos (a copy of them): (its
    TrainResult, the photos). Tests that need a trained model share it, across pytest-xdist's
    workers too; copy the checkpoint (and its .report folder) before changing anything."""
    def make(folder: Path):
        import torch

        from model.config import TrainConfig
        from model.train import train
        photos = write_photo_dir(folder / "photos")
        threads = torch.get_num_threads()
        # on one thread, whatever the process's count, so every run trains the same model: on
        # two threads of the loaded 2-core CPU the threads spin while the other worker computes
        # (4 epochs cost 32.6 CPU-s on two threads, 5.1 on one; 2026-12-07, docs/tests.md)
        torch.set_num_threads(1)
        try:
            with pytest.MonkeyPatch.context() as mp:  # its caches in a home of its own
                mp.setenv("GROCERY_ASSISTANT_HOME", str(folder / "home"))
                result = train(TrainConfig(data=str(photos), out=str(folder / "models" / "learnt.safetensors"),
                                           **LEARNT), command="python main.py train ...")
        finally:
            torch.set_num_threads(threads)
        return result, photos
    return once_per_run(tmp_path_factory, "learnt", make)


def once_per_run(tmp_path_factory, name: str, make):
    """make(folder) -> a picklable value, made once for the whole test run. Under pytest-xdist
    the first worker to ask makes it in a folder every worker shares; the others wait for it
    (a file lock) and read it back, so two workers never pay for the same training run."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make(tmp_path_factory.mktemp(name))
    import fcntl
    import pickle
    shared = tmp_path_factory.getbasetemp().parent  # this run's, above each worker's own
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        made = shared / f"{name}.pickle"
        if not made.exists():
            folder = shared / name
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed half-way
            made.write_bytes(pickle.dumps(make(folder)))
        return pickle.loads(made.read_bytes())


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
LONGEST_FIRST = ("tests/ui/test_headless.py", "tests/ui/test_maintainer.py",
                 "tests/model/test_retrain.py", "ray", "tests/e2e/test_export.py",
                 "tests/e2e/test_benchmarks.py", "tests/ui/test_accessibility.py",
                 "tests/ui/test_maintainer_child.py", "tests/model/test_retrain_upper.py",
                 "tests/model/test_train.py", "tests/unit/test_model_sanity.py",
                 "tests/e2e/test_install.py", "tests/ui/test_retrain_modes.py",
                 "tests/ui/test_maintainer_retrain_options.py", "tests/e2e/test_api.py")


@pytest.fixture(scope="session")
def tiny_made(tmp_path_factory) -> Path:
    """The tiny checkpoint (see tiny_checkpoint), made once a run, with its fp32 ONNX file in
    onnx/ beside it (where set-up puts the bundled models'). A checkpoint's file differs at
    each save, and a new file is a new export (~2 CPU-s in the test's process, ~4 in a child
    that imports torch for it); one file copied to each test is one export a run."""
    def make(folder: Path) -> Path:
        import torch

        from assistant.inference.architectures import build_model
        from assistant.inference.checkpoint import make_classes, save_checkpoint
        from assistant.inference.export import ensure_onnx
        from assistant.inference.onnx_files import ONNX_FOLDER
        from assistant.inference.vision import Preprocessing
        torch.manual_seed(0)
        ids = ["blue_milk", "green_tea", "red_sauce"]
        model = build_model("resnet18", len(ids))
        meta = {"architecture": "resnet18",
                "classes": make_classes(ids, {"red_sauce": {"en": "tomato sauce", "es": "salsa de tomate"}}),
                "preprocessing": Preprocessing(size=64).to_dict(),
                "metrics": {"test": {"top1": 0.5}}}
        folder.mkdir(parents=True, exist_ok=True)
        made = save_checkpoint(folder / "tiny.safetensors", model.state_dict(), meta)
        with pytest.MonkeyPatch.context() as mp:  # no user cache of a test's home
            mp.setenv("GROCERY_ASSISTANT_HOME", str(folder / "home"))
            ensure_onnx(made, folder=folder / ONNX_FOLDER)
        return made
    return once_per_run(tmp_path_factory, "tiny", make)


@pytest.fixture
def tiny_checkpoint(tmp_path, tiny_made) -> Path:
    """A randomly initialised ResNet-18 checkpoint for 3 products at 64 px (fast on CPU), the
    same bytes in every test (tiny_made); no ONNX file of it is here until one is made."""
    return Path(shutil.copy(tiny_made, tmp_path / "tiny.safetensors"))


@pytest.fixture
def ready_checkpoint(tiny_checkpoint, tiny_made) -> Path:
    """tiny_checkpoint with its fp32 ONNX file in onnx/ beside it, as set-up leaves the bundled
    models: an app, a window or a server on it starts without exporting it. For tests whose
    subject is not the export (tests/e2e/test_export.py and test_onnx_files.py test it)."""
    from assistant.inference.onnx_files import ONNX_FOLDER
    shutil.copytree(tiny_made.parent / ONNX_FOLDER, tiny_checkpoint.parent / ONNX_FOLDER,
                    dirs_exist_ok=True)
    return tiny_checkpoint


@pytest.fixture
def trained_checkpoint(tmp_path, photo_dir) -> Path:
    """The tiny ResNet-18 with its head fitted to photo_dir's three products: it names every
    photo right and surely, so a broken input path (all-zero pictures, lost channels) gives
    clearly wrong answers, which a random model's near-uniform output would hide."""
    import torch

    from assistant.inference.architectures import build_model
    from assistant.inference.checkpoint import make_classes, save_checkpoint
    from assistant.inference.vision import Preprocessing, load_image
    torch.manual_seed(0)
    ids = ["blue_milk", "green_tea", "red_sauce"]
    model = build_model("resnet18", len(ids)).eval()
    prep = Preprocessing(size=64)
    photos = sorted(photo_dir.rglob("*.jpg"))
    labels = torch.tensor([ids.index(p.parent.name) for p in photos])
    head, model.fc = model.fc, torch.nn.Identity()
    with torch.no_grad():  # the body stays random; its features are computed once
        features = model(prep.batch([load_image(p) for p in photos]))
    optimiser = torch.optim.Adam(head.parameters(), lr=0.01)
    for _ in range(300):  # full-batch logistic regression on the features: a fraction of a second
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(head(features), labels).backward()
        optimiser.step()
    model.fc = head
    meta = {"architecture": "resnet18", "classes": make_classes(ids, {}),
            "preprocessing": Preprocessing(size=64).to_dict(), "metrics": {}}
    return save_checkpoint(tmp_path / "trained.safetensors", model.state_dict(), meta)


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """The packages and pyproject.toml in a temp folder, to plant an import-linter violation in."""
    return copy_project(tmp_path)


@pytest.fixture
def no_onnx_export(monkeypatch):
    """For tests whose subject is not the ONNX file: training and retraining in this process
    skip their export, as when it fails (the model is written all the same, and the app would
    fall back to PyTorch). The export has tests of its own (tests/e2e/test_export.py)."""
    from assistant.inference import export

    def not_here(checkpoint, *args, **kwargs):
        raise RuntimeError("the ONNX export is not this test's subject")
    monkeypatch.setattr(export, "ensure_onnx", not_here)
    monkeypatch.setattr(export, "ensure_features_onnx", not_here)  # features through PyTorch


#: a sitecustomize for the processes a test starts (tests/child_stubs/sitecustomize.py)
CHILD_STUBS = Path(__file__).resolve().parent / "child_stubs"


def stub_in_children(monkeypatch, *what: str) -> None:
    """The Python processes this test starts skip what (see tests/child_stubs)."""
    monkeypatch.setenv("TESTS_STUBBED", ",".join(what))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(CHILD_STUBS), *filter(None, [os.environ.get("PYTHONPATH")])]))


@pytest.fixture
def no_export_in_children(monkeypatch):
    """For tests of a retrain in a child process (maintainer mode, `main.py retrain`) whose
    subject is not the new model's ONNX file: the child skips the export and the precision
    measurement (~6 CPU-s of a tiny model's retrain: the features file, the fp32 file, int8 and
    bf16 measured), as `no_onnx_export` does in this process; its model is written all the same."""
    stub_in_children(monkeypatch, "export", "precision")


@pytest.fixture
def no_precision_in_children(monkeypatch):
    """For `main.py train` in a child whose subject is not the precision: the fp32 ONNX file is
    made (the command says where), int8 and bf16 are not measured (~3.4 CPU-s of a tiny model:
    tests/e2e/test_precision.py measures them)."""
    stub_in_children(monkeypatch, "precision")


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


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# --- the fault matrix: `pytest -m fault --fault-matrix` runs every case marked fault (hostile
# model files, a damaged home, broken speech, greedy or foreign HTTP clients) and prints one row
# per case: what it is, what is expected, what was observed, and whether it held.
def pytest_addoption(parser):
    parser.addoption("--fault-matrix", action="store_true",
                     help="after the run, print a row per case marked fault (run with -m fault): "
                          "expected, observed, held")


def pytest_itemcollected(item):
    """A fault-matrix case carries what it expects into its reports (a skipped one too)."""
    marker = item.get_closest_marker("fault")
    if marker is not None and marker.args:
        item.user_properties.append(("expected", marker.args[0]))


def fault_row(report) -> dict | None:
    """The matrix row of one phase's report of a fault case, or None (another test, or a phase
    that says nothing: a passed set-up or tear-down)."""
    expected = dict(report.user_properties).get("expected")
    if expected is None or (report.passed and report.when != "call"):
        return None
    case = report.nodeid.rpartition("::")[2].removeprefix("test_").replace("_", " ")
    if report.passed:
        observed, held = "as expected", "yes"
    elif report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        observed, held = f"skipped: {reason.removeprefix('Skipped: ')[:120]}", "skipped"
    else:
        crash = getattr(report.longrepr, "reprcrash", None)  # absent in a plain-text longrepr
        first = (crash.message if crash is not None else str(report.longrepr)).strip().splitlines()
        observed, held = f"{report.when} failed: {first[0][:120] if first else ''}", "NO"
    return {"case": case, "expected": expected, "observed": observed, "held": held}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not config.getoption("--fault-matrix"):
        return
    rows = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            row = fault_row(report) if hasattr(report, "user_properties") else None
            if row is not None and rows.get(report.nodeid, {}).get("held") != "NO":
                rows[report.nodeid] = row  # a failed phase outweighs a passed call
    terminalreporter.write_sep("=", "fault matrix")
    terminalreporter.write_line("| case | expected | observed | held |")
    terminalreporter.write_line("| --- | --- | --- | --- |")
    for r in rows.values():
        terminalreporter.write_line(f"| {r['case']} | {r['expected']} | {r['observed']} | {r['held']} |")
    bad = sum(r["held"] == "NO" for r in rows.values())
    terminalreporter.write_line(f"{len(rows)} cases, {len(rows) - bad} held, {bad} did not")


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

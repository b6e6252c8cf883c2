"""Shared fixtures: an isolated home for settings/models/logs, tiny photos and a tiny model."""
from __future__ import annotations

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

from tests.helpers import copy_project, write_products  # noqa: E402

#: the hooks and fixtures that are not this file's: how xdist hands out files, the Ray cluster,
#: the fault matrix
pytest_plugins = ["tests.plugins.xdist_order", "tests.plugins.ray_cluster",
                  "tests.plugins.fault_matrix"]


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
        raise export.ExportError("the ONNX export is not this test's subject")
    monkeypatch.setattr(export, "ensure_onnx", not_here)
    monkeypatch.setattr(export, "ensure_features_onnx", not_here)  # features through PyTorch
    monkeypatch.setattr(export, "ensure_lower_onnx", not_here)


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


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")



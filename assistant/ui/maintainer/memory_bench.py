"""The app's resident memory before, during and after a retrain from maintainer mode (issue 35:
goal <= 350 MB; torch must stay out of the app's process):

    python -m assistant.ui.maintainer.memory_bench [--model FILE] [--photos DIR] [--activate]

It opens maintainer mode over the model run by ONNX Runtime (as the app runs it), in a
throw-away home, teaches it the products of DIR (default: two products of synthetic photos),
retrains through the dialog's own Retrain button, and prints one JSON line: resident MB before,
the most seen while the child trained, after, and whether torch came into this process.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def resident_mb() -> float:
    """This process's resident set (Linux /proc; elsewhere the peak, from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class LeanContext:
    """What the window hands maintainer mode, with the classifier the app runs (ONNX Runtime)."""

    def __init__(self, model: Path, language: str = "en") -> None:
        from assistant.live.settings import Settings
        self.settings = Settings(language=language)
        self.speaker = None
        self.classifier = self.reload_model(model)

    def reload_model(self, path):
        from assistant.inference.onnx_backend import open_classifier
        self.classifier = open_classifier(path, "auto", device="cpu")  # as the app: the measured precision
        return self.classifier


def synthetic_photos(root: Path, per_product: int = 12) -> Path:
    """Two products of plain coloured photos with noise: enough for a fast retrain."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for name, colour in (("bench_yellow", (220, 210, 40)), ("bench_purple", (130, 40, 150))):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_product):
            pixels = np.clip(rng.normal(colour, 25, (96, 96, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:02d}.jpg")
    return root


def measure(model: Path, photos: Path, activate: bool = False, only: bool = True) -> dict:
    """Open maintainer mode, import photos' products, retrain by the dialog's button; figures."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.ui.maintainer import MaintainerDialog
    app = QApplication.instance() or QApplication([])
    dialog = MaintainerDialog(None, LeanContext(model))
    dialog.show()
    for folder in sorted(p for p in photos.iterdir() if p.is_dir()):
        product = dialog.library.add(folder.name.replace("_", " "), folder.name.replace("_", " "))
        dialog.library.import_folder(product.id, folder)
    dialog.refresh()
    dialog.only.setChecked(only)
    before = resident_mb()
    seen = [before]
    sampler = QTimer()
    sampler.timeout.connect(lambda: seen.append(resident_mb()))
    sampler.start(100)
    loop = QEventLoop()
    dialog.views.ended.connect(loop.quit)
    dialog.retrain_button.click()
    loop.exec()
    sampler.stop()
    result = dialog.result
    figures = {"before_mb": round(before, 1), "during_max_mb": round(max(seen), 1),
               "after_mb": round(resident_mb(), 1), "samples": len(seen),
               "retrained": result is not None and not result.cancelled,
               "status": dialog.status.text()}
    if activate and figures["retrained"]:
        dialog.views._activate()
        figures["after_activation_mb"] = round(resident_mb(), 1)
    figures["torch_in_app"] = "torch" in sys.modules
    dialog.shutdown()
    dialog.deleteLater()
    app.processEvents()
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="the model maintainer mode starts from (default: the bundled one)")
    p.add_argument("--photos", help="one sub-folder of photos per product (default: synthetic)")
    p.add_argument("--activate", action="store_true", help="activate the new model, then measure again")
    p.add_argument("--with-known", action="store_true",
                   help="keep the model's products (reads their photos: slower) instead of --only")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as home:
        os.environ["GROCERY_ASSISTANT_HOME"] = home  # the user's library and models untouched
        from assistant.store import models
        model = Path(args.model) if args.model else models.bundled_default()
        photos = Path(args.photos) if args.photos else synthetic_photos(Path(home) / "photos")
        figures = measure(model, photos, args.activate, only=not args.with_known)
    print(json.dumps(figures))
    return 0 if figures["retrained"] and not figures["torch_in_app"] else 1


if __name__ == "__main__":
    sys.exit(main())

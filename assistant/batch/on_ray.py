"""`classify DIR --engine ray`: the same report as the local run, made on a Ray cluster. Ray
Data's tasks read and decode the photos in parallel (assistant.batch.photos.decode, the one
preprocessing) and a pool of actors, each with the model loaded once, answers them in batches
(assistant.batch.photos.answer). A photo that fails is listed with its reason, never loses the run.

Imported only when the ray engine is asked for (it imports ray); call engines.import_ray first.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import ray
import ray.data

from assistant.batch.photos import Report, answer, decode, reason
from assistant.engines import ray_cluster, worker_env

#: photos one decoding task reads (small: a cluster spreads them, the first answers come soon)
DECODE_CHUNK = 8
#: CPUs a decoding task asks for: decoding is light next to the model, and a need unlike the
#: actors' keeps Ray Data from fusing it into them, so it runs in tasks of its own, beside them
DECODE_CPUS = 0.5
#: reason given for a photo whose task failed past Ray's retries (a worker that crashed)
LOST = "lost: the Ray worker that had it failed (Ray's logs say why)"


def decode_photos(batch: dict, size: int) -> dict:
    """Ray Data task: file paths -> 3xSxS uint8 pictures, with "" or the reason one failed."""
    pixels = np.zeros((len(batch["file"]), 3, size, size), dtype=np.uint8)
    errors = []
    for i, file in enumerate(batch["file"]):
        path = Path(file)
        outcome = decode(path, size) if path.exists() else FileNotFoundError(
            f"{path}: not found on the Ray node {ray.util.get_node_ip_address()} (the folder "
            "must be on storage every node reads, at the same path)")
        if isinstance(outcome, Exception):
            errors.append(reason(outcome, path))
        else:
            pixels[i] = outcome
            errors.append("")
    return {"index": batch["index"], "rel": batch["rel"], "pixels": pixels,
            "error": np.array(errors, dtype=object)}


class PhotoClassifier:
    """A Ray Data actor: the model opened once (as the local run opens it), then batches."""

    def __init__(self, model: str, backend: str, device: str, threads: int | None,
                 calibration: list | None, k: int) -> None:
        from assistant.inference.onnx_backend import open_classifier
        self.classifier = open_classifier(model, backend, device=device, threads=threads,
                                          calibration=calibration)
        self.k = k

    def __call__(self, batch: dict) -> dict:
        good = [i for i, why in enumerate(batch["error"]) if not why]
        results = np.empty(len(batch["index"]), dtype=object)
        if good:
            answers = answer(self.classifier, [batch["rel"][i] for i in good],
                             [batch["pixels"][i] for i in good], self.k)
            for i, result in zip(good, answers, strict=True):
                results[i] = result
        return {"index": batch["index"], "rel": batch["rel"], "error": batch["error"],
                "result": results}


def classify_on_ray(classifier, files: list[Path], root: Path, batch_size: int = 32,
                    address: str | None = None, progress: bool = False, backend: str = "auto",
                    device: str = "auto", threads: int | None = None,
                    calibration: list | None = None, actors: int | None = None,
                    k: int = 3) -> Report:
    """Classify `files` on Ray; the same Report as batch.classify_files (paths relative to
    root, in the order of files; seconds from the cluster's being reached). classifier: the
    driver's, opened already (its model file and ONNX file are ready); each actor opens the
    same file with the same backend, device and threads (default 1 each)."""
    from tqdm import tqdm
    report = Report()
    if not files:
        return report
    size = classifier.preprocessing.size
    threads = threads or 1
    quiet_ray_data()
    with ray_cluster(address) as ray_:
        start = time.perf_counter()
        bar = tqdm(total=len(files), unit="photo", file=sys.stderr, disable=not progress,
                   dynamic_ncols=True, smoothing=0.1)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours is the one bar, as in the local run
        context.max_errored_blocks = max(1, len(files))  # a failed task costs its photos only
        cpus = int(ray_.cluster_resources().get("CPU", 1))
        free, needed = ray_.available_resources().get("CPU", 0), threads + DECODE_CPUS
        if free < needed:  # Ray waits without a word until work elsewhere ends
            print(f"classify: {free:g} of the Ray cluster's {cpus} CPUs are free (the others "
                  f"are busy, e.g. with a service's replicas); the run waits until {needed:g} are",
                  file=sys.stderr, flush=True)
        items = [{"index": i, "file": str(p), "rel": p.relative_to(root).as_posix()}
                 for i, p in enumerate(files)]
        env = {"runtime_env": {"env_vars": worker_env()}}
        answered = (
            ray.data.from_items(items, override_num_blocks=max(1, len(items) // DECODE_CHUNK))
            .map_batches(decode_photos, fn_kwargs={"size": size}, batch_size=DECODE_CHUNK,
                         num_cpus=DECODE_CPUS, **env)
            .map_batches(PhotoClassifier, batch_size=max(1, batch_size), num_cpus=threads,
                         fn_constructor_kwargs=dict(
                             model=str(classifier.path), backend=backend,
                             device=device, threads=threads,
                             calibration=[str(p) for p in calibration or []] or None, k=k),
                         compute=ray.data.ActorPoolStrategy(
                             min_size=1, max_size=actors or max(1, cpus // threads - 1)),
                         **env))
        seen: dict[int, tuple] = {}
        for batch in answered.iter_batches(batch_format="numpy", batch_size=None):
            for index, rel, why, result in zip(batch["index"], batch["rel"], batch["error"],
                                               batch["result"], strict=True):
                seen[int(index)] = (str(rel), str(why), result)
            bar.update(len(batch["index"]))
    for i, path in enumerate(files):
        rel, why, result = seen.get(i, (path.relative_to(root).as_posix(), LOST, None))
        if result is not None:
            report.results.append(result)
        else:
            report.skipped.append((rel, why))
            if i not in seen:
                bar.update(1)
    bar.close()
    report.seconds = time.perf_counter() - start
    return report


def quiet_ray_data() -> None:
    """Ray Data's notes on each run (its plan, that its bars are off) stay in its log file; its
    warnings still show."""
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)

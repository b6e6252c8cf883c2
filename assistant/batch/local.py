"""`classify DIR` on this machine: photos are decoded and resized in parallel threads while
the model works on the previous batch; a file that cannot be read is listed with the reason
and the run goes on."""
from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from assistant.batch.photos import Report, answer, decode, reason


def classify_files(classifier, files: list[Path], root: Path, batch_size: int = 32,
                   workers: int = 2, progress: bool = False, k: int = 3) -> Report:
    """Classify `files`; paths in the report are relative to root."""
    import numpy as np
    from tqdm import tqdm

    report = Report()
    size = classifier.preprocessing.size
    batch_size = max(1, batch_size)
    bar = tqdm(total=len(files), unit="photo", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, smoothing=0.1)
    start = time.perf_counter()

    def flush(items: list[tuple[str, np.ndarray]]) -> None:
        report.results.extend(answer(classifier, [rel for rel, _ in items], [a for _, a in items], k))
        bar.update(len(items))

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="decode") as pool:
        pending: list[tuple[str, np.ndarray]] = []
        for path, outcome in _prefetch(pool, files, size, ahead=batch_size * 2 + workers):
            rel = path.relative_to(root).as_posix()
            if isinstance(outcome, Exception):
                report.skipped.append((rel, reason(outcome, path)))
                bar.update(1)
                continue
            pending.append((rel, outcome))
            if len(pending) >= batch_size:
                flush(pending)
                pending = []
        if pending:
            flush(pending)
    bar.close()
    report.seconds = time.perf_counter() - start
    return report


def _prefetch(pool: ThreadPoolExecutor, files: list[Path], size: int, ahead: int) -> Iterator:
    """Decode in the pool, in order, keeping at most `ahead` photos in memory."""
    queue: deque[tuple[Path, Future]] = deque()
    it = iter(files)
    for path in it:
        queue.append((path, pool.submit(decode, path, size)))
        if len(queue) >= ahead:
            break
    while queue:
        path, future = queue.popleft()
        nxt = next(it, None)
        if nxt is not None:
            queue.append((nxt, pool.submit(decode, nxt, size)))
        yield path, future.result()

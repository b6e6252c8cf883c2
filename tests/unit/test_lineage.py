"""The CPU hours a model trained session by session has seen (model.lineage): the CPU time its
runs used where it was recorded, else the older record's wall time times its threads."""
from __future__ import annotations

import json

from model.lineage import epochs_table, run_hours, runs_table


def test_a_run_counts_the_cpu_time_it_used_not_its_wall_time_times_its_threads():
    shared = {"seconds": 7200.0, "threads": 2, "cpu_seconds": 5400.0}  # two threads, cores shared
    assert run_hours(shared) == 1.5
    assert run_hours({"seconds": 7200.0, "threads": 2}) == 4.0  # an older record: all it says


def test_the_tables_add_the_runs_cpu_hours(tmp_path):
    meta = {"training": {"lineage": {"runs": [
        {"epochs": 10, "seconds": 3600.0, "threads": 2},                         # 2 h as recorded then
        {"epochs": 5, "seconds": 3600.0, "threads": 2, "cpu_seconds": 1800.0,   # 0.5 h used
         "top1": {"test": 0.5, "val": 0.4}}]}}}
    assert runs_table(meta)[-1].startswith("| 2 | – | 15 | 2.50 | 50.0% | 40.0% |")
    path = tmp_path / "m.safetensors"
    path.with_suffix(".report").mkdir()
    (path.with_suffix(".report") / "history.json").write_text(json.dumps(
        [{"epoch": 1, "size": 112, "seconds": 1800.0, "cpu_seconds": 900.0, "val_acc": 0.3}]))
    assert epochs_table(path, meta)[-1] == "| 11 | 112 | 2.25 | 30.0% |"

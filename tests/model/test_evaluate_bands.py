"""`evaluate --json` reports the announcer's bands and the calibration error with the model's
own thresholds; `--calibrate` fits them on the given photos and stores them in the checkpoint."""
from __future__ import annotations

import json

from assistant.cli import main
from assistant.inference.checkpoint import read_metadata


def test_evaluate_reports_bands_and_calibrate_stores_them(tiny_checkpoint, photo_dir, capsys):
    assert main(["evaluate", "--data", str(photo_dir), "--model", str(tiny_checkpoint), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["temperature"] == 1.0 and plain["precision"] == "fp32"
    assert set(plain["bands"]) == {"say", "maybe", "silent"}
    assert abs(sum(b["coverage"] for b in plain["bands"].values()) - 1.0) < 1e-3
    assert 0.0 <= plain["ece"] <= 1.0

    assert main(["evaluate", "--data", str(photo_dir), "--model", str(tiny_checkpoint), "--json",
                 "--calibrate"]) == 0
    out = capsys.readouterr()
    fitted = json.loads(out.out)
    stored = read_metadata(tiny_checkpoint)["calibration"]
    assert "calibrated on 24 photos" in out.err
    assert stored["n"] == 24 and stored["photos"] == str(photo_dir)
    assert fitted["temperature"] == stored["temperature"] != 1.0
    assert fitted["thresholds"] == {"say": stored["say"], "maybe": stored["maybe"]}
    assert stored["ece_after"] <= stored["ece_before"] + 1e-9

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


def test_calibrate_with_mirror_averages_each_picture_and_its_mirror_image(tiny_checkpoint, photo_dir, capsys):
    """--mirror on: the model answers the average of a picture's logits and its mirror image's,
    and the calibration stored with it is fitted on those answers; it needs --calibrate."""
    import pytest
    import torch

    from assistant.inference.checkpoint import load_checkpoint
    from assistant.inference.classifier import Classifier
    with pytest.raises(SystemExit, match="--calibrate"):
        main(["evaluate", "--data", str(photo_dir), "--model", str(tiny_checkpoint), "--mirror", "on"])
    assert "mirror" not in read_metadata(tiny_checkpoint)["preprocessing"]
    plain = Classifier(tiny_checkpoint, device="cpu")
    assert main(["evaluate", "--data", str(photo_dir), "--model", str(tiny_checkpoint), "--json",
                 "--calibrate", "--mirror", "on"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert read_metadata(tiny_checkpoint)["preprocessing"]["mirror"] is True
    mirrored = Classifier(tiny_checkpoint, device="cpu")
    x = torch.randn(5, 3, 64, 64)
    both = (plain.logits(x) + plain.logits(x.flip(-1))) / 2
    torch.testing.assert_close(mirrored.logits(x), both, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(plain.logits(x), both, atol=1e-3)  # the mirror image counts
    # the stored temperature is the one of the mirrored answers
    from model.calibrate import fit_temperature
    from model.data import load_folder
    from model.evaluate import predict_logits
    photos = load_folder(str(photo_dir), size=64, classes=mirrored.class_ids, min_per_class=1)
    logits = predict_logits(mirrored.model, photos.images, mirrored.preprocessing, torch.device("cpu"))
    assert fitted["temperature"] == fit_temperature(logits.numpy(), photos.labels.numpy())
    assert main(["evaluate", "--data", str(photo_dir), "--model", str(tiny_checkpoint), "--json",
                 "--calibrate", "--mirror", "off"]) == 0
    assert not load_checkpoint(tiny_checkpoint).preprocessing.mirror

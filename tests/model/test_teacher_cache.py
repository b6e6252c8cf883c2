"""The cached teacher (model.teacher_cache): seeded views come back the same, the cache holds
what the teacher answers on exactly those views, building it resumes, and a distillation
resumed after a crash ends where an unbroken one ends."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from model.augment import POLICIES, render, seeded_views
from model.callbacks import TrainCallback
from model.teacher import Teacher
from model.teacher_cache import build_cache
from model.train import make_batch, train
from tests.model.test_train import CLASSES, Recorder, config

POLICY = POLICIES["strong"]


def pool(n: int = 6, size: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)


def test_the_same_seed_gives_the_same_view_in_any_batch_and_order():
    photos, views = torch.tensor([0, 1, 2, 1]), torch.tensor([0, 0, 3, 3])
    draws = seeded_views(7, photos, views)
    again = seeded_views(7, photos.flip(0), views.flip(0)).flip(0)
    assert torch.equal(draws, again)
    assert torch.equal(draws[3], seeded_views(7, torch.tensor([1]), torch.tensor([3]))[0])
    # another view, photo or seed is another view
    assert not torch.equal(draws[1], draws[3])
    assert not torch.equal(draws[0], draws[1])
    assert not torch.equal(draws, seeded_views(8, photos, views))
    images = pool()[photos]
    assert torch.equal(render(images, draws, POLICY, 32), render(images, again, POLICY, 32))


def test_a_cached_answer_is_the_teacher_on_that_very_view(trained_checkpoint, tmp_path):
    teacher = Teacher([str(trained_checkpoint)], CLASSES, torch.device("cpu"))
    images = pool()
    cache = build_cache(teacher, images, CLASSES, seed=5, views=3, policy=POLICY,
                        path=tmp_path / "answers.safetensors")
    assert cache.log_probs.shape == (6, 3, 3)
    for photo, view in [(0, 0), (4, 2), (5, 1)]:
        p, v = torch.tensor([photo]), torch.tensor([view])
        live = teacher.probabilities(render(images[p], seeded_views(5, p, v), POLICY, 64), 1.0)
        assert torch.allclose(cache.targets(p, v), live, atol=2e-3), (photo, view)
    # the views differ, and so do (some of) the answers: the cache is not one answer repeated
    assert not torch.equal(cache.log_probs[:, 0], cache.log_probs[:, 1])


class CancelAfter(TrainCallback):
    def __init__(self, steps: int) -> None:
        self.steps, self.left = [], steps

    def on_step(self, epoch, step, steps, loss):
        self.steps.append(step)

    def cancelled(self):
        return len(self.steps) >= self.left


def test_building_the_cache_resumes_where_it_stopped(trained_checkpoint, tmp_path):
    teacher = Teacher([str(trained_checkpoint)], CLASSES, torch.device("cpu"))
    images, path = pool(), tmp_path / "answers.safetensors"
    whole = build_cache(teacher, images, CLASSES, 5, 2, POLICY, tmp_path / "whole.safetensors",
                        batch=2)
    with pytest.raises(KeyboardInterrupt):
        build_cache(teacher, images, CLASSES, 5, 2, POLICY, path, CancelAfter(2), batch=2)
    assert json.loads(load_file_meta(path)["done"]) == [4, 0]  # view 0 of photos 0-3
    counted = CancelAfter(10 ** 6)
    resumed = build_cache(teacher, images, CLASSES, 5, 2, POLICY, path, counted, batch=2)
    assert counted.steps == [6, 8, 10, 12]  # (view, photo) pairs: the first 4 were not asked again
    assert torch.equal(resumed.log_probs, whole.log_probs)
    # another seed is another cache: never mistaken for this one
    other = build_cache(teacher, images, CLASSES, 6, 2, POLICY, path, batch=2)
    assert not torch.equal(other.log_probs, whole.log_probs)


def test_a_cache_grows_by_views_asking_only_the_new_ones(trained_checkpoint, tmp_path):
    teacher = Teacher([str(trained_checkpoint)], CLASSES, torch.device("cpu"))
    images, path = pool(), tmp_path / "answers.safetensors"
    at_once = build_cache(teacher, images, CLASSES, 5, 3, POLICY, tmp_path / "once.safetensors")
    two = build_cache(teacher, images, CLASSES, 5, 2, POLICY, path)
    assert torch.equal(two.log_probs, at_once.log_probs[:, :2])
    counted = CancelAfter(10 ** 6)
    three = build_cache(teacher, images, CLASSES, 5, 3, POLICY, path, counted)
    assert counted.steps == [18]  # one batch: view 2 of the 6 photos, nothing asked again
    assert torch.equal(three.log_probs, at_once.log_probs)
    # fewer views than kept are read from the same file, and the file keeps all three
    counted = CancelAfter(10 ** 6)
    assert torch.equal(build_cache(teacher, images, CLASSES, 5, 1, POLICY, path, counted).log_probs,
                       at_once.log_probs[:, :1])
    assert counted.steps == [] and json.loads(load_file_meta(path)["done"]) == [6, 6, 6]


def test_answers_kept_in_the_first_format_are_used(trained_checkpoint, tmp_path):
    from safetensors.torch import save_file
    teacher = Teacher([str(trained_checkpoint)], CLASSES, torch.device("cpu"))
    images = pool()
    whole = build_cache(teacher, images, CLASSES, 5, 3, POLICY, tmp_path / "whole.safetensors")
    folder = tmp_path / "cache"
    folder.mkdir()
    # an earlier version: one file of 2 views, complete, and one of 3 views, 4 photos done
    for views, done in [(2, 6), (3, 4)]:
        key = first_format_key(images, trained_checkpoint, 5, views)
        kept = whole.log_probs[:, :views].clone()
        kept[done:] = 0
        save_file({"log_probs": kept}, str(folder / f"old{views}.safetensors"),
                  metadata={"key": key, "done": str(done)})
    counted = CancelAfter(10 ** 6)
    cache = build_cache(teacher, images, CLASSES, 5, 3, POLICY, folder / "new.safetensors", counted)
    assert counted.steps == [18]  # only view 2 of photos 4-5 was asked
    assert torch.equal(cache.log_probs, whole.log_probs)


def first_format_key(images, checkpoint, seed, views):
    """The key the first format wrote, spelled out here (not by the code under test)."""
    import hashlib

    from assistant.inference.onnx_files import file_sha256
    h = hashlib.sha256()
    h.update(json.dumps({"format": 1, "classes": CLASSES, "seed": seed, "views": views,
                         "policy": POLICY.__dict__, "shape": list(images.shape),
                         "teachers": [file_sha256(checkpoint)]}, sort_keys=True).encode())
    h.update(images.contiguous().numpy().tobytes())
    return h.hexdigest()


def load_file_meta(path):
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        return f.metadata()


def test_mixing_two_views_mixes_their_cached_answers(trained_checkpoint, tmp_path):
    teacher = Teacher([str(trained_checkpoint)], CLASSES, torch.device("cpu"))
    images = pool()
    cache = build_cache(teacher, images, CLASSES, 5, 4, POLICY, tmp_path / "a.safetensors")
    cfg = config(tmp_path, tmp_path / "x.safetensors", mixup=1.0, cached_views=4, temperature=1.0)
    idx = torch.tensor([0, 2, 3, 5])
    gen = torch.Generator().manual_seed(11)
    view, perm, lam, target = make_batch(cfg, images, idx, 32, POLICY, gen, None, cache)
    # the same draws again, step by step, as make_batch makes them
    gen.manual_seed(11)
    views = torch.randint(4, (4,), generator=gen)
    alone = cache.targets(idx, views)
    assert 0 < lam < 1 and not torch.equal(perm, torch.arange(4))
    assert torch.allclose(target, lam * alone + (1 - lam) * alone[perm])
    assert view.shape == (4, 3, 32, 32)


def test_a_resumed_cached_distillation_equals_an_unbroken_one(photo_dir, tmp_path, trained_checkpoint,
                                                              monkeypatch):
    import model.train as train_module
    monkeypatch.setattr(train_module, "RESUME_EVERY_S", 0.0)  # a resumable state after every epoch
    # two epochs, broken after the first (was three, broken after the second: 6 epochs of
    # training in all, now 4; the resumed epoch still draws cached views and mixup after a break)
    common = dict(teacher=[str(trained_checkpoint)], cached_views=2, distill_weight=1.0, mixup=1.0,
                  epochs=2, augment="strong", select="last", device="cpu",
                  teacher_cache=str(tmp_path / "answers.safetensors"))
    monkeypatch.setattr(train_module, "Teacher", torch_teacher(Teacher))
    unbroken = train(config(photo_dir, tmp_path / "a.safetensors", **common), Recorder())
    out = tmp_path / "b.safetensors"
    with pytest.raises(KeyboardInterrupt):
        train(config(photo_dir, out, **common), Recorder(crash_after_epoch=1))
    rec = Recorder()
    resumed = train(config(photo_dir, out, resume=True, **common), rec)
    assert any("resumed from epoch 1" in m for m in rec.messages), rec.messages
    assert rec.epochs == [2]
    a, b = load_file(unbroken.out), load_file(resumed.out)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "the resumed run ended elsewhere"
    assert [r["epoch"] for r in resumed.history] == [1, 2]


def torch_teacher(cls):
    """The teacher as PyTorch runs it (the tiny test model needs no ONNX export)."""
    def make(paths, classes, device, backend="torch"):
        return cls(paths, classes, device, backend="torch")
    return make


def test_a_mirror_averaging_teacher_lends_each_answer_to_the_mirror_image(trained_checkpoint, tmp_path):
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    ckpt = load_checkpoint(trained_checkpoint)
    meta = dict(ckpt.meta, preprocessing=dict(ckpt.meta["preprocessing"], mirror=True))
    mirrored = save_checkpoint(tmp_path / "mirrored.safetensors", ckpt.state_dict, meta)
    plain = Teacher([str(trained_checkpoint)], CLASSES, torch.device("cpu"))
    teacher = Teacher([str(mirrored)], CLASSES, torch.device("cpu"))
    assert teacher.symmetric and not plain.symmetric
    images = pool()
    cache = build_cache(teacher, images, CLASSES, 5, 2, POLICY, tmp_path / "m.safetensors")
    assert cache.symmetric
    p, v = torch.tensor([1, 4]), torch.tensor([0, 1])
    view = cache.render(images[p], p, v, 64)
    assert torch.allclose(teacher.probabilities(view.flip(-1), 1.0), cache.targets(p, v), atol=2e-3)
    # the student sees both: some views of a batch come mirrored, their answers unchanged
    cfg = config(tmp_path, tmp_path / "x.safetensors", cached_views=2)
    idx = torch.arange(6)
    gen = torch.Generator().manual_seed(1)
    seen, _, _, target = make_batch(cfg, images, idx, 32, POLICY, gen, None, cache)
    gen.manual_seed(1)
    views = torch.randint(2, (6,), generator=gen)
    straight = cache.render(images[idx], idx, views, 32)
    mirrored_rows = [i for i in range(6) if torch.equal(seen[i], straight[i].flip(-1))]
    assert 0 < len(mirrored_rows) < 6, mirrored_rows
    assert torch.allclose(target, cache.targets(idx, views))

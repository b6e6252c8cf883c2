"""THE one preprocessing: crop, resize, normalise; odd files converted or refused clearly;
and the training and inference paths giving the very same tensor for the same photo."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from assistant.inference.vision import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MAX_DECODE_SIDE,
    ImageError,
    Preprocessing,
    fit_square,
    load_image,
)
from tests.helpers import make_photo

# --- crop, resize, normalise ------------------------------------------------------------------

def test_centre_square_crop_keeps_the_middle_of_a_wide_photo():
    # 100 x 300: red left third, green middle third, blue right third
    rgb = np.zeros((100, 300, 3), dtype=np.uint8)
    rgb[:, :100, 0] = 255
    rgb[:, 100:200, 1] = 255
    rgb[:, 200:, 2] = 255
    square = fit_square(rgb, 100)
    assert square.shape == (100, 100, 3)
    assert (square[..., 1] == 255).all() and square[..., [0, 2]].max() == 0


def test_centre_square_crop_keeps_the_middle_of_a_tall_photo():
    rgb = np.zeros((400, 200, 3), dtype=np.uint8)
    rgb[100:300] = 200          # the middle 200 rows are grey, top and bottom black
    out = fit_square(rgb, 50)
    assert out.shape == (50, 50, 3)
    assert (out == 200).all()


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (224, 224), (100, 90), (3000, 20)])
def test_resize_to_the_model_size(shape):
    rgb = np.random.default_rng(1).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    out = fit_square(rgb, 224)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8


def test_normalise_uses_imagenet_mean_and_std_by_default():
    rgb = np.full((50, 80, 3), (255, 128, 0), dtype=np.uint8)
    x = Preprocessing().tensor(rgb)
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    for channel, value in enumerate((255, 128, 0)):
        expected = (value / 255 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        assert torch.allclose(x[0, channel], torch.tensor(expected), atol=1e-5)


def test_normalise_uses_the_checkpoints_own_values():
    prep = Preprocessing(size=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 1.0))
    x = prep.tensor(np.full((40, 40, 3), 255, dtype=np.uint8))
    assert x.shape == (1, 3, 32, 32)
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([1.0, 2.0, 0.5]))


def test_batch_equals_one_by_one():
    prep = Preprocessing(size=64)
    pictures = [make_photo((200, 30, 30), size=s, seed=s) for s in (70, 96, 130)]
    batch = prep.batch(pictures)
    assert batch.shape == (3, 3, 64, 64)
    for i, picture in enumerate(pictures):
        assert torch.equal(batch[i:i + 1], prep.tensor(picture))


def test_preprocessing_round_trips_through_a_dict_and_refuses_nonsense():
    prep = Preprocessing(size=96, mean=(0.1, 0.2, 0.3), std=(0.4, 0.5, 0.6))
    assert Preprocessing.from_dict(prep.to_dict()) == prep
    with pytest.raises(ValueError):
        Preprocessing.from_dict({"size": 224})                        # no mean/std
    with pytest.raises(ValueError):
        Preprocessing.from_dict({**prep.to_dict(), "crop": "random"})
    with pytest.raises(ValueError):
        Preprocessing.from_dict({**prep.to_dict(), "mean": [0.5, 0.5]})


def test_fit_square_refuses_what_is_not_rgb():
    with pytest.raises(ImageError, match="RGB"):
        fit_square(np.zeros((10, 10), dtype=np.uint8), 8)


# --- training and inference see identical tensors ---------------------------------------------

@pytest.mark.parametrize("size", [224, 64])
def test_training_and_inference_paths_give_identical_tensors(photo_dir, size):
    """model.data.load_folder + predict_logits's preprocessing == Preprocessing.tensor(load_image)."""
    from model.augment import resize_eval
    from model.data import load_folder
    prep = Preprocessing(size=size)
    for attempt in ("decoded", "from the photo cache"):
        photos = load_folder(photo_dir, size=size)
        assert len(photos) == 24, attempt
        # exactly what model.evaluate.predict_logits feeds the network
        training = prep.normalize(resize_eval(photos.images, prep.size))
        for i, path in enumerate(photos.paths):
            inference = prep.tensor(load_image(path))
            assert torch.equal(training[i:i + 1], inference), f"{path} ({attempt})"


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("prep", [Preprocessing(size=224),
                                  Preprocessing(size=160, mean=(127 / 255,) * 3, std=(128 / 255,) * 3)],
                         ids=["imagenet-224", "lite-160"])
def test_the_runtimes_numpy_preprocessing_equals_the_training_tensor(prep, tmp_path):
    """The app runs without torch: Preprocessing.array (numpy) must give what training's torch
    path (model.data.load_folder + predict_logits's preprocessing) gives for the same real photo."""
    import shutil

    from model.augment import resize_eval
    from model.data import load_folder
    folder = tmp_path / "demo" / "products"
    folder.mkdir(parents=True)
    for photo in sorted((ROOT / "assets" / "demo").glob("*.jpg")):
        shutil.copy(photo, folder / photo.name)
    photos = load_folder(tmp_path / "demo", size=prep.size)
    assert len(photos) == 8
    training = prep.normalize(resize_eval(photos.images, prep.size)).numpy()
    runtime = prep.batch_array([load_image(p) for p in photos.paths])
    assert runtime.dtype == np.float32 and runtime.shape == training.shape
    assert np.abs(runtime - training).max() <= 1e-6
    for i, path in enumerate(photos.paths):
        assert np.array_equal(prep.array(load_image(path))[0], runtime[i]), path


def test_predict_logits_feeds_the_network_what_the_classifier_feeds_it(photo_dir, tiny_checkpoint):
    """Capture the network's input on both paths: model.evaluate and assistant.inference.classifier."""
    from assistant.inference.classifier import Classifier
    from model.data import load_folder
    from model.evaluate import predict_logits
    clf = Classifier(tiny_checkpoint, device="cpu")
    seen: list[torch.Tensor] = []
    handle = clf.model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].clone()))
    try:
        photos = load_folder(photo_dir, size=clf.preprocessing.size)
        predict_logits(clf.model, photos.images, clf.preprocessing, torch.device("cpu"))
        training_input = seen.pop()
        for i, path in enumerate(photos.paths[:5]):
            clf.predict(load_image(path))
            assert torch.equal(seen.pop(), training_input[i:i + 1]), path
    finally:
        handle.remove()


def test_bytes_and_file_decode_alike(tmp_path):
    path = tmp_path / "p.jpg"
    Image.fromarray(make_photo((10, 200, 90))).save(path, quality=90)
    assert np.array_equal(load_image(path), load_image(path.read_bytes()))


def test_decoded_photos_are_writable_arrays(tmp_path):
    """torch.from_numpy warns (and may misbehave) on read-only buffers: decoding hands out its own."""
    path = tmp_path / "p.png"
    Image.fromarray(make_photo((10, 200, 90))).save(path)
    for source in (path, path.read_bytes()):
        rgb = load_image(source)
        assert rgb.flags.writeable and rgb.flags.c_contiguous


# --- odd files: converted ---------------------------------------------------------------------

def save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = np.tile(np.arange(0, 250, 5, dtype=np.uint8), (30, 1))
    rgb = load_image(save(Image.fromarray(gray, "L"), tmp_path / "g.png"))
    assert rgb.shape == (30, 50, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == gray).all() and (rgb[..., 1] == gray).all() and (rgb[..., 2] == gray).all()


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    cyan = Image.new("CMYK", (40, 30), (255, 0, 0, 0))
    rgb = load_image(save(cyan, tmp_path / "c.jpg", quality=95))
    assert rgb.shape == (30, 40, 3)
    r, g, b = rgb.reshape(-1, 3).mean(axis=0)
    assert r < 30 and g > 220 and b > 220, (r, g, b)


def test_16_bit_grayscale_is_scaled_to_8_bits(tmp_path):
    ramp = np.linspace(1000, 60000, 64 * 16).reshape(16, 64).astype(np.uint16)
    img = Image.fromarray(ramp)
    assert img.mode.startswith("I")
    rgb = load_image(save(img, tmp_path / "deep.png"))
    assert rgb.shape == (16, 64, 3) and rgb.dtype == np.uint8
    assert rgb.min() == 0 and rgb.max() == 255          # the full range is used, not clipped
    assert (np.diff(rgb[0, :, 0].astype(int)) >= 0).all()  # and the order of shades kept


def test_palette_with_transparency_lies_on_white(tmp_path):
    img = Image.new("P", (20, 10))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    pixels = np.zeros((10, 20), dtype=np.uint8)
    pixels[:, 10:] = 1                       # left: index 0 (red, transparent); right: blue
    img.putdata(pixels.flatten().tolist())
    rgb = load_image(save(img, tmp_path / "pal.png", transparency=0))
    assert (rgb[:, :10] == 255).all(), "transparent pixels should become white"
    assert (rgb[:, 10:] == (0, 0, 255)).all()


def test_rgba_lies_on_white(tmp_path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[:, :4] = (0, 255, 0, 255)           # opaque green left, fully transparent right
    rgb = load_image(save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert (rgb[:, :4] == (0, 255, 0)).all() and (rgb[:, 4:] == 255).all()


def test_exif_rotation_is_applied(tmp_path):
    # stored landscape 60 x 40 with a red left edge; orientation 6 = shown turned 90 deg clockwise
    stored = np.full((40, 60, 3), 128, dtype=np.uint8)
    stored[:, :10] = (255, 0, 0)
    img = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb = load_image(save(img, tmp_path / "phone.jpg", exif=exif, quality=95))
    assert rgb.shape == (60, 40, 3), "portrait, as the phone showed it"
    top = rgb[:8].reshape(-1, 3).mean(axis=0)
    assert top[0] > 200 and top[1] < 60, f"the red edge should now be on top, got {top}"


def test_huge_photos_are_shrunk_while_decoding(tmp_path):
    big = np.random.default_rng(0).integers(0, 256, size=(3000, 4000, 3), dtype=np.uint8)
    rgb = load_image(save(Image.fromarray(big), tmp_path / "big.jpg", quality=80))
    assert max(rgb.shape[:2]) <= MAX_DECODE_SIDE
    assert abs(rgb.shape[1] / rgb.shape[0] - 4 / 3) < 0.02


# --- odd files: refused with a clear ImageError -----------------------------------------------

def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a decompression bomb needs no more)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [11_000, 30_000])  # just above the limit, and far above it
def test_decompression_bomb_is_refused(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(side, side))
    with pytest.raises(ImageError, match="too many pixels") as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file") as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_not_a_picture(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: milk, tea, tomato sauce\n" * 20)
    with pytest.raises(ImageError, match="not a picture") as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_truncated_jpeg(tmp_path):
    full = io.BytesIO()
    Image.fromarray(make_photo((200, 30, 30), size=200)).save(full, "JPEG", quality=95)
    path = tmp_path / "cut.jpg"
    path.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    with pytest.raises(ImageError, match="damaged") as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="cannot read"):
        load_image(tmp_path / "gone.jpg")


def test_an_empty_upload_is_named_upload():
    with pytest.raises(ImageError, match="upload: empty"):
        load_image(b"")


def test_image_errors_are_one_line_user_messages(tmp_path):
    """The CLI and the API turn ImageError into one line; it must say which file and why."""
    from assistant.errors import user_message
    path = tmp_path / "notes.png"
    path.write_text("no picture\nat all\n")
    with pytest.raises(ImageError) as err:
        load_image(path)
    message = user_message(err.value)
    assert message is not None and "\n" not in message and str(path) in message

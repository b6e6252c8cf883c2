"""The barcode part of the live pipeline (assistant.live.barcode_watch.SpokenBarcodes): codes in
view said first, by name or digit by digit, once per appearance and tagged with their own photo;
"identify now" names a taught code rather than the classifier's guess."""
from __future__ import annotations

from assistant.inference.checkpoint import load_checkpoint
from assistant.live.announcer import Announcer
from assistant.live.camera import PhotoFolderSource
from assistant.live.pipeline import Assistant
from assistant.live.settings import Settings
from assistant.live.speech import Priority, RecordingEngine, Speaker
from assistant.live.transcript import Transcript
from tests.unit.pipeline_fakes import FAST, ColourClassifier, run_to_end, textured


def test_barcodes_in_view_are_said_first_by_name_or_digits(tiny_checkpoint, tmp_path):
    """A taught code is said by its name at once (NOW, the priority of a user command), an
    unknown one digit by digit, each once while it stays in view; both are recorded. With
    barcodes off in the settings nothing is read."""
    from PIL import Image

    from assistant.bench.barcode_pictures import code_image, paste, shelf_photo
    from assistant.live.speech import Priority
    from assistant.store.barcodes import BarcodeBook
    folder = tmp_path / "codes"
    folder.mkdir()
    for name, code in (("1_taught.jpg", "7310865004703"), ("2_unknown.jpg", "5000112546415")):
        Image.fromarray(paste(shelf_photo(), code_image(code), width=0.6)).save(folder / name)
    book = BarcodeBook(tmp_path / "barcodes.json")
    book.add("7310865004703", "Garant organic milk", "Leche ecológica Garant")

    def run(**settings):
        engine = RecordingEngine()
        speaker = Speaker(engine)
        assistant = Assistant(ColourClassifier(load_checkpoint(tiny_checkpoint)),
                              PhotoFolderSource(folder, hold_seconds=1.5, fps=10), speaker,
                              Announcer(FAST), Settings(**settings), barcode_names=book.get,
                              say_ready=False)
        run_to_end(assistant, speaker)
        speaker.close()
        return assistant, engine

    assistant, engine = run()
    said = [(text, prio) for text, _, prio in engine.spoken]
    assert ("Garant organic milk", Priority.NOW) in said
    unknown = "Barcode 5 0 0 0 1 1 2 5 4 6 4 1 5, not in your list."
    assert (unknown, Priority.NOW) in said
    assert [t for t, _ in said].count("Garant organic milk") == 1  # once while in view
    records = [(i, w) for _, i, w in assistant.history if i.startswith("barcode")]
    assert records == [("barcode", "Garant organic milk"), ("barcode_unknown", unknown)]
    assert assistant.barcodes is not None and assistant.barcodes.frames_read > 3
    quiet, engine = run(barcodes=False)
    assert quiet.barcodes is None
    assert not any(i.startswith("barcode") for _, i, _ in quiet.history)


def test_an_unknown_barcode_is_said_once_tagged_with_its_own_photo(tiny_checkpoint, tmp_path):
    """Trial item 5: with recognition slower than the barcode reader, the code of a new photo
    was said before the classifier reached that photo (tagged with the previous one), and
    again when it did."""
    from PIL import Image

    from assistant.bench.barcode_pictures import code_image, paste, shelf_photo
    folder = tmp_path / "codes"
    folder.mkdir()
    Image.fromarray(textured("red")).save(folder / "1_plain.png")
    Image.fromarray(paste(shelf_photo(), code_image("5000112546415"), width=0.6)).save(
        folder / "2_unknown.jpg")
    speaker = Speaker(RecordingEngine())
    transcript = Transcript(tmp_path / "said.tsv")
    source = PhotoFolderSource(folder, hold_seconds=1.5, fps=10)
    assistant = Assistant(ColourClassifier(load_checkpoint(tiny_checkpoint), delay=0.4), source,
                          speaker, Announcer(FAST), Settings(), transcript=transcript,
                          say_ready=False)
    run_to_end(assistant, speaker, timeout=60)
    transcript.close()
    speaker.close()
    rows = [line.split("\t") for line in (tmp_path / "said.tsv").read_text().splitlines()]
    assert [(row[1], row[2]) for row in rows if row[2].startswith("barcode")] == \
        [("2_unknown.jpg", "barcode_unknown")]


def test_identify_now_with_a_taught_barcode_in_view_says_its_name(tiny_checkpoint, tmp_path):
    """Trial item 7: F5 said the classifier's guess of a kind ("Maybe candy") while a taught
    barcode was in view; the exact product's name is the answer."""
    from PIL import Image

    from assistant.bench.barcode_pictures import code_image, paste, shelf_photo
    from assistant.store.barcodes import BarcodeBook
    folder = tmp_path / "codes"
    folder.mkdir()
    Image.fromarray(paste(shelf_photo(), code_image("7310865004703"), width=0.6)).save(
        folder / "taught.jpg")
    book = BarcodeBook(tmp_path / "barcodes.json")
    book.add("7310865004703", "Garant organic milk", "Leche ecológica Garant")
    engine = RecordingEngine()
    speaker = Speaker(engine)
    assistant = Assistant(ColourClassifier(load_checkpoint(tiny_checkpoint)),
                          PhotoFolderSource(folder, hold_seconds=60, fps=10), speaker,
                          Announcer(FAST), Settings(continuous=False), barcode_names=book.get,
                          say_ready=False)
    assistant.start()
    try:
        assert engine.wait_for(1, timeout=30) and engine.texts == ["Garant organic milk"]
        assistant.identify_now()
        assert engine.wait_for(2, timeout=30)
        assert engine.spoken[1] == ("Garant organic milk", "en", Priority.NOW)
    finally:
        assistant.stop()
        speaker.close()

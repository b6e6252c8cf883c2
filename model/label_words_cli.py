"""`python main.py models words [PRODUCT] [--set WORD ...] [--model FILE]`: see and edit a
model's label words (the words printed on each product's packs that the read key and
recognition match), learnt by `retrain --label-words N`; an edit rewrites the model's
metadata atomically, same weights."""
from __future__ import annotations

import sys
from pathlib import Path

from assistant.reading.labels import ranked, tokens


def run_words(product: str | None, new_words: list[str] | None, model: str | None) -> int:
    from assistant.inference.checkpoint import read_metadata
    from assistant.store.models import active_model_path, bundled_dir
    path = Path(model) if model else active_model_path()
    meta = read_metadata(path)
    ids = [c["id"] for c in meta.get("classes", [])]
    words = meta.get("label_words") or {}
    if product is None:
        for pid in ids:
            print(f"{pid}: {_shown(words.get(pid))}")
        return 0
    if product not in ids:
        print(f"models words: {path.name} has no product {product!r} (`models words` lists them)",
              file=sys.stderr)
        return 2
    if new_words is None:
        print(f"{product}: {_shown(words.get(product))}")
        return 0
    if path.resolve().parent == bundled_dir().resolve():
        print("models words: the bundled model is not changed; retrain with --label-words N and "
              "edit the new model's words", file=sys.stderr)
        return 2
    kept = _checked(new_words)
    if kept is None:
        return 2
    old = words.get(product) or {}
    # words kept keep their learnt weight; a word the maintainer adds counts as the strongest
    strongest = max(old.values(), default=1.0)
    new = {w: old.get(w, strongest) for w in kept}
    _save(path, {**words, product: new})
    print(f"{product}: {_shown(new)}  (saved in {path})")
    return 0


def _checked(given: list[str]) -> list[str] | None:
    """The words as matching sees them (folded, letters only), or None after a one-line
    message when one of them could never be matched."""
    out: list[str] = []
    for word in given:
        found = sorted(tokens([word]))
        if len(found) != 1:
            print(f"models words: {word!r} cannot be matched: a label word is one word of three "
                  "letters or more (nothing was changed)", file=sys.stderr)
            return None
        if found[0] not in out:
            out.append(found[0])
    return out


def _save(path: Path, label_words: dict) -> None:
    from assistant.inference.checkpoint import load_checkpoint, save_checkpoint
    ckpt = load_checkpoint(path)
    meta = dict(ckpt.meta, label_words=label_words)
    meta.pop("weights_sha256", None)
    save_checkpoint(path, ckpt.state_dict, meta, half=False)


def _shown(words: dict | None) -> str:
    if not words:
        return "(no label words)"
    return ", ".join(ranked(words))

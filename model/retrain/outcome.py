"""A retrain's outcome as the app reads it: the comparison with the model in use and the
report's sentences, with no torch (the window reads report.json from the training child)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from assistant.catalog import phrase


@dataclass
class Comparison:
    verdict: str                  # better | same | worse | unknown
    current_top1: float | None    # the model in use, on the held-out photos of shared products
    new_top1: float | None        # the new model, on the same photos
    n: int                        # how many photos that comparison rests on
    note: str = ""
    # wrong answers each model would say as sure (its calibrated say band) on those photos
    sure_wrong_current: int | None = None
    sure_wrong_new: int | None = None
    # photos right only with the model in use / only with the new one; how it was compared
    only_current: int | None = None
    only_new: int | None = None
    more_sure_wrong: bool = False
    basis: str = "none"           # shared (the same photos) | recorded (other photos) | none

    @property
    def worse(self) -> bool:
        return self.verdict == "worse"

    def lines(self, language: str = "en") -> list[str]:
        """How the comparison was made and what it counted, in the language asked (note holds
        the English of it, for the records)."""
        if self.basis == "shared":
            lines = [phrase("report_only", language, current=self.only_current, new=self.only_new),
                     phrase("report_sure_wrong", language, current=self.sure_wrong_current,
                            new=self.sure_wrong_new)]
            return lines + ([phrase("report_more_sure_wrong", language)] if self.more_sure_wrong else [])
        if self.basis == "recorded":
            return [phrase("report_no_common", language)]
        return [phrase("report_not_compared", language)] if self.verdict == "unknown" else []


@dataclass
class RetrainReport:
    mode: str
    classes: list[str]
    names: list[str]
    new: list[str]
    replaced: list[str]
    heldout: dict
    comparison: Comparison
    lookalikes: list[dict]
    train_photos: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    old_checked: bool = True
    heldout_photos: list[tuple[str, str]] = field(default_factory=list)  # (photo, product)
    old_heldout_unseen: bool = True
    seconds: float = 0.0
    bands: dict | None = None     # the new model's calibrated bands on the held-out photos
    folder: Path | None = None
    confusion_picture: Path | None = None
    #: the products' spoken names in every language (names is the English list)
    spoken: dict[str, list[str]] = field(default_factory=dict)
    #: products all of whose photos are one burst: checked on twins of their training photos
    twins_only: list[str] = field(default_factory=list)
    #: held-out photos the saved model learnt from after the check (model/retrain/refit.py)
    refit: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["folder"] = str(self.folder) if self.folder else None
        d["confusion_picture"] = str(self.confusion_picture) if self.confusion_picture else None
        return d

    def spoken_names(self, language: str) -> list[str]:
        return self.spoken.get(language) or self.names

    def summary_lines(self, language: str = "en") -> list[str]:
        """The report as sentences in the language asked (the one catalogue's words), for the
        terminal, the dialog and speech."""
        def say(key: str, **fields) -> str:
            return phrase(key, language, **fields)

        h = self.heldout
        lines = []
        if h.get("n"):
            lines.append(say("report_heldout", top1=f"{h['top1']:.1%}", n=h["n"], top3=f"{h['top3']:.1%}"))
            if "independent" in h:
                lines.append(say("report_independent", n=h["n"], bursts=h["independent"],
                                 low=f"{h['top1_low']:.0%}", high=f"{h['top1_high']:.0%}"))
            if h.get("taught"):
                tf = h["taught"]
                lines.append(say("report_taught", top1=f"{tf['top1']:.1%}", n=tf["n"], bursts=tf["independent"],
                                 low=f"{tf['top1_low']:.0%}", high=f"{tf['top1_high']:.0%}"))
            if self.refit:
                lines.append(say("report_refit", n=self.refit))
        else:
            lines.append(say("report_no_heldout"))
        if self.twins_only:
            spoken = dict(zip(self.classes, self.spoken_names(language), strict=False))
            products = ", ".join(spoken.get(c, c) for c in self.twins_only)
            if h.get("twins"):  # left out of the figures (report.measured)
                lines.append(say("report_twins_apart", products=products, n=h["twins"]["n"],
                                 top1=f"{h['twins']['top1']:.0%}"))
            else:
                lines.append(say("report_one_burst", products=products))
        b = self.bands
        if b and b.get("say", {}).get("n"):
            maybe = b["maybe"]
            lines.append(say("report_bands", say=f"{b['say']['coverage']:.0%}",
                             say_right=f"{b['say']['right']:.1%}", maybe=f"{maybe['coverage']:.0%}",
                             maybe_right=say("report_maybe_right", right=f"{maybe['right']:.0%}")
                             if maybe["n"] else "", silent=f"{b['silent']['coverage']:.0%}"))
            if "lower" in b["say"]:
                lines.append(say("report_sure_bound", low=f"{b['say']['lower']:.0%}",
                                 n=b["say"]["independent"]))
        elif b:
            lines.append(say("report_never_sure"))
        c = self.comparison
        if c.verdict in ("better", "same", "worse"):
            word = say(f"report_word_{c.verdict}")
            key = "report_compare" if c.n else "report_compare_recorded"
            lines.append(say(key, n=c.n, new=f"{c.new_top1:.1%}", current=f"{c.current_top1:.1%}", word=word))
        lines += c.lines(language)
        if self.old_checked and not self.old_heldout_unseen:
            lines.append(say("report_optimistic"))
        if not self.old_checked:
            lines.append(say("report_unchecked"))
        lines += self.lookalike_sentences(language)
        if self.skipped:
            lines.append(say("report_skipped", n=len(self.skipped)))
        return lines

    def lookalike_sentences(self, language: str = "en") -> list[str]:
        """'Oil is taken for vinegar 22% of the time.', in the language asked."""
        names = dict(zip(self.classes, self.spoken_names(language), strict=False))
        out = []
        for p in self.lookalikes:
            words = phrase("report_lookalike", language, a=names.get(p["truth"], p["truth"]),
                           b=names.get(p["taken_for"], p["taken_for"]), rate=f"{p['rate']:.0%}")
            out.append(words[:1].upper() + words[1:])
        return out

    def per_product_lines(self, language: str = "en") -> list[str]:
        """Worst first: '  40.0%  olive oil (5 photos)'."""
        per = self.heldout.get("per_class", {})
        counts = self.heldout.get("counts", {})
        index = {c: i for i, c in enumerate(self.classes)}
        names = self.spoken_names(language)
        return [phrase("report_product", language, acc=f"{acc:6.1%}", name=names[index[c]],
                       n=counts.get(c, 0))
                for c, acc in sorted(per.items(), key=lambda kv: (kv[1], kv[0]))]

    @classmethod
    def from_dict(cls, d: dict) -> RetrainReport:
        """The report as to_dict() wrote it (report.json)."""
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        d["comparison"] = Comparison(**d["comparison"])
        d["skipped"] = [tuple(s) for s in d.get("skipped", [])]
        d["heldout_photos"] = [tuple(s) for s in d.get("heldout_photos", [])]
        for key in ("folder", "confusion_picture"):
            d[key] = Path(d[key]) if d.get(key) else None
        return cls(**d)


def read_report(folder: str | Path) -> RetrainReport:
    """<model>.report/report.json, read back."""
    path = Path(folder) / "report.json"
    return RetrainReport.from_dict(json.loads(path.read_text(encoding="utf-8")))

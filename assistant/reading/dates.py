"""Best-before, use-by and expiry dates in what was read, and how they are said.

Formats: 20.12.2026, 20/12/26, 20-12-2026, 2026-12-20, 20 DEC 2026, 12/2027, DEC 2027 and,
after a date word, 12/27; the date words of English, Spanish and Swedish packs (and the common
German ones) tell the kind. Day before month, as printed in Europe; a day-month pair that only
reads as month-day (12/20/26) is taken that way.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from assistant.catalog import phrase

#: kind -> the words that announce it (lower case, accents as printed); longest first matters
#: only inside one kind, so "consumir preferentemente" is found before "consumir"
MARKERS: dict[str, tuple[str, ...]] = {
    "best_before": ("best before end", "best before", "best by", "bbe", "bb",
                    "consumir preferentemente antes del", "consumir preferentemente antes de",
                    "consumir preferentemente", "consumo preferente",
                    "bäst före", "bast fore", "bäst fore", "bast före",
                    "mindestens haltbar bis", "mhd", "à consommer de préférence avant"),
    "use_by": ("use by", "consumir antes del", "consumir antes de", "sista förbrukningsdag",
               "sista forbrukningsdag", "zu verbrauchen bis", "à consommer jusqu"),
    "expiry": ("expiry date", "expiry", "expires", "exp", "fecha de caducidad", "caducidad",
               "cad", "vto", "vence"),
}
#: month names and abbreviations as printed (English, Spanish, Swedish, German) -> month
_MONTH_WORDS = {
    1: "jan january ene enero januari januar", 2: "feb february febrero februari februar",
    3: "mar march marzo mars märz marz", 4: "apr april abr abril",
    5: "may mayo maj mai", 6: "jun june junio juni", 7: "jul july julio juli",
    8: "aug august ago agosto augusti", 9: "sep sept september septiembre setiembre",
    10: "oct october octubre okt oktober", 11: "nov november noviembre",
    12: "dec december dic diciembre dez dezember",
}


def _misread(word: str) -> set[str]:
    """The word as the engine may misread it: i as l or 1, o as 0 ("DlC" for "DIC")."""
    forms = {word}
    for letter, looks in (("i", "l1"), ("o", "0")):
        forms |= {f.replace(letter, other) for f in forms for other in looks}
    return forms


MONTHS = {form: month for month, words in _MONTH_WORDS.items() for word in words.split()
          for form in _misread(word)}
_MON = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_SEP = r"\s?[./\-]\s?"
_PATTERNS = (  # (name, regex); tried in this order, a span once taken is not read again
    ("ymd", rf"(?<!\d)(?P<y>20\d\d){_SEP}(?P<m>\d{{1,2}}){_SEP}(?P<d>\d{{1,2}})(?!\d)"),
    ("dmy", rf"(?<!\d)(?P<d>\d{{1,2}}){_SEP}(?P<m>\d{{1,2}}){_SEP}(?P<y>\d{{4}}|\d{{2}})(?![\d%])"),
    ("dMy", rf"(?<!\d)(?P<d>\d{{1,2}})\s?[./\-]?\s?(?P<mon>{_MON})\.?\s?[./\-]?\s?(?P<y>\d{{4}}|\d{{2}})(?!\d)"),
    ("My", rf"(?<![a-zà-ÿ])(?P<mon>{_MON})\.?\s?[./\-]?\s?(?P<y>20\d\d|\d{{2}})(?!\d)"),
    ("my", rf"(?<![\d.,])(?P<m>\d{{1,2}}){_SEP}(?P<y>20\d\d)(?!\d)"),
    ("my2", r"(?<![\d.,])(?P<m>\d{1,2})\s?[/\-]\s?(?P<y>\d{2})(?![\d%])"),  # needs a date word
)
#: how far before a date (characters) its date word may stand; lines are joined with " | "
MARKER_REACH = 48


@dataclass(frozen=True)
class FoundDate:
    """A date read on a pack: the words as read, the date (YYYY-MM-DD, or YYYY-MM for a month)
    and its kind (best_before, use_by, expiry, or date when no date word stood before it)."""

    text: str
    date: str
    kind: str

    @property
    def has_day(self) -> bool:
        return len(self.date) == 10

    def last_day(self) -> dt.date:
        """The last day the date covers (a month-only date runs to the month's end)."""
        year, month = int(self.date[:4]), int(self.date[5:7])
        day = int(self.date[8:10]) if self.has_day else calendar.monthrange(year, month)[1]
        return dt.date(year, month, day)

    def passed(self, today: dt.date | None = None) -> bool:
        return self.last_day() < (today or dt.date.today())

    def to_dict(self) -> dict:
        return {"text": self.text, "date": self.date, "kind": self.kind}


def find_dates(lines: list[str]) -> list[FoundDate]:
    """Every date in the lines read (in order of appearance, each date once)."""
    text = " | ".join(lines)
    low = text.lower()
    spans: list[tuple[re.Match, str]] = []
    for name, pattern in _PATTERNS:
        for match in re.finditer(pattern, low):
            if not any(m.start() < match.end() and match.start() < m.end() for m, _ in spans):
                spans.append((match, name))
    out: list[FoundDate] = []
    previous_end = 0
    for match, name in sorted(spans, key=lambda pair: pair[0].start()):
        # a date word belongs to the first date after it, not to a later one
        kind, start = _marker_before(low, max(previous_end, match.start() - MARKER_REACH),
                                     match.start())
        previous_end = match.end()
        if kind == "date" and (name == "my2" or name == "My" and len(match["y"]) == 2):
            continue  # "12/27" or "jun 12" alone may be anything; after "EXP", a month
        date = _date_of(name, match)
        if date is None or any(d.date == date for d in out):
            continue
        words = text[start if start is not None else match.start():match.end()]
        out.append(FoundDate(words.replace(" | ", " ").strip(), date, kind))
    return out


def _marker_before(low: str, window_start: int, at: int) -> tuple[str, int | None]:
    """The kind of the nearest date word between window_start and at, and where it starts;
    ("date", None) when there is none."""
    best: tuple[int, str, int] | None = None
    for kind, words in MARKERS.items():
        for word in words:
            # the engine often drops the spaces: "Consumopreferente12DIC"
            spaced = r"\s*".join(map(re.escape, word.split()))
            pattern = rf"(?<![a-zà-ÿ]){spaced}(?![a-zà-ÿ])"
            for match in re.finditer(pattern, low[window_start:at]):
                end = window_start + match.end()
                start = window_start + match.start()
                if best is None or end > best[0] or (end == best[0] and start < best[2]):
                    best = (end, kind, start)
    if best is None:
        return "date", None
    return best[1], best[2]


def _date_of(name: str, match: re.Match) -> str | None:
    """YYYY-MM-DD or YYYY-MM for a match, or None when it is no calendar date."""
    parts = match.groupdict()
    year = int(parts["y"])
    year = year + 2000 if year < 100 else year
    month = MONTHS[parts["mon"]] if parts.get("mon") else int(parts["m"])
    if not 2000 <= year <= 2099:
        return None
    if parts.get("d") is None:
        return f"{year:04d}-{month:02d}" if 1 <= month <= 12 else None
    day = int(parts["d"])
    if name == "dmy" and month > 12 and day <= 12:
        day, month = month, day  # 12/20/26: only month-day makes it a date
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def date_words(found: FoundDate, language: str) -> str:
    """The date as said in language: '20 December 2026', '20 de diciembre de 2026'."""
    year, month = int(found.date[:4]), int(found.date[5:7])
    month_name = phrase("month_names", language).split()[month - 1]
    if found.has_day:
        return phrase("date_day", language, day=int(found.date[8:10]), month=month_name, year=year)
    return phrase("date_month", language, month=month_name, year=year)


def say_date(found: FoundDate, language: str, today: dt.date | None = None) -> str:
    """The sentence for one date: 'Best before 20 December 2026.', and 'That date has passed.'
    when it has."""
    form = "day" if found.has_day else "month"
    words = phrase(f"date_{found.kind}_{form}", language, date=date_words(found, language))
    if found.passed(today):
        words = f"{words} {phrase('date_passed', language)}"
    return words

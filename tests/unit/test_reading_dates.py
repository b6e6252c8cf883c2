"""Dates read on packs: every printed format, the date words of both languages (and Swedish
packs), said in English and Spanish, "that date has passed", and nonsense left alone."""
from __future__ import annotations

import datetime as dt

import pytest

from assistant.reading.dates import FoundDate, date_words, find_dates, say_date

TODAY = dt.date(2026, 6, 1)


@pytest.mark.parametrize(("line", "date"), [
    ("20.12.2026", "2026-12-20"),
    ("20/12/26", "2026-12-20"),
    ("20-12-2026", "2026-12-20"),
    ("2026-12-20", "2026-12-20"),
    ("2026.12.20", "2026-12-20"),
    ("20 DEC 2026", "2026-12-20"),
    ("20DIC2026", "2026-12-20"),
    ("20 dic. 26", "2026-12-20"),
    ("12/2027", "2027-12"),
    ("12.2027", "2027-12"),
    ("DEC 2027", "2027-12"),
    ("diciembre 2027", "2027-12"),
    ("3.7.27", "2027-07-03"),
    ("12/20/26", "2026-12-20"),  # only month-day makes it a date
])
def test_each_format(line, date):
    assert [d.date for d in find_dates([line])] == [date]


@pytest.mark.parametrize(("line", "kind"), [
    ("Best before 20.12.2026", "best_before"),
    ("BEST BEFORE END 12/2027", "best_before"),
    ("Consumir preferentemente antes del 20/12/26", "best_before"),
    ("Bäst före 2026-12-20", "best_before"),
    ("BAST FORE 20.12.26", "best_before"),
    ("Use by 20.12.2026", "use_by"),
    ("Consumir antes del: 20.12.2026", "use_by"),
    ("EXP 20/12/2026", "expiry"),
    ("Caducidad 20-12-2026", "expiry"),
    ("Fecha de caducidad: 20.12.2026", "expiry"),
    ("LOT 4471 20.12.2026", "date"),
])
def test_date_words_tell_the_kind(line, kind):
    (found,) = find_dates([line])
    assert (found.kind, found.date) == (kind, "2026-12-20" if "12/2027" not in line else "2027-12")


@pytest.mark.parametrize(("line", "date", "kind"), [
    ("Consumopreferente12DlC2026", "2026-12-12", "best_before"),
    ("BESTBEFORE 20.12.2026", "2026-12-20", "best_before"),
    ("EXP 0CT 2027", "2027-10", "expiry"),
    ("Caducidad 3 N0V 2027", "2027-11-03", "expiry"),
])
def test_what_the_engine_misreads_is_still_a_date(line, date, kind):
    (found,) = find_dates([line])
    assert (found.date, found.kind) == (date, kind)


def test_the_date_word_on_the_line_before_counts():
    (found,) = find_dates(["Arla Mjölk", "Bäst före", "20.12.26"])
    assert found.kind == "best_before" and found.date == "2026-12-20"
    assert found.text == "Bäst före 20.12.26"


def test_a_month_and_short_year_needs_a_date_word():
    assert find_dates(["12/27"]) == []          # a price, a fraction, a page: not a date
    assert [d.date for d in find_dates(["EXP 12/27"])] == ["2027-12"]
    assert find_dates(["JUN 12"]) == []
    assert [d.date for d in find_dates(["EXP JUN 27"])] == ["2027-06"]


@pytest.mark.parametrize("line", [
    "99.99.9999", "32.12.2026", "31.02.2026", "20.13.2026", "1.5%", "18.50", "2.1%",
    "835012110500087", "13/2027", "ORIGINAL 1850", "20.12.1999", "Tel 020-12 20 26",
    "lorem ipsum", "3.0%.. 3.0 1350", "",
])
def test_nonsense_is_no_date(line):
    assert find_dates([line]) == []


def test_two_dates_each_once_in_order():
    found = find_dates(["EXP 01.02.2027", "packed 20.12.2026", "EXP 01.02.2027"])
    assert [(d.date, d.kind) for d in found] == [("2027-02-01", "expiry"), ("2026-12-20", "date")]


@pytest.mark.parametrize(("kind", "date", "language", "words"), [
    ("best_before", "2026-12-20", "en", "Best before 20 December 2026."),
    ("best_before", "2026-12-20", "es", "Consumir preferentemente antes del 20 de diciembre de 2026."),
    ("use_by", "2026-12-20", "en", "Use by 20 December 2026."),
    ("use_by", "2026-12-20", "es", "Consumir antes del 20 de diciembre de 2026."),
    ("expiry", "2027-01-05", "en", "Expires 5 January 2027."),
    ("expiry", "2027-01-05", "es", "Caduca el 5 de enero de 2027."),
    ("best_before", "2027-12", "en", "Best before end of December 2027."),
    ("best_before", "2027-12", "es", "Consumir preferentemente antes del fin de diciembre de 2027."),
    ("date", "2026-07-01", "en", "Date 1 July 2026."),
    ("date", "2026-07-01", "es", "Fecha 1 de julio de 2026."),
])
def test_said_as_a_date_in_the_language(kind, date, language, words):
    assert say_date(FoundDate("x", date, kind), language, TODAY) == words


@pytest.mark.parametrize(("date", "passed"), [
    ("2026-05-31", True), ("2026-06-01", False), ("2026-06-02", False),
    ("2026-05", True), ("2026-06", False),  # a month runs to its last day
    ("2025-12-24", True),
])
def test_a_date_in_the_past_is_said_to_have_passed(date, passed):
    found = FoundDate("x", date, "best_before")
    assert found.passed(TODAY) is passed
    en, es = say_date(found, "en", TODAY), say_date(found, "es", TODAY)
    assert en.endswith("That date has passed.") is passed
    assert es.endswith("Esa fecha ya ha pasado.") is passed


def test_today_defaults_to_the_real_day():
    assert FoundDate("x", "2001-01-01", "expiry").passed()
    assert not FoundDate("x", "2099-12-31", "expiry").passed()


def test_date_words_from_a_parsed_line_in_both_languages():
    (found,) = find_dates(["Consumir preferentemente antes del 03/02/27"])
    assert date_words(found, "es") == "3 de febrero de 2027"
    assert date_words(found, "en") == "3 February 2027"

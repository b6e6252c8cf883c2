"""The fault matrix (`pytest -m fault --fault-matrix`, tests/plugins/fault_matrix.py): one row per case marked
fault, with what it expects, what was observed and whether it held."""
from __future__ import annotations

from _pytest.reports import TestReport

from tests.helpers import run_python
from tests.plugins.fault_matrix import fault_row

EXPECTED = [("expected", "the link goes, the photos stay")]


def report(outcome: str, when: str = "call", longrepr=None, props=EXPECTED) -> TestReport:
    return TestReport("tests/unit/test_x.py::test_a_link_is_removed", ("test_x.py", 1, "x"), {},
                      outcome, longrepr, when, user_properties=props)


def test_each_outcome_of_a_fault_case_makes_its_row():
    assert fault_row(report("passed")) == {"case": "a link is removed",
                                           "expected": "the link goes, the photos stay",
                                           "observed": "as expected", "held": "yes"}
    failed = fault_row(report("failed", longrepr="AssertionError: the photos went\nmore"))
    assert failed["held"] == "NO" and failed["observed"] == "call failed: AssertionError: the photos went"
    skipped = fault_row(report("skipped", "setup", ("test_x.py", 1, "Skipped: no symlinks here")))
    assert skipped["held"] == "skipped" and skipped["observed"] == "skipped: no symlinks here"
    assert fault_row(report("passed", "setup")) is None       # only the call says it held
    assert fault_row(report("failed", "teardown", "OSError: busy"))["held"] == "NO"
    assert fault_row(report("passed", props=[])) is None      # not a case of the matrix


def test_a_run_of_fault_cases_prints_the_matrix():
    done = run_python("-m", "pytest", "-m", "fault", "--fault-matrix", "-q", "-p", "no:cacheprovider",
                      "tests/unit/test_library.py", timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "| case | expected | observed | held |" in done.stdout
    assert ("| a product folder that is a symlink can be removed | a product folder that is a "
            "symlink is removed: the link goes, the product does not come back, the photos it "
            "pointed to stay | as expected | yes |") in done.stdout
    assert "1 cases, 1 held, 0 did not" in done.stdout

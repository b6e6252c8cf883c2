"""The fault matrix: `pytest -m fault --fault-matrix` runs every case marked fault (hostile model
files, a damaged home, broken speech, greedy or foreign HTTP clients) and prints one row per case:
what it is, what is expected, what was observed, and whether it held."""
from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption("--fault-matrix", action="store_true",
                     help="after the run, print a row per case marked fault (run with -m fault): "
                          "expected, observed, held")


def pytest_itemcollected(item):
    """A fault-matrix case carries what it expects into its reports (a skipped one too)."""
    marker = item.get_closest_marker("fault")
    if marker is not None and marker.args:
        item.user_properties.append(("expected", marker.args[0]))


def fault_row(report) -> dict | None:
    """The matrix row of one phase's report of a fault case, or None (another test, or a phase
    that says nothing: a passed set-up or tear-down)."""
    expected = dict(report.user_properties).get("expected")
    if expected is None or (report.passed and report.when != "call"):
        return None
    case = report.nodeid.rpartition("::")[2].removeprefix("test_").replace("_", " ")
    if report.passed:
        observed, held = "as expected", "yes"
    elif report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        observed, held = f"skipped: {reason.removeprefix('Skipped: ')[:120]}", "skipped"
    else:
        crash = getattr(report.longrepr, "reprcrash", None)  # absent in a plain-text longrepr
        first = (crash.message if crash is not None else str(report.longrepr)).strip().splitlines()
        observed, held = f"{report.when} failed: {first[0][:120] if first else ''}", "NO"
    return {"case": case, "expected": expected, "observed": observed, "held": held}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not config.getoption("--fault-matrix"):
        return
    rows = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            row = fault_row(report) if hasattr(report, "user_properties") else None
            if row is not None and rows.get(report.nodeid, {}).get("held") != "NO":
                rows[report.nodeid] = row  # a failed phase outweighs a passed call
    terminalreporter.write_sep("=", "fault matrix")
    terminalreporter.write_line("| case | expected | observed | held |")
    terminalreporter.write_line("| --- | --- | --- | --- |")
    for r in rows.values():
        terminalreporter.write_line(f"| {r['case']} | {r['expected']} | {r['observed']} | {r['held']} |")
    bad = sum(r["held"] == "NO" for r in rows.values())
    terminalreporter.write_line(f"{len(rows)} cases, {len(rows) - bad} held, {bad} did not")

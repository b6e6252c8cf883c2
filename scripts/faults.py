"""The fault matrix: runs every test marked `fault` (hostile model files, a damaged home,
broken speech, greedy or foreign HTTP clients) and prints one row per case: what it is, what is
expected, what was observed, and whether it held.

usage: python scripts/faults.py [--markdown]     (exit status 1 when a case did not hold)
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cases() -> list[dict]:
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "faults.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-m", "fault", "-q", "-p", "no:cacheprovider",
                        f"--junitxml={report}", "-o", "junit_family=xunit1"],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not report.is_file():
            raise SystemExit("faults: pytest wrote no report (is the environment set up? bash scripts/setup.sh)")
        rows = []
        for case in ET.parse(report).getroot().iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            problem = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
            if problem is None:
                observed, held = "as expected", "yes"
            else:
                first = (problem.get("message") or problem.text or problem.tag).strip().splitlines()
                observed = f"{problem.tag}: {first[0][:120] if first else ''}"
                held = "skipped" if problem.tag == "skipped" else "NO"
            name = case.get("name", "")
            rows.append({"case": name.removeprefix("test_").replace("_", " "),
                         "expected": props.get("expected", ""), "observed": observed, "held": held,
                         "file": case.get("file") or case.get("classname", "")})
    return rows


def main(argv: list[str]) -> int:
    rows = run_cases()
    print("| case | expected | observed | held |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['case']} | {r['expected']} | {r['observed']} | {r['held']} |")
    bad = sum(r["held"] == "NO" for r in rows)
    print(f"\n{len(rows)} cases, {len(rows) - bad} held, {bad} did not", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The benchmark's report code, checked against its committed output.

``bench/results.md`` is written from ``bench/results.json`` by
``bench.report.render``; rendering the committed JSON again must give
the committed Markdown byte for byte, so a change to any case's
rendering (or to the registry's order, which numbers the sections)
shows here, in CI, rather than at the next benchmark run.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from bench import cases, report

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def test_committed_results_md_is_the_rendering_of_results_json():
    results = json.loads((BENCH / "results.json").read_text())
    expected = (BENCH / "results.md").read_text()
    assert report.render(results) == expected


def test_every_registered_case_is_in_the_committed_results():
    results = json.loads((BENCH / "results.json").read_text())
    assert [case.name for case in cases.all_cases()] == [
        name for name in cases.NAMES if name in results
    ]


def test_a_case_left_out_of_a_run_leaves_its_section_number_alone():
    results = json.loads((BENCH / "results.json").read_text())
    del results["commands"], results["bulk"]
    text = report.render(results)
    assert "## 1. " not in text and "## 3. " not in text
    assert "\n## 2. Fleet view\n" in text
    assert "\n## 5. The sandbox\n" in text
    assert "| 4 start-up | < 10 ms own import time |" in text


def test_a_module_whose_case_has_another_name_is_refused(monkeypatch):
    fleet = cases.load("fleet")
    monkeypatch.setattr(
        "bench.cases.bulk.CASE",
        cases.Case("fleet", "x", fleet.measure, fleet.render),
    )
    with pytest.raises(TypeError, match="bench.cases.bulk.CASE"):
        cases.load("bulk")


def test_run_py_runs_as_a_script_and_refuses_an_unknown_case(tmp_path):
    # As bench/run runs it: a script, its own directory first on sys.path.
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--only", "fleet,nosuch"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.endswith("error: unknown cases: nosuch\n")

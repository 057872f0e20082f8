# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""The report: ``results.json`` as it was measured, ``results.md`` from it.

`render` is a pure function of the results, so the committed
``bench/results.md`` can be checked against ``bench/results.json``
(tests/unit/test_bench_report.py). The table helpers here are the ones
every case's rendering uses.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any

from bench import cases


def write_reports(results: dict[str, Any], out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(render(results))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def yes(met: bool) -> str:
    return "**met**" if met else "**not met**"


def ms(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def render(results: dict[str, Any]) -> str:
    ran = [
        (number, case)
        for number, case in enumerate(cases.all_cases(), 1)
        if case.name in results
    ]
    parts = [
        "# Benchmark results",
        "",
        "Written by `bench/run` (`bench/run.py`); every ratio was measured "
        "side by side in this one run. Absolute times are for context: "
        "they depend on the machine.",
        "",
        machine_table(results),
        "",
        "## Goals",
        "",
        table(
            ["case", "goal", "measured", "verdict"],
            [
                (f"{number} {case.label}", *goal)
                for number, case in ran
                for goal in case.goals(results[case.name])
            ],
        ),
    ]
    for number, case in ran:
        parts += ["", f"## {number}. {case.title}", ""]
        parts += case.render(results[case.name])
    return "\n".join(parts) + "\n"


def machine_table(results: dict[str, Any]) -> str:
    m = results["machine"]
    load = " / ".join(
        ", ".join(f"{x:.2f}" for x in m.get(key, []))
        for key in ("load_average_at_start", "load_average_at_end")
    )
    return table(
        ["machine", ""],
        [
            ["CPU", m["cpu_model"]],
            ["cores", f"{m['cores']} ({m['cores_usable']} usable)"],
            ["OS", m["platform"]],
            ["Python (bench venv)", m["python"]],
            ["Python (bare venv)", m["python_bare_venv"] or "-"],
            *(
                [name, version or "not installed"]
                for name, version in m["packages"].items()
            ),
            ["commit", m["commit"]],
            ["load average (1, 5, 15 min) at start / end", load],
            ["date (UTC)", m["date"]],
            [
                "mode",
                ("--quick" if results["quick"] else "full")
                + f", whole run {results['run_wall_s']} s",
            ],
        ],
    )

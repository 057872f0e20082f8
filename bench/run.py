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
"""The benchmark: cost per command, fleet scale, start-up, the sandbox.

Run by ``bench/run`` inside its own virtualenv (``.tox/bench``), where
``nova``, ``openstack`` and ``scheduled-images-sandbox`` are the installed
commands; ``--bare-venv`` names a second virtualenv holding the very same
packages without this one, for the start-up comparison.

Every figure is a count or a ratio measured side by side in this one run
(absolute times are given for context only; the machine may be noisy).
Results go to ``bench/results.md`` and ``bench/results.json``. No figure
here is an assertion: a missed goal is reported, not raised.

    python bench/run.py [--quick] [--only fleet,bulk] [--out DIR]

The parts (``bench/``): this file parses the arguments and runs the
cases; ``harness.py`` runs commands, reads the sandbox's request log and
times; ``cases/<name>.py`` is one case, its measurement and its section
of the report side by side; ``report.py`` writes the report. To add a
case: a new module in ``cases/`` defining ``CASE = Case(...)``, and its
name in ``cases.NAMES``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
from collections.abc import Sequence
from typing import Any

if __name__ == "__main__" and not __package__:
    # Run as a script: import the `bench` package from the repository,
    # searched last, so that the installed package being measured is not
    # shadowed by the source tree next to it.
    del sys.path[0]  # bench/ itself
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))

from bench import cases  # noqa: E402
from bench.harness import ROOT, log, machine  # noqa: E402
from bench.report import write_reports  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--only",
        default=",".join(cases.NAMES),
        help=f"of {', '.join(cases.NAMES)}",
    )
    parser.add_argument("--bare-venv", help="the venv without this package")
    parser.add_argument(
        "--out", default=str(ROOT / "bench"), help="where results go"
    )
    opts = parser.parse_args(argv)
    if opts.bare_venv:
        opts.bare_venv = str(pathlib.Path(opts.bare_venv).resolve())
    wanted = [c.strip() for c in opts.only.split(",") if c.strip()]
    unknown = set(wanted) - set(cases.NAMES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    results: dict[str, Any] = {
        "machine": machine(opts),
        "quick": opts.quick,
    }
    started = time.perf_counter()
    for case in cases.all_cases():
        if case.name not in wanted:
            continue
        log(f"case {case.name} ...")
        case_start = time.perf_counter()
        results[case.name] = case.measure(opts)
        results[case.name]["case_wall_s"] = round(
            time.perf_counter() - case_start, 1
        )
    results["run_wall_s"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    if set(wanted) != set(cases.NAMES):
        results = merged(pathlib.Path(opts.out) / "results.json", results)
    write_reports(results, pathlib.Path(opts.out))
    log(f"done in {results['run_wall_s']} s; results in {opts.out}")
    return 0


def merged(previous: pathlib.Path, results: dict[str, Any]) -> dict[str, Any]:
    """The cases of this run over those of the last full run.

    ``--only`` measures some cases; the others keep their figures (and
    the run they came from is named), so a partial run never loses the
    rest of the report.
    """
    try:
        old = json.loads(previous.read_text())
    except (OSError, ValueError):
        return results
    if not isinstance(old, dict):
        return results
    runs = dict(old.get("partial_runs") or {})
    for name in cases.NAMES:
        if name in results:
            runs[name] = {
                "machine": results["machine"],
                "quick": results["quick"],
            }
    combined = {**old, **results}
    combined["machine"] = old.get("machine", results["machine"])
    combined["quick"] = old.get("quick", results["quick"])
    combined["run_wall_s"] = old.get("run_wall_s", results["run_wall_s"])
    combined["partial_runs"] = runs
    return combined


if __name__ == "__main__":
    sys.exit(main())

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
"""Case 4: what this package adds to `nova` and `openstack` start-up.

Import time inside each command (`-X importtime`), and interleaved runs
of the same commands in two virtualenvs that differ by this package
alone (``--bare-venv``).
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from bench.cases import Case, Goal
from bench.harness import (
    BIN,
    NEUTRAL_CWD,
    PKG,
    Ran,
    clean_env,
    log,
    median,
    run,
)
from bench.report import ms, table, yes


def parse_importtime(text: str) -> list[tuple[int, int, int, str]]:
    """(self_us, cumulative_us, depth, module) per `-X importtime` line."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            depth = (len(match.group(3)) - 1) // 2
            rows.append(
                (
                    int(match.group(1)),
                    int(match.group(2)),
                    depth,
                    match.group(4),
                )
            )
    return rows


def ours(name: str) -> bool:
    return name == PKG or name.startswith(PKG + ".")


def attribute(
    rows: list[tuple[int, int, int, str]],
) -> tuple[float, dict[str, float], dict[str, float]]:
    """What importing this package costs inside a process.

    Returns the cumulative microseconds of this package's outermost
    modules (those not imported by another of its modules), the self
    time of each of its modules, and the cumulative time of each other
    module its modules imported directly (these are what made it slow).
    """
    parents: list[int | None] = []
    for index, (_, _, depth, _) in enumerate(rows):
        parent = None
        for later in range(index + 1, len(rows)):
            if rows[later][2] < depth:
                parent = later
                break
        parents.append(parent)

    def inside_ours(index: int) -> bool:
        parent = parents[index]
        while parent is not None:
            if ours(rows[parent][3]):
                return True
            parent = parents[parent]
        return False

    total = 0.0
    own: dict[str, float] = {}
    pulled: dict[str, float] = {}
    for index, (self_us, cum_us, _, name) in enumerate(rows):
        parent = parents[index]
        if ours(name):
            own[name] = own.get(name, 0) + self_us
            if not inside_ours(index):
                total += cum_us
        elif parent is not None and ours(rows[parent][3]):
            pulled[name] = pulled.get(name, 0) + cum_us
    return total, own, pulled


def importtime(python: pathlib.Path, code: str, reps: int) -> dict[str, Any]:
    totals, owns = [], []
    own_by: dict[str, list[float]] = {}
    pulled_by: dict[str, list[float]] = {}
    for _ in range(reps):
        done = subprocess.run(
            [str(python), "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=NEUTRAL_CWD,
        )
        total, own, pulled = attribute(parse_importtime(done.stderr))
        totals.append(total)
        owns.append(sum(own.values()))
        for name, value in own.items():
            own_by.setdefault(name, []).append(value)
        for name, value in pulled.items():
            pulled_by.setdefault(name, []).append(value)
    pulled_ms = {
        name: round(median(values) / 1000, 2)
        for name, values in pulled_by.items()
    }
    return {
        "cumulative_ms": round(median(totals) / 1000, 2),
        "own_self_ms": round(median(owns) / 1000, 2),
        "own_modules_ms": {
            name: round(median(values) / 1000, 2)
            for name, values in sorted(own_by.items())
        },
        "pulled_in_ms": dict(
            sorted(pulled_ms.items(), key=lambda kv: -kv[1])[:10]
        ),
    }


def timed_pair(
    argv: list[str],
    bins: dict[str, pathlib.Path],
    reps: int,
    measure: Callable[[Ran], float] = lambda done: done.wall,
    label: str = "",
) -> dict[str, Any]:
    """Interleaved runs of the same command in each environment.

    `measure` picks the figure (the process's wall time by default);
    the CPU time is always the process's own.
    """
    walls: dict[str, list[float]] = {name: [] for name in bins}
    cpus: dict[str, list[float]] = {name: [] for name in bins}
    env = clean_env({})
    for path in bins.values():  # warm the page cache, not counted
        run(argv, env, path)
    for rep in range(reps):
        order = list(bins.items())
        if rep % 2:
            order.reverse()
        for name, path in order:
            done = run(argv, env, path)
            if done.code != 0:
                raise RuntimeError(f"{argv} failed in {path}: {done.stderr}")
            walls[name].append(measure(done))
            cpus[name].append(done.cpu)
    out: dict[str, Any] = {
        "command": label or shlex.join(argv),
        "reps": reps,
    }
    for name in bins:
        out[name] = {
            "wall_s_median": round(median(walls[name]), 4),
            "wall_s_min": round(min(walls[name]), 4),
            "cpu_s_median": round(median(cpus[name]), 4),
        }
    base, with_ = out["without"], out["with"]
    out["added_wall_pct"] = round(
        100 * (with_["wall_s_median"] / base["wall_s_median"] - 1), 1
    )
    out["added_wall_min_pct"] = round(
        100 * (with_["wall_s_min"] / base["wall_s_min"] - 1), 1
    )
    out["added_cpu_pct"] = round(
        100 * (with_["cpu_s_median"] / base["cpu_s_median"] - 1), 1
    )
    # Each repetition ran both back to back: the median of the pairs'
    # ratios is the least sensitive to load that drifts during the run.
    pairs = list(zip(walls["with"], walls["without"], strict=True))
    out["added_wall_paired_pct"] = round(
        100 * (median(w / b for w, b in pairs) - 1), 1
    )
    out["added_ms_paired"] = round(1000 * median(w - b for w, b in pairs), 2)
    return out


# `nova help` inside one process, the interpreter's start and nova's own
# imports left out: what remains differs by this package's work alone.
NOVA_HELP_IN_PROCESS = (
    "import contextlib, io, sys, time\n"
    "from novaclient import shell\n"
    "start = time.perf_counter()\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    with contextlib.redirect_stderr(io.StringIO()):\n"
    "        try:\n"
    "            shell.main(['help'])\n"
    "        except SystemExit:\n"
    "            pass\n"
    "print(time.perf_counter() - start)\n"
)


def printed_seconds(done: Ran) -> float:
    return float(done.stdout.strip().splitlines()[-1])


# Entry points are loaded with importlib.import_module, which -X importtime
# does not time (only the imports made by the loaded module are shown):
# route it through __import__ so that the loaded module's line is there.
TIMED_IMPORT_MODULE = (
    "import importlib, importlib.metadata, sys\n"
    "def _timed(name, package=None):\n"
    "    if package or name.startswith('.'):\n"
    "        return _plain(name, package)\n"
    "    __import__(name)\n"
    "    return sys.modules[name]\n"
    "_plain = importlib.import_module\n"
    "importlib.import_module = importlib.metadata.import_module = _timed\n"
)
NOVA_HELP = (
    TIMED_IMPORT_MODULE + "from novaclient.shell import main\n"
    "sys.argv = ['nova', 'help']\n"
    "main()\n"
)
OSC_VERSION = (
    TIMED_IMPORT_MODULE + "from openstackclient.shell import main\n"
    "main(['--version'])\n"
)


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    reps = 7 if opts.quick else 21
    result: dict[str, Any] = {}
    python = pathlib.Path(sys.executable)
    result["import_cold"] = importtime(
        python, f"import {PKG}.novaclient_ext", 3 if opts.quick else 7
    )
    result["import_in_nova_help"] = importtime(
        python, NOVA_HELP, 3 if opts.quick else 7
    )
    result["import_in_openstack"] = importtime(
        python, OSC_VERSION, 3 if opts.quick else 7
    )
    if not opts.bare_venv:
        result["skipped"] = "no --bare-venv: no with/without comparison"
        return result
    bins = {"with": BIN, "without": pathlib.Path(opts.bare_venv) / "bin"}
    result["nova_help"] = timed_pair(["nova", "help"], bins, reps)
    log(f"nova help: {result['nova_help']['added_wall_pct']}%")
    result["nova_help_in_process"] = timed_pair(
        ["python", "-c", NOVA_HELP_IN_PROCESS],
        bins,
        reps,
        measure=printed_seconds,
        label="nova help, in process (novaclient.shell.main(['help']))",
    )
    result["openstack_version"] = timed_pair(
        ["openstack", "--version"], bins, reps
    )
    added = result["openstack_version"]["added_wall_pct"]
    log(f"openstack --version: {added}%")
    return result


def goals(startup: dict[str, Any]) -> list[Goal]:
    out: list[Goal] = []
    marginal = startup["import_in_nova_help"]["cumulative_ms"]
    if "nova_help" in startup:
        nova = startup["nova_help"]
        base = nova["without"]["wall_s_median"] * 1000
        out.append(
            (
                "< 3% added to `nova help`",
                f"{nova['added_wall_paired_pct']}% paired "
                f"({nova['added_ms_paired']} ms), "
                f"{nova['added_wall_pct']}% between medians, "
                f"{nova['added_cpu_pct']}% CPU; imports alone "
                f"{marginal} ms = {100 * marginal / base:.1f}%",
                yes(nova["added_wall_paired_pct"] < 3),
            )
        )
    out.append(
        (
            "< 10 ms own import time",
            f"{marginal} ms inside nova, "
            f"{startup['import_cold']['own_self_ms']} ms own modules "
            "cold",
            yes(marginal < 10),
        )
    )
    return out


def render(case: dict[str, Any]) -> list[str]:
    return _with_and_without(case) + _imports(case)


def _with_and_without(case: dict[str, Any]) -> list[str]:
    """The interleaved runs, if there was a bare venv to compare with."""
    pairs = [
        case[k]
        for k in ("nova_help", "nova_help_in_process", "openstack_version")
        if k in case
    ]
    if not pairs:
        return []
    return [
        f"Interleaved runs, {pairs[0]['reps']} of each, in two "
        "virtualenvs holding the same packages at the same versions, "
        "one without this package. 'paired': the median of each "
        "repetition's with/without ratio (and difference), the figure "
        "least moved by load that drifts during the run. The in-process "
        "row times `novaclient.shell.main(['help'])` alone: the "
        "interpreter's start and nova's own imports are left out, so "
        "what differs is this package's work (its imports, and the "
        "parsers of its commands).",
        "",
        table(
            [
                "command",
                "with (median)",
                "without (median)",
                "added (medians)",
                "added (paired)",
                "added (mins)",
                "added CPU (process)",
            ],
            [
                [
                    f"`{p['command']}`",
                    ms(p["with"]["wall_s_median"]),
                    ms(p["without"]["wall_s_median"]),
                    f"{p['added_wall_pct']}%",
                    f"{p['added_wall_paired_pct']}% "
                    f"({p['added_ms_paired']} ms)",
                    f"{p['added_wall_min_pct']}%",
                    f"{p['added_cpu_pct']}%",
                ]
                for p in pairs
            ],
        ),
        "",
    ]


def _imports(case: dict[str, Any]) -> list[str]:
    labels = {
        "import_cold": f"`python -c 'import {PKG}.novaclient_ext'` (cold)",
        "import_in_nova_help": "inside `nova help`",
        "import_in_openstack": "inside `openstack --version` (osc plugin)",
    }
    rows = []
    for key, label in labels.items():
        found = case[key]
        pulled = ", ".join(
            f"{name} {value}" for name, value in found["pulled_in_ms"].items()
        )
        rows.append(
            [
                label,
                f"{found['cumulative_ms']} ms",
                f"{found['own_self_ms']} ms",
                pulled or "nothing new",
            ]
        )
    own = case["import_in_nova_help"]["own_modules_ms"]
    return [
        "Import time (`-X importtime`, median of runs): 'ours' is the "
        "cumulative time of this package's outermost modules, 'own "
        "code' the self time of its modules; the last column, what its "
        "modules import that was not loaded yet (ms).",
        "",
        table(["where", "ours", "own code", "pulled in (ms)"], rows),
        "",
        "Own code inside `nova help`, by module (ms): "
        + ", ".join(
            f"{name.removeprefix(PKG + '.')} {value}"
            for name, value in sorted(own.items(), key=lambda kv: -kv[1])
        )
        + ".",
    ]


CASE = Case(
    name="startup",
    title="Start-up",
    measure=measure,
    render=render,
    goals=goals,
    tag="start-up",
)

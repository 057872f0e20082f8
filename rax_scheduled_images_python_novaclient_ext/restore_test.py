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
"""The restore test's verdicts and its output as a check. Pure.

Each server's result (``passed``, ``failed``, ``timed-out``,
``no-image``), and the Nagios-style output the monitoring check of
:mod:`.check` also writes: ``RESTORE TEST OK|WARNING|CRITICAL|UNKNOWN
- <summary> | <perfdata>``, one line per server that did not pass, and
the exit code: a server with no ACTIVE image is a warning; a boot that
fails or times out, or a port that never answers, critical; a cloud
that could not be read, or a quota refusal, unknown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rax_scheduled_images_python_novaclient_ext import check, health

PASSED = "passed"
FAILED = "failed"
TIMED_OUT = "timed-out"
NO_IMAGE = "no-image"
# Worst first: the order of the lines of the servers that did not pass.
RESULTS: tuple[str, ...] = (FAILED, TIMED_OUT, NO_IMAGE, PASSED)
PREFIX = "RESTORE TEST"

# ``-f json`` keys: a contract.
KEYS: tuple[str, ...] = (
    "server_id",
    "server_name",
    "image_id",
    "image_created",
    "boot_seconds",
    "port_open",
    "result",
    "reason",
)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One server's restore test.

    ``unknown`` marks a failure that proves nothing about the image (the
    cloud could not be read, a quota refusal): the check's UNKNOWN.
    ``port_open`` is None when no port was checked (or the boot failed).
    """

    server_id: str
    server_name: str
    result: str
    reason: str = ""
    image_id: str | None = None
    image_created: str | None = None
    boot_seconds: float | None = None
    port_open: bool | None = None
    unknown: bool = False

    def values(self) -> tuple[Any, ...]:
        """The row in the order of :data:`KEYS`."""
        return (
            self.server_id,
            self.server_name,
            self.image_id,
            self.image_created,
            self.boot_seconds,
            self.port_open,
            self.result,
            self.reason or None,
        )


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """0 all passed; 1 a server with no image; 2 a failed boot, a
    timeout or a closed port; 3 an unknown (it wins: the run proves
    nothing for that server)."""
    code = health.EXIT_OK
    for outcome in outcomes:
        if outcome.unknown:
            return health.EXIT_UNKNOWN
        if outcome.result == NO_IMAGE:
            code = max(code, health.EXIT_WARNING)
        elif outcome.result != PASSED:
            code = max(code, health.EXIT_CRITICAL)
    return code


def _perf_label(name: str) -> str:
    # Nagios quotes labels with ' and has no escape for it.
    return check.nagios_text(
        "boot " + name.replace("'", "_").replace("=", "_")
    )


def first_line(outcomes: Sequence[Outcome]) -> str:
    """``RESTORE TEST <VERDICT> - <summary> | <perfdata>``: the servers
    by result, and each boot's seconds."""
    counts = {result: 0 for result in RESULTS}
    for outcome in outcomes:
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    shown = [
        f"{counts[result]} {result}"
        for result in (PASSED, FAILED, TIMED_OUT, NO_IMAGE)
        if counts[result] or result == PASSED
    ]
    unknown = sum(1 for outcome in outcomes if outcome.unknown)
    if unknown:
        shown.append(f"{unknown} unknown")
    plural = "" if len(outcomes) == 1 else "s"
    summary = f"{len(outcomes)} server{plural}: {', '.join(shown)}"
    perfdata = [f"'{result}'={counts[result]};;;" for result in RESULTS]
    perfdata += [
        f"'{_perf_label(o.server_name or o.server_id)}'="
        f"{o.boot_seconds:.1f}s;;;"
        for o in outcomes
        if o.boot_seconds is not None
    ]
    verdict = check.VERDICTS[exit_code(outcomes)]
    return f"{PREFIX} {verdict} - {summary} | {' '.join(perfdata)}"


def server_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """``<result>: <name> (<id>): <reason>`` for each server that did
    not pass, worst first, then by name."""
    order = {result: index for index, result in enumerate(RESULTS)}
    bad = [o for o in outcomes if o.result != PASSED]
    bad.sort(key=lambda o: (order.get(o.result, 0), o.server_name))
    return [
        check.nagios_text(
            f"{o.result}: {o.server_name} ({o.server_id}): {o.reason}"
        )
        for o in bad
    ]


def report(outcomes: Sequence[Outcome]) -> tuple[list[str], int]:
    """The check's lines of stdout and its exit code."""
    return [first_line(outcomes), *server_lines(outcomes)], exit_code(outcomes)


def unknown(message: str) -> tuple[list[str], int]:
    """The output when nothing could be tested: exit 3."""
    text = " ".join(message.split()) or "the cloud could not be read"
    return [f"{PREFIX} UNKNOWN - {text}"], health.EXIT_UNKNOWN


def cleanup_line(names: Sequence[str]) -> str:
    """What the clean-up at the start of a run deleted."""
    if not names:
        return "No throwaway server of an earlier restore test was left."
    plural = "" if len(names) == 1 else "s"
    return (
        f"Deleted {len(names)} throwaway server{plural} an earlier restore "
        f"test left behind: {', '.join(names)}"
    )

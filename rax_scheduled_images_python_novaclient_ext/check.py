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
"""The monitoring check's output, in the Nagios plugin convention. Pure.

One first line, ``SCHEDULED IMAGES OK|WARNING|CRITICAL|UNKNOWN - <summary>
| <perfdata>``, then one line per server that is not ok, worst first; and
the exit code Nagios, Icinga and cron wrappers read: 0 ok, 1 warning,
2 critical, 3 unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

from rax_scheduled_images_python_novaclient_ext import health

# A warning for what a person should look at soon; critical for two
# runs missed in a row, when Rackspace says to contact support.
STATE_EXIT = {
    health.OK: health.EXIT_OK,
    health.LATE: health.EXIT_WARNING,
    health.NO_IMAGES: health.EXIT_WARNING,
    health.FAILED_IMAGES: health.EXIT_WARNING,
    health.MISSED: health.EXIT_CRITICAL,
}
VERDICTS = {
    health.EXIT_OK: "OK",
    health.EXIT_WARNING: "WARNING",
    health.EXIT_CRITICAL: "CRITICAL",
    health.EXIT_UNKNOWN: "UNKNOWN",
}
PREFIX = "SCHEDULED IMAGES"


def exit_code(rows: Sequence[health.ServerHealth]) -> int:
    """The worst state's code (0 when there is no scheduled server)."""
    return max(
        (STATE_EXIT[row.state] for row in rows if row.state is not None),
        default=health.EXIT_OK,
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def first_line(rows: Sequence[health.ServerHealth]) -> str:
    """``SCHEDULED IMAGES <VERDICT> - <summary> | <perfdata>``.

    The summary counts the scheduled servers by state (states with none
    left out, ok always shown) and gives the bytes of their counted and
    failed images; the performance data has every state's count and the
    total size in bytes (``'size'=<n>B``), as graphing tools read it.
    """
    scheduled = [row for row in rows if row.state is not None]
    counts = {state: 0 for state in health.STATES}
    for row in scheduled:
        counts[row.state] += 1  # type: ignore[index]
    size = sum(row.size for row in scheduled)
    shown = [
        f"{counts[state]} {state}"
        for state in (health.OK, *health.STATES[:-1])
        if counts[state] or state == health.OK
    ]
    summary = (
        f"{_plural(len(scheduled), 'scheduled server')}: "
        f"{', '.join(shown)}; {health.format_size(size)} in their images"
    )
    perfdata = " ".join(
        [f"'{state}'={counts[state]};;;" for state in reversed(health.STATES)]
        + [f"'size'={size}B;;;"]
    )
    verdict = VERDICTS[exit_code(scheduled)]
    return f"{PREFIX} {verdict} - {summary} | {perfdata}"


def server_lines(rows: Sequence[health.ServerHealth]) -> list[str]:
    """One line per scheduled server that is not ok, worst first, then
    by name: ``<state>: <name> (<id>): <reason>``."""
    order = {state: index for index, state in enumerate(health.STATES)}
    bad = [
        row for row in rows if row.state is not None and row.state != health.OK
    ]
    bad.sort(key=lambda row: (order[str(row.state)], row.server_name))
    return [
        f"{row.state}: {row.server_name} ({row.server_id}): {row.reason}"
        for row in bad
    ]


def report(rows: Sequence[health.ServerHealth]) -> tuple[list[str], int]:
    """The check's lines of stdout and its exit code."""
    return [first_line(rows), *server_lines(rows)], exit_code(rows)


def unknown(message: str) -> tuple[list[str], int]:
    """The check's output when the cloud could not be read: exit 3."""
    text = " ".join(message.split()) or "the cloud could not be read"
    return [f"{PREFIX} UNKNOWN - {text}"], health.EXIT_UNKNOWN

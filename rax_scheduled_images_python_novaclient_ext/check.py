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

The input is one :class:`RegionRead` per region read (a list of
one for a single-region check): the verdict is UNKNOWN whenever a region
could not be read, or when nothing was there to check, never a false OK.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rax_scheduled_images_python_novaclient_ext import health

# A warning for what a person should look at soon; critical for two
# runs missed in a row, when Rackspace says to contact support; unknown
# for an image dated in the future, whose age says nothing.
STATE_EXIT = {
    health.OK: health.EXIT_OK,
    health.LATE: health.EXIT_WARNING,
    health.NO_IMAGES: health.EXIT_WARNING,
    health.FAILED_IMAGES: health.EXIT_WARNING,
    health.MISSED: health.EXIT_CRITICAL,
    health.CLOCK_SKEW: health.EXIT_UNKNOWN,
}
VERDICTS = {
    health.EXIT_OK: "OK",
    health.EXIT_WARNING: "WARNING",
    health.EXIT_CRITICAL: "CRITICAL",
    health.EXIT_UNKNOWN: "UNKNOWN",
}
PREFIX = "SCHEDULED IMAGES"

# What ``--unscheduled`` makes of a server without a schedule.
UNSCHEDULED_EXIT = {
    "ignore": health.EXIT_OK,
    "warning": health.EXIT_WARNING,
    "critical": health.EXIT_CRITICAL,
}


@dataclasses.dataclass
class RegionRead:
    """One region's health read (the whole check when one region is
    read)."""

    # The catalog region read (catalog.catalog_region), None if unknown.
    region: str | None
    # The project id the read was for.
    project: str | None
    # Scheduled servers, with their state.
    rows: list[health.ServerHealth]
    # Servers with no schedule (state "unscheduled"), after
    # --ignore-server.
    unscheduled: list[health.ServerHealth]
    # Why this region could not be read (rows then empty).
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class CheckOptions:
    """What the check is asked to hold the fleet to.

    :param thresholds: the ages after which a server is late or missed.
    :param unscheduled: ``ignore`` (1.1.0's exit codes), ``warning`` or
        ``critical``: the exit code a server without a schedule adds.
    :param ignore_servers: glob patterns on the server name; an
        unscheduled server matching one is left out (meant to go
        unprotected).
    :param allow_empty: zero scheduled servers is OK, not UNKNOWN.
    """

    thresholds: health.Thresholds = health.Thresholds()
    unscheduled: str = "ignore"
    ignore_servers: tuple[str, ...] = ()
    allow_empty: bool = False


def options_from(args: Any) -> CheckOptions:
    """The check's options from its command line (both front ends).

    :raises ScheduleError: when a critical age is below its warning age.
    """
    return CheckOptions(
        thresholds=health.thresholds_from(args),
        unscheduled=args.unscheduled,
        ignore_servers=tuple(args.ignore_servers),
        allow_empty=args.allow_empty,
    )


def exit_code(rows: Sequence[health.ServerHealth]) -> int:
    """The worst state's code among the scheduled servers (0 for none)."""
    return max(
        (STATE_EXIT[row.state] for row in rows if row.state in STATE_EXIT),
        default=health.EXIT_OK,
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _counts(rows: Sequence[health.ServerHealth]) -> dict[str, int]:
    counts = {state: 0 for state in health.STATES}
    for row in rows:
        if row.state in counts:
            counts[str(row.state)] += 1
    return counts


def summary(
    rows: Sequence[health.ServerHealth], unscheduled: int
) -> tuple[str, str]:
    """The summary and the performance data of the first line.

    The summary counts the scheduled servers by state (states with none
    left out, ok always shown), gives the bytes of their counted and
    failed images, and counts the servers without a schedule; the
    performance data has every state's count, the total size in bytes
    (``'size'=<n>B``) and ``'unscheduled'=<n>``, as graphing tools read
    it.
    """
    counts = _counts(rows)
    size = sum(row.size for row in rows)
    shown = [
        f"{counts[state]} {state}"
        for state in (health.OK, *health.STATES[:-1])
        if counts[state] or state == health.OK
    ]
    text = (
        f"{_plural(len(rows), 'scheduled server')}: "
        f"{', '.join(shown)}; {health.format_size(size)} in their images; "
        f"{_plural(unscheduled, 'server')} without a schedule"
    )
    perfdata = " ".join(
        [f"'{state}'={counts[state]};;;" for state in reversed(health.STATES)]
        + [f"'size'={size}B;;;", f"'unscheduled'={unscheduled};;;"]
    )
    return text, perfdata


def first_line(
    rows: Sequence[health.ServerHealth], unscheduled: int = 0
) -> str:
    """``SCHEDULED IMAGES <VERDICT> - <summary> | <perfdata>`` of the
    scheduled servers' states alone."""
    text, perfdata = summary(rows, unscheduled)
    verdict = VERDICTS[exit_code(rows)]
    return f"{PREFIX} {verdict} - {text} | {perfdata}"


def _order(row: health.ServerHealth) -> tuple[int, str]:
    order = {state: index for index, state in enumerate(health.STATES)}
    return order.get(str(row.state), len(order)), row.server_name


def server_lines(
    rows: Sequence[health.ServerHealth], region: str | None = None
) -> list[str]:
    """One line per server that is not ok, worst first, then by name:
    ``<state>: <name> (<id>): <reason>`` (``... (<id>) in region <R>:``
    when ``region`` is given)."""
    where = f" in region {region}" if region else ""
    bad = sorted((row for row in rows if row.state != health.OK), key=_order)
    return [
        nagios_text(
            f"{row.state}: {row.server_name} ({row.server_id}){where}: "
            f"{row.reason}"
        )
        for row in bad
    ]


# Names and reasons are user input (a server or image name): a line
# break would forge a line of the check, and Nagios reads what follows
# a "|" as performance data.
_NAGIOS_ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "|": "\\x7c"})


def nagios_text(line: str) -> str:
    """``line`` as one line of a check's output: line breaks and ``|``
    written as escapes."""
    return line.translate(_NAGIOS_ESCAPES)


def _where(reads: Sequence[RegionRead]) -> str:
    """``project P, region R`` of the reads (the region left out when
    the catalog names none)."""
    projects = sorted({read.project or "unknown" for read in reads})
    text = f"project{'s' if len(projects) > 1 else ''} {', '.join(projects)}"
    if all(read.region is None for read in reads):
        return text
    regions = sorted({read.region or "unknown" for read in reads})
    return (
        f"{text}, region{'s' if len(regions) > 1 else ''} {', '.join(regions)}"
    )


def report(
    reads: Sequence[RegionRead], options: CheckOptions
) -> tuple[list[str], int]:
    """The check's lines of stdout and its exit code, from every region
    read.

    UNKNOWN (exit 3) when a region could not be read (named, with its
    reason; the other regions' lines still follow), and when no
    scheduled server was found at all unless ``options.allow_empty``.
    Servers without a schedule are always counted; they raise the exit
    code only as ``options.unscheduled`` says, and get lines then.
    """
    many = len(reads) > 1
    failed = [read for read in reads if read.error is not None]
    read_ok = [read for read in reads if read.error is None]
    if failed and not read_ok:
        return unknown("; ".join(_failure(read, many) for read in failed))
    rows = [row for read in read_ok for row in read.rows]
    unscheduled = [row for read in read_ok for row in read.unscheduled]
    text, perfdata = summary(rows, len(unscheduled))
    code = exit_code(rows)
    if unscheduled:
        code = max(code, UNSCHEDULED_EXIT[options.unscheduled])
    if not rows and not options.allow_empty:
        text = (
            f"no scheduled servers found in {_where(read_ok)}; "
            f"{_plural(len(unscheduled), 'server')} without a schedule"
        )
        code = health.EXIT_UNKNOWN
    if failed:
        reasons = "; ".join(_failure(read, many) for read in failed)
        text = f"{reasons}; {text}"
        code = health.EXIT_UNKNOWN
    lines = [f"{PREFIX} {VERDICTS[code]} - {text} | {perfdata}"]
    for read in read_ok:
        region = read.region if many else None
        shown = list(read.rows)
        if options.unscheduled != "ignore":
            shown += read.unscheduled
        lines += server_lines(shown, region)
    return lines, code


def _failure(read: RegionRead, many: bool) -> str:
    error = " ".join(str(read.error).split())
    if not many:
        return error or "the cloud could not be read"
    return f"region {read.region or 'unknown'} could not be read: {error}"


def unknown(message: str) -> tuple[list[str], int]:
    """The check's output when the cloud could not be read: exit 3."""
    text = " ".join(message.split()) or "the cloud could not be read"
    return [f"{PREFIX} UNKNOWN - {text}"], health.EXIT_UNKNOWN

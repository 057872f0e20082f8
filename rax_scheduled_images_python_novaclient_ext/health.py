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
"""Is the service keeping its schedules? Pure decisions, no I/O.

The API shows no job status: what a client can see is the images the
service made. From a server's schedule, its images and "now" this module
works out the server's health (the newest ACTIVE scheduled image and its
age, the counted, failed and kept images, their size, and a state), and
the monitoring check's lines and exit code. Both front ends print what
it decides, so ``nova`` and ``openstack`` agree.

Images are streamed through :class:`FleetTally` one at a time and only a
few numbers per server are kept, so a fleet-wide read holds memory in
proportion to the servers, not to the images.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from rax_scheduled_images_python_novaclient_ext import config
from rax_scheduled_images_python_novaclient_ext import schedule as domain

OK = "ok"
LATE = "late"
MISSED = "missed"
NO_IMAGES = "no-images"
FAILED_IMAGES = "failed-images"
# Worst first: the order of the check's lines, and the precedence when
# more than one state applies to a server.
STATES: tuple[str, ...] = (MISSED, LATE, NO_IMAGES, FAILED_IMAGES, OK)

# The service's hard timeout for one snapshot (api.md, "Failures and
# their signs"): a marked image not ACTIVE after this has failed; a
# younger one may still be in progress.
SNAPSHOT_TIMEOUT = datetime.timedelta(hours=4)

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """How old the newest image may be before a server is late / missed.

    A server is ``late`` when its newest ACTIVE scheduled image is MORE
    than the warning age old, and ``missed`` when it is more than the
    critical age old: an image exactly 28 hours old is still ``ok``.
    Defaults: daily 28 h (one run missed, plus the hours a snapshot
    and its retries may take) and 52 h (two runs missed: Rackspace's
    "contact support"); weekly 8 and 15 days (one and two weeks missed,
    plus the day-long window in which a weekly image is taken).
    """

    daily_warning: datetime.timedelta = config.DAILY_WARNING_HOURS * HOUR
    daily_critical: datetime.timedelta = config.DAILY_CRITICAL_HOURS * HOUR
    weekly_warning: datetime.timedelta = config.WEEKLY_WARNING_DAYS * DAY
    weekly_critical: datetime.timedelta = config.WEEKLY_CRITICAL_DAYS * DAY

    def for_schedule(
        self, schedule: domain.Schedule
    ) -> tuple[datetime.timedelta, datetime.timedelta]:
        """``(warning, critical)`` for the schedule's type."""
        if schedule.is_weekly:
            return self.weekly_warning, self.weekly_critical
        return self.daily_warning, self.daily_critical


def parse_age(value: object, unit: str) -> datetime.timedelta:
    """A positive number of ``unit`` ("hours" or "days") as a timedelta.

    Decimals are accepted ("1.5").

    :raises ScheduleError: for zero, negatives and anything not a number.
    """
    try:
        number = float(str(value).strip())
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise domain.ScheduleError(
            f"Invalid age '{value}': it must be a positive number of {unit}."
        )
    return datetime.timedelta(**{unit: number})


def check_thresholds(thresholds: Thresholds) -> Thresholds:
    """Return ``thresholds`` when each critical age is at least its warning.

    :raises ScheduleError: naming the pair that is the wrong way round.
    """
    pairs = (
        ("daily", thresholds.daily_warning, thresholds.daily_critical),
        ("weekly", thresholds.weekly_warning, thresholds.weekly_critical),
    )
    for kind, warning, critical in pairs:
        if critical < warning:
            raise domain.ScheduleError(
                f"The {kind} critical age ({format_age(critical)}) is "
                f"below the {kind} warning age ({format_age(warning)}): "
                "it must be the same or longer."
            )
    return thresholds


@dataclasses.dataclass(frozen=True)
class LastImage:
    """The newest ACTIVE scheduled image of a server."""

    id: str
    name: str
    created: datetime.datetime


@dataclasses.dataclass(frozen=True)
class ServerHealth:
    """One server's health, as ``list --long`` and ``check`` show it.

    ``state`` and ``reason`` are None for a server without a schedule
    (listed with ``--all-servers``): nothing is expected of it. ``kept``
    is None when the read left out the images without the marker.
    """

    server_id: str
    server_name: str
    schedule: domain.Schedule | None
    last: LastImage | None
    age: datetime.timedelta | None
    counted: int
    failed: int
    kept: int | None
    size: int
    state: str | None
    reason: str | None


def _status(image: Mapping[str, Any]) -> str:
    return str(image.get("status") or "").upper()


def _size(image: Mapping[str, Any]) -> int:
    """The image's bytes; 0 when the Image API gives none (it answers
    null while an image is not ACTIVE)."""
    size = image.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return 0
    return size


def _created(image: Mapping[str, Any]) -> datetime.datetime | None:
    return domain.parse_timestamp(
        image.get("created_at") or image.get("created")
    )


class _Tally:
    """The few numbers a server's health needs, built one image at a time."""

    __slots__ = ("counted", "failed", "kept", "size", "last")

    def __init__(self) -> None:
        self.counted = 0
        self.failed = 0
        self.kept = 0
        self.size = 0
        self.last: LastImage | None = None

    def add(self, image: Mapping[str, Any], now: datetime.datetime) -> None:
        if not domain.is_marked(image):
            self.kept += 1
            return
        created = _created(image)
        if _status(image) == "ACTIVE":
            self.counted += 1
            self.size += _size(image)
            if created is not None and (
                self.last is None or created > self.last.created
            ):
                self.last = LastImage(
                    str(image.get("id") or ""),
                    str(image.get("name") or ""),
                    created,
                )
        elif created is None or now - created > SNAPSHOT_TIMEOUT:
            # Not ACTIVE after the hard timeout (or of no known age): the
            # service never counts or prunes it; it stays until deleted.
            self.failed += 1
            self.size += _size(image)


class FleetTally:
    """The health of many servers from one pass over their images.

    Feed it images in any order, page by page (:meth:`add`); images of
    servers it was not given are ignored. Then :meth:`rows`.

    :param servers: the servers (and schedules) to report on.
    :param now: the time ages are measured at (aware).
    :param with_kept: False when the images fed are the marked ones only,
        so the kept count is unknown (None).
    """

    def __init__(
        self,
        servers: Iterable[domain.ServerSchedule],
        now: datetime.datetime,
        with_kept: bool = True,
    ) -> None:
        self.servers = list(servers)
        self.now = now
        self.with_kept = with_kept
        self._tallies = {row.server_id: _Tally() for row in self.servers}

    def add(self, images: Iterable[Mapping[str, Any]]) -> None:
        """Count ``images``: those of the servers given, the rest ignored."""
        for image in images:
            tally = self._tallies.get(str(image.get(domain.INSTANCE_KEY)))
            if tally is not None:
                tally.add(image, self.now)

    def rows(self, thresholds: Thresholds) -> list[ServerHealth]:
        """Each server's health, in the order the servers were given."""
        return [
            _health(
                row,
                self._tallies[row.server_id],
                self.now,
                thresholds,
                self.with_kept,
            )
            for row in self.servers
        ]


def fleet_health(
    servers: Iterable[domain.ServerSchedule],
    images: Iterable[Mapping[str, Any]],
    now: datetime.datetime,
    thresholds: Thresholds | None = None,
) -> list[ServerHealth]:
    """The health of every server in ``servers`` from ``images``.

    :param images: the project's images (any order; other servers' images
        are ignored). An image counts for a server by its
        ``instance_uuid``; it is "scheduled" when it carries the service's
        marker, "kept" when it does not.
    :param now: the time ages are measured at (aware).
    """
    tally = FleetTally(servers, now)
    tally.add(images)
    return tally.rows(thresholds or Thresholds())


def _health(
    row: domain.ServerSchedule,
    tally: _Tally,
    now: datetime.datetime,
    thresholds: Thresholds,
    with_kept: bool,
) -> ServerHealth:
    age = None if tally.last is None else now - tally.last.created
    state, reason = (None, None)
    if row.schedule is not None:
        state, reason = judge(row.schedule, age, tally.failed, thresholds)
    return ServerHealth(
        server_id=row.server_id,
        server_name=row.name,
        schedule=row.schedule,
        last=tally.last,
        age=age,
        counted=tally.counted,
        failed=tally.failed,
        kept=tally.kept if with_kept else None,
        size=tally.size,
        state=state,
        reason=reason,
    )


def judge(
    schedule: domain.Schedule,
    age: datetime.timedelta | None,
    failed: int,
    thresholds: Thresholds,
) -> tuple[str, str]:
    """The state of a scheduled server, and the reason in words.

    Precedence, worst first: ``missed`` (the newest ACTIVE scheduled
    image is older than the critical age), ``late`` (older than the
    warning age), ``no-images`` (there is none), ``failed-images`` (the
    newest is recent but failed images wait to be deleted), ``ok``. The
    reason of a worse state still mentions failed images.

    :param age: the newest ACTIVE scheduled image's age; None for none.
    """
    warning, critical = thresholds.for_schedule(schedule)
    kind = schedule.kind.lower()
    failures = (
        f"; {failed} failed image{'s' if failed != 1 else ''} to delete"
        if failed
        else ""
    )
    if age is None:
        return NO_IMAGES, f"no ACTIVE scheduled image yet{failures}"
    shown = f"newest image {format_age(age)} old"
    if age > critical:
        limit = f"{kind} critical after {format_age(critical)}"
        return MISSED, f"{shown} ({limit}){failures}"
    if age > warning:
        limit = f"{kind} warning after {format_age(warning)}"
        return LATE, f"{shown} ({limit}){failures}"
    if failed:
        return FAILED_IMAGES, f"{shown}{failures}"
    return OK, shown


# --- the columns of ``list --long`` --------------------------------------

# Table titles (human units), after the schedule columns of ``list``.
LONG_COLUMNS: tuple[str, ...] = (
    *domain.SCHEDULE_COLUMNS,
    "Last image (UTC)",
    "Age",
    "Counted",
    "Failed",
    "Kept",
    "Size",
    "State",
)
# The keys of the machine formats (``-f json``, yaml, csv, value): a
# contract with scripts, so bytes, hours and ISO times, and None for
# "no value".
LONG_KEYS: tuple[str, ...] = (
    "server_id",
    "server_name",
    "type",
    "day_of_week",
    "retention",
    "last_image_id",
    "last_image_created",
    "age_hours",
    "counted",
    "failed",
    "kept",
    "size_bytes",
    "state",
    "reason",
)


def long_cells(row: ServerHealth) -> tuple[Any, ...]:
    """The table row, in the order of :data:`LONG_COLUMNS`; None where
    there is no value."""
    schedule = row.schedule
    return (
        row.server_id,
        row.server_name,
        None if schedule is None else schedule.kind,
        None if schedule is None else schedule.day_of_week,
        None if schedule is None else schedule.retention,
        None if row.last is None else format_time(row.last.created),
        None if row.age is None else format_age(row.age),
        row.counted,
        row.failed,
        row.kept,
        format_size(row.size),
        row.state,
    )


def long_values(row: ServerHealth) -> tuple[Any, ...]:
    """The machine row, in the order of :data:`LONG_KEYS`."""
    schedule = row.schedule
    age = None
    if row.age is not None:
        age = round(row.age.total_seconds() / 3600, 2)
    return (
        row.server_id,
        row.server_name,
        None if schedule is None else schedule.kind.lower(),
        None if schedule is None else schedule.day_of_week,
        None if schedule is None else schedule.retention,
        None if row.last is None else row.last.id,
        None if row.last is None else iso_time(row.last.created),
        age,
        row.counted,
        row.failed,
        row.kept,
        row.size,
        row.state,
        row.reason,
    )


# --- text ----------------------------------------------------------------


def format_age(age: datetime.timedelta) -> str:
    """An age in words: ``8d 4h`` from three days on, ``30h 10m`` below.

    Rounded down to the minute, so 27 h 59 m 59 s never reads as 28 h.
    """
    minutes = int(age.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days < 3:
        # Under three days, hours read better ("30h", "52h": the daily
        # ages people reason in).
        days, hours = 0, hours + 24 * days
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {minutes}m" if minutes else f"{hours}h"
    else:
        text = f"{minutes}m"
    return sign + text


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(size: int) -> str:
    """Bytes in binary units with one decimal: ``1.5 GiB``, ``512 B``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_time(when: datetime.datetime) -> str:
    """An image time as the tables show it: UTC to the minute."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def iso_time(when: datetime.datetime) -> str:
    """An image time as JSON shows it: ISO 8601, UTC, ``Z``."""
    utc = when.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def thresholds_from(args: Any) -> Thresholds:
    """The four ages given on the command line, checked.

    :raises ScheduleError: when a critical age is below its warning age.
    """
    return check_thresholds(
        Thresholds(
            daily_warning=args.daily_warning,
            daily_critical=args.daily_critical,
            weekly_warning=args.weekly_warning,
            weekly_critical=args.weekly_critical,
        )
    )

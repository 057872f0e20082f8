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

from rax_scheduled_images_python_novaclient_ext import config, provenance
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.config import NOW_ENV

# The words of ages, sizes and times; named here too, where 1.1.0 had
# them.
from rax_scheduled_images_python_novaclient_ext.humanize import (
    format_age as format_age,
)
from rax_scheduled_images_python_novaclient_ext.humanize import (
    format_beyond as format_beyond,
)
from rax_scheduled_images_python_novaclient_ext.humanize import (
    format_size as format_size,
)
from rax_scheduled_images_python_novaclient_ext.humanize import (
    format_time as format_time,
)
from rax_scheduled_images_python_novaclient_ext.humanize import (
    iso_time as iso_time,
)

OK = "ok"
LATE = "late"
MISSED = "missed"
NO_IMAGES = "no-images"
FAILED_IMAGES = "failed-images"
CLOCK_SKEW = "clock-skew"
# Worst first: the order of the check's lines, and the precedence when
# more than one state applies to a server.
STATES: tuple[str, ...] = (
    CLOCK_SKEW,
    MISSED,
    LATE,
    NO_IMAGES,
    FAILED_IMAGES,
    OK,
)
# A server without a schedule: nothing is expected of it, unless the
# check is asked to count it (``--unscheduled``).
UNSCHEDULED = "unscheduled"

# An image dated this far after "now" means the two clocks disagree (a
# stale SCHEDULED_IMAGES_NOW, or this machine's clock): its age would
# read as negative, and no state drawn from it can be trusted.
SKEW_LIMIT = datetime.timedelta(hours=1)

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
    """The newest ACTIVE image the service made for a server.

    ``kept`` is True for an image ``keep`` exempted from the service's
    counting: it still proves the schedule ran.
    """

    id: str
    name: str
    created: datetime.datetime
    kept: bool = False

    @property
    def label(self) -> str:
        """How a reason names the image: its name (else its id)."""
        shown = self.name or self.id
        return f"{shown} (kept)" if self.kept else shown


@dataclasses.dataclass(frozen=True)
class ServerHealth:
    """One server's health, as ``list --long`` and ``check`` show it.

    A server without a schedule (listed with ``--all-servers``) has the
    state :data:`UNSCHEDULED`: nothing is expected of it. ``kept`` is
    None when the read left out the images without the marker.
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


def unscheduled(row: domain.ServerSchedule) -> ServerHealth:
    """The health row of a server that has no schedule."""
    return ServerHealth(
        server_id=row.server_id,
        server_name=row.name,
        schedule=None,
        last=None,
        age=None,
        counted=0,
        failed=0,
        kept=None,
        size=0,
        state=UNSCHEDULED,
        reason="no image schedule",
    )


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


def _image(
    image: Mapping[str, Any], created: datetime.datetime, kept: bool = False
) -> LastImage:
    return LastImage(
        str(image.get("id") or ""), str(image.get("name") or ""), created, kept
    )


class Tally:
    """What a server's health is judged from, built one image at a time.

    ``last``: the newest ACTIVE image the service made (marked, or kept
    by ``keep``); ``first_failed``: when the oldest failed one was made;
    ``future``: the newest image dated more than :data:`SKEW_LIMIT`
    after "now" (the two clocks disagree).
    """

    __slots__ = (
        "server_id",
        "server_name",
        "counted",
        "failed",
        "kept",
        "size",
        "last",
        "first_failed",
        "future",
    )

    def __init__(self, server_id: str = "", server_name: str = "") -> None:
        self.server_id = server_id
        self.server_name = server_name
        self.counted = 0
        self.failed = 0
        self.kept = 0
        self.size = 0
        self.last: LastImage | None = None
        self.first_failed: datetime.datetime | None = None
        self.future: LastImage | None = None

    def _newest(self, found: LastImage) -> None:
        if self.last is None or found.created > self.last.created:
            self.last = found

    def add(self, image: Mapping[str, Any], now: datetime.datetime) -> None:
        """Count one image of the server."""
        created = _created(image)
        if created is not None and created - now > SKEW_LIMIT:
            if self.future is None or created > self.future.created:
                self.future = _image(image, created)
        active = _status(image) == "ACTIVE"
        if not domain.is_marked(image):
            self.kept += 1
            if (
                active
                and created is not None
                and provenance.made_by_service(
                    image, self.server_id, self.server_name
                )
            ):
                self._newest(_image(image, created, kept=True))
            return
        if active:
            self.counted += 1
            self.size += _size(image)
            if created is not None:
                self._newest(_image(image, created))
        elif created is None or now - created > SNAPSHOT_TIMEOUT:
            # Not ACTIVE after the hard timeout (or of no known age): the
            # service never counts or prunes it; it stays until deleted.
            self.failed += 1
            self.size += _size(image)
            if created is not None and (
                self.first_failed is None or created < self.first_failed
            ):
                self.first_failed = created


class FleetTally:
    """The health of many servers from one pass over their images.

    Feed it images in any order, page by page (:meth:`add`); images of
    servers it was not given are ignored. Then :meth:`rows`.

    :param servers: the servers (and schedules) to report on.
    :param now: the time ages are measured at (aware).
    :param with_kept: False when the images fed are the marked ones only,
        so the kept count is unknown (None).
    :param now_override: the value of ``SCHEDULED_IMAGES_NOW`` when it
        set "now" (None when the real clock did), for the reason of a
        ``clock-skew``.
    """

    def __init__(
        self,
        servers: Iterable[domain.ServerSchedule],
        now: datetime.datetime,
        with_kept: bool = True,
        now_override: str | None = None,
    ) -> None:
        self.servers = list(servers)
        self.now = now
        self.with_kept = with_kept
        self.now_override = now_override
        self._tallies = {
            row.server_id: Tally(row.server_id, row.name)
            for row in self.servers
        }

    def add(self, images: Iterable[Mapping[str, Any]]) -> None:
        """Count ``images``: those of the servers given, the rest ignored."""
        for image in images:
            tally = self._tallies.get(str(image.get(domain.INSTANCE_KEY)))
            if tally is not None:
                tally.add(image, self.now)

    def rows(self, thresholds: Thresholds) -> list[ServerHealth]:
        """Each server's health, in the order the servers were given."""
        return [self._health(row, thresholds) for row in self.servers]

    def _health(
        self, row: domain.ServerSchedule, thresholds: Thresholds
    ) -> ServerHealth:
        tally = self._tallies[row.server_id]
        age = None if tally.last is None else self.now - tally.last.created
        state, reason = UNSCHEDULED, "no image schedule"
        if row.schedule is not None:
            state, reason = judge(
                row.schedule, tally, self.now, thresholds, self.now_override
            )
        return ServerHealth(
            server_id=row.server_id,
            server_name=row.name,
            schedule=row.schedule,
            last=tally.last,
            age=age,
            counted=tally.counted,
            failed=tally.failed,
            kept=tally.kept if self.with_kept else None,
            size=tally.size,
            state=state,
            reason=reason,
        )


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


def _skew(
    future: LastImage, now: datetime.datetime, override: str | None
) -> str:
    """The reason of a ``clock-skew``: the offset, and where "now" came
    from."""
    offset = format_age(future.created - now)
    source = (
        f"{NOW_ENV} is set to {override}"
        if override
        else f"{NOW_ENV} is not set: check this machine's clock"
    )
    return (
        f"image {future.label} is dated {offset} after now "
        f"({iso_time(now)}); {source}"
    )


def judge(
    schedule: domain.Schedule,
    tally: Tally,
    now: datetime.datetime,
    thresholds: Thresholds,
    now_override: str | None = None,
) -> tuple[str, str]:
    """The state of a scheduled server, and the reason in words.

    Precedence, worst first: ``clock-skew`` (an image is dated more than
    an hour after "now": no age can be trusted), ``missed`` (the newest
    ACTIVE image the service made is older than the critical age; or
    there is none and failed ones go back further than that), ``late``
    (likewise past the warning age), ``no-images`` (none, and nothing
    shows the schedule is older), ``failed-images`` (the newest is
    recent but failed images wait to be deleted), ``ok``. The reason of
    a worse state still mentions failed images, and names the image the
    age is measured from.
    """
    if tally.future is not None:
        return CLOCK_SKEW, _skew(tally.future, now, now_override)
    warning, critical = thresholds.for_schedule(schedule)
    kind = schedule.kind.lower()
    failed = tally.failed
    failures = (
        f"; {failed} failed image{'s' if failed != 1 else ''} to delete"
        if failed
        else ""
    )
    if tally.last is None:
        if tally.first_failed is None:
            return NO_IMAGES, f"no ACTIVE scheduled image yet{failures}"
        age = now - tally.first_failed
        shown = (
            f"no ACTIVE image; {failed} failed since "
            f"{format_time(tally.first_failed)} UTC"
        )
        failures = ""
    else:
        age = now - tally.last.created
        shown = f"newest image {tally.last.label}, {format_age(age)} old"
    for state, level, limit in (
        (MISSED, "critical", critical),
        (LATE, "warning", warning),
    ):
        if age > limit:
            if tally.last is not None:
                shown = (
                    f"newest image {tally.last.label}, "
                    f"{format_beyond(age, limit)} old"
                )
            after = f"{kind} {level} after {format_age(limit)}"
            return state, f"{shown} ({after}){failures}"
    if tally.last is None:
        return NO_IMAGES, shown
    if failed:
        return FAILED_IMAGES, f"{shown}{failures}"
    return OK, shown


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

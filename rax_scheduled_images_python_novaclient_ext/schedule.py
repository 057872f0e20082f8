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
"""The Scheduled Images domain: pure values and decisions, no I/O.

Everything a front end (the ``nova`` commands, the ``openstack`` commands,
the Python API) decides about a schedule lives here, so that each decision
is written once: parsing what a user typed, validating what the cloud
answered, formatting a schedule, merging a partial change into the current
schedule, and predicting which images the service's pruning will take.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rax_scheduled_images_python_novaclient_ext import ids, timestamps

# Part of this module's public API since 1.0.0 (and used by callers as
# ``schedule.<name>``); they live in :mod:`.timestamps`.
from rax_scheduled_images_python_novaclient_ext.timestamps import (  # noqa: F401
    parse_timestamp,
    sort_oldest_first,
)

# The API's day names; the service answers them upper-case.
DAYS: tuple[str, ...] = (
    "SUNDAY",
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
)
_DAY_BY_INPUT: dict[str, str] = {}
for _day in DAYS:
    _DAY_BY_INPUT[_day.lower()] = _day
    _DAY_BY_INPUT[_day[:3].lower()] = _day

DAYS_HELP = ", ".join(day.lower() for day in DAYS)

# The image property by which the service recognises (and counts, and
# prunes) the images it made; removing it exempts an image from pruning.
CREATED_BY_KEY = "org.openstack__1__created_by"
CREATED_BY_VALUE = "scheduled_images_service"
INSTANCE_KEY = "instance_uuid"

# ASCII digits only: str.isdigit() and int() also accept other scripts'
# digits ('٣' is 3 to int()), which is never what a user meant to type.
_RETENTION_RE = re.compile(r"[0-9]+\Z")


class ScheduleError(ValueError):
    """Input the client rejects before anything is sent to the cloud."""


class MalformedResponseError(ValueError):
    """The cloud answered something that is not a schedule."""


def parse_retention(value: object) -> int:
    """Return ``value`` as a positive retention count.

    Accepts an ``int`` or a string of ASCII digits. There is no upper
    bound here: the limit is a setting of the service, which owns it.

    :raises ScheduleError: for 0, negatives, bools, floats, empty or
        non-numeric strings and any other type.
    """
    number = 0  # 0, 3x, -1, 2.5, True: one message for all of them
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _RETENTION_RE.match(value.strip()):
        number = int(value.strip())
    if number < 1:
        shown = value if isinstance(value, str) else repr(value)
        raise ScheduleError(
            f"Invalid retention '{shown}': it must be a positive integer "
            "(1 or more)."
        )
    return number


def parse_day_of_week(value: str | None) -> str | None:
    """Return the API's name for a day typed in any case, or ``None``.

    Full names and three-letter abbreviations are accepted ("sat",
    "Saturday", "SATURDAY"); the result is the upper-case full name the
    API documents. ``None`` means a daily schedule.

    :raises ScheduleError: for anything that is not a day name.
    """
    if value is None:
        return None
    day = (
        _DAY_BY_INPUT.get(value.strip().lower())
        if isinstance(value, str)
        else None
    )
    if day is None:
        raise ScheduleError(
            f"Invalid day of week '{value}': use one of {DAYS_HELP} "
            "(or their first three letters)."
        )
    return day


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A server's image schedule: daily, or weekly on ``day_of_week``."""

    retention: int
    day_of_week: str | None = None

    @property
    def is_weekly(self) -> bool:
        return self.day_of_week is not None

    @property
    def kind(self) -> str:
        """``"Weekly"`` or ``"Daily"``, as the service names its images."""
        return "Weekly" if self.is_weekly else "Daily"

    def to_body(self) -> dict[str, Any]:
        """The request body that sets exactly this schedule."""
        inner: dict[str, Any] = {"retention": self.retention}
        if self.day_of_week is not None:
            inner["day_of_week"] = self.day_of_week
        return {"image_schedule": inner}


def new_schedule(
    retention: object, day_of_week: str | None = None
) -> Schedule:
    """Validate user input into a :class:`Schedule`.

    :raises ScheduleError: when either value is not acceptable.
    """
    return Schedule(parse_retention(retention), parse_day_of_week(day_of_week))


def schedule_from_api(payload: object) -> Schedule:
    """Read the schedule out of a ``{"image_schedule": {...}}`` answer.

    Also accepts the inner object alone (the ``OS-SI:image_schedule``
    server attribute carries it without the wrapper).

    :raises MalformedResponseError: naming what is wrong with the answer.
    """
    if isinstance(payload, Mapping) and "image_schedule" in payload:
        payload = payload["image_schedule"]
    if not isinstance(payload, Mapping):
        raise MalformedResponseError(
            "The cloud's answer has no image_schedule object "
            f"(got {describe_value(payload)})."
        )
    retention = payload.get("retention")
    if (
        isinstance(retention, bool)
        or not isinstance(retention, int)
        or retention < 0
    ):
        raise MalformedResponseError(
            "The cloud's image_schedule has no valid retention "
            f"(got {describe_value(retention)})."
        )
    day = payload.get("day_of_week")
    if day is None:
        return Schedule(retention)
    normalised = (
        _DAY_BY_INPUT.get(day.lower()) if isinstance(day, str) else None
    )
    if normalised is None:
        raise MalformedResponseError(
            "The cloud's image_schedule has an invalid day_of_week "
            f"(got {describe_value(day)})."
        )
    return Schedule(retention, normalised)


def describe_value(value: object) -> str:
    """A short text of what the cloud sent, for a one-line error."""
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def object_list(value: object, problem: str, got: object) -> list[Any]:
    """``value`` when it is a list of JSON objects, as a page of a list
    answer must be.

    :raises MalformedResponseError: ``<problem> (got <got>).`` otherwise.
    """
    if not isinstance(value, list) or not all(
        isinstance(item, dict) for item in value
    ):
        raise MalformedResponseError(f"{problem} (got {describe_value(got)}).")
    return value


def describe_type(schedule: Schedule) -> str:
    """``Weekly on: SATURDAY`` or ``Daily``: the guide's schedule type."""
    if schedule.day_of_week is not None:
        return f"Weekly on: {schedule.day_of_week}"
    return "Daily"


def format_schedule(schedule: Schedule) -> str:
    """The two lines ``nova scheduled-images-show`` prints."""
    return (
        f"Schedule type: {describe_type(schedule)}\n"
        f"Retention: {schedule.retention}"
    )


def merge_schedule(
    current: Schedule | None,
    retention: object = None,
    day_of_week: str | None = None,
    daily: bool = False,
) -> Schedule:
    """Apply a partial change to ``current`` and return the whole result.

    The API replaces the whole schedule on every POST, and a POST without
    a day silently makes a schedule daily; so a change of only the
    retention must carry the current day, and a change of only the day
    must carry the current retention.

    :raises ScheduleError: for bad values, for ``daily`` together with a
        day, and for a server with no schedule when no retention is given.
    """
    if daily and day_of_week is not None:
        raise ScheduleError("Use either a day of week or daily, not both.")
    day = parse_day_of_week(day_of_week)
    if retention is not None:
        new_retention = parse_retention(retention)
    elif current is not None:
        new_retention = current.retention
    else:
        raise ScheduleError(
            "This server has no image schedule yet: a retention is required."
        )
    if daily:
        return Schedule(new_retention)
    if day is None and current is not None:
        day = current.day_of_week
    return Schedule(new_retention, day)


# --- pruning -------------------------------------------------------------


def is_marked(image: Mapping[str, Any]) -> bool:
    """True when the service counts ``image`` (its marker is present)."""
    return image.get(CREATED_BY_KEY) == CREATED_BY_VALUE


def plan_prune(
    images: Iterable[Mapping[str, Any]],
    server_id: str,
    retention: int | None,
) -> frozenset[str]:
    """Ids of the images the service deletes after its next image.

    The service's rule, run when a new scheduled image of the server
    becomes ACTIVE: take the images that carry the marker, belong to
    ``server_id`` and are ACTIVE; newest first by creation time; keep
    ``retention`` of them and delete the rest. The new image is the
    newest, so of today's counted images the newest ``retention - 1``
    survive. With no schedule (``retention`` None or 0) the service
    deletes nothing.

    Equal times are ordered by id, as in Glance's list, which the
    service's sort keeps, whatever order ``images`` come in. An image
    whose creation time is missing or unreadable counts as the OLDEST,
    so it is forecast deleted first: the service's worker does the same
    with a missing time (it sorts the text), and for a backup tool it is
    the safe side, as no image is called safe when its age is unknown.
    The sandbox's scheduler orders the same way.
    """
    if not retention or retention < 1:
        return frozenset()
    counted = [
        image
        for image in images
        if is_marked(image)
        and image.get(INSTANCE_KEY) == server_id
        and str(image.get("status", "")).upper() == "ACTIVE"
    ]
    counted.sort(key=timestamps.age_order, reverse=True)
    return frozenset(str(image["id"]) for image in counted[retention - 1 :])


# --- the images of a server, and every server's schedule -----------------

# Column titles, shared by the ``nova`` and ``openstack`` commands so both
# print the same table.
IMAGE_COLUMNS: tuple[str, ...] = (
    "ID",
    "Name",
    "Created",
    "Status",
    "Counted",
    "Deleted at next run",
)
SCHEDULE_COLUMNS: tuple[str, ...] = ("ID", "Name", "Type", "Day", "Retention")


def yes_no(value: bool) -> str:
    """``"yes"`` or ``"no"``: how the tables show a flag."""
    return "yes" if value else "no"


@dataclasses.dataclass(frozen=True)
class ImageRow:
    """One image of a server as ``scheduled-images-image-list`` shows it.

    ``counted`` means the service counts the image against the
    retention (and may delete it): it carries the marker and is ACTIVE.
    ``count_state`` is the *Counted* column's word for it
    (:func:`.ids.count_state`: yes, no, in progress, failed);
    ``deleted_at_next_run`` is the prediction of :func:`plan_prune`.
    """

    id: str
    name: str
    created: str
    status: str
    counted: bool
    deleted_at_next_run: bool
    count_state: str = ids.NOT_COUNTED

    def cells(self) -> tuple[str, ...]:
        """The row's text, in the order of :data:`IMAGE_COLUMNS`."""
        return (
            self.id,
            self.name,
            self.created,
            self.status,
            self.count_state,
            yes_no(self.deleted_at_next_run),
        )


def _belongs_to(image: Mapping[str, Any], server_id: str) -> bool:
    # Exact, not ids.same_server: the service finds a server's images
    # with the Image API's exact filter (instance_uuid=<id>), so one
    # spelled otherwise is never counted or pruned by it.
    return image.get(INSTANCE_KEY) == server_id


def image_rows(
    images: Iterable[Mapping[str, Any]],
    server_id: str,
    retention: int | None,
) -> list[ImageRow]:
    """The images of ``server_id``, oldest first, with the prune forecast.

    Images with and without the marker are both listed: the kept ones
    (marker removed) are shown as not counted. Images of other servers
    are left out. ``retention`` None (no schedule) forecasts no deletion,
    as the service then deletes nothing.
    """
    own = [image for image in images if _belongs_to(image, server_id)]
    doomed = plan_prune(own, server_id, retention)
    return [
        ImageRow(
            id=str(image.get("id", "")),
            name=str(image.get("name") or ""),
            created=str(image.get("created_at") or image.get("created") or ""),
            status=str(image.get("status") or ""),
            counted=state == ids.COUNTED,
            deleted_at_next_run=str(image.get("id", "")) in doomed,
            count_state=state,
        )
        for image in sort_oldest_first(own)
        for state in [ids.count_state(is_marked(image), image.get("status"))]
    ]


def mark(image: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``image`` carrying the service's marker."""
    marked = dict(image)
    marked[CREATED_BY_KEY] = CREATED_BY_VALUE
    return marked


def plan_release(
    images: Iterable[Mapping[str, Any]],
    server_id: str,
    retention: int | None,
    releasing_ids: Iterable[str],
) -> frozenset[str]:
    """Ids the service deletes at its next run once ``releasing_ids`` count.

    The same rule as :func:`plan_prune`, applied to ``images`` as they
    will be after the released images carry the marker again: releasing
    an old image can make it (or another image) the one that goes.
    """
    releasing = frozenset(releasing_ids)
    after = [
        mark(image) if str(image.get("id")) in releasing else image
        for image in images
    ]
    return plan_prune(after, server_id, retention)


def check_releasable(image: Mapping[str, Any]) -> str:
    """Return the server id ``image`` belongs to, so it can be released.

    The service counts only images of a server (``instance_uuid``); the
    marker on any other image would count for nothing and mislead.

    :raises ScheduleError: for an image that belongs to no server.
    """
    server_id = image.get(INSTANCE_KEY)
    if not isinstance(server_id, str) or not server_id:
        raise ScheduleError(
            f"Image {image.get('id')} belongs to no server (it has no "
            f"{INSTANCE_KEY}): the scheduled images service would never "
            "count it, so it cannot be released."
        )
    return server_id


@dataclasses.dataclass(frozen=True)
class ServerSchedule:
    """A server and its image schedule (``None``: it has none)."""

    server_id: str
    name: str
    schedule: Schedule | None
    # The server's metadata as the listing showed it (policy files match
    # on it); not part of what a schedule row is equal to.
    metadata: Mapping[str, str] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def cells(self) -> tuple[str, str, str | None, str | None, int | None]:
        """The row, in the order of :data:`SCHEDULE_COLUMNS`.

        One type per column (Retention a number, the rest text). A
        missing value is ``None``, never ``""``, the rule for new columns
        too (the front ends show it blank, or null in JSON: osc/columns).
        """
        if self.schedule is None:
            return (self.server_id, self.name, None, None, None)
        return (
            self.server_id,
            self.name,
            self.schedule.kind,
            self.schedule.day_of_week,
            self.schedule.retention,
        )


class ServerScheduleList(list[ServerSchedule]):
    """A list of :class:`ServerSchedule`, and how it was obtained.

    ``used_fallback`` is True when the cloud's server list did not show
    the schedules, so each server's schedule was asked for on its own.
    """

    used_fallback: bool = False

    def __init__(
        self, items: Iterable[ServerSchedule] = (), used_fallback: bool = False
    ) -> None:
        super().__init__(items)
        self.used_fallback = used_fallback


def schedule_from_attribute(value: object) -> Schedule | None:
    """The schedule in a server's ``OS-SI:image_schedule`` attribute.

    An absent (``None``) or empty attribute means no schedule.

    :raises MalformedResponseError: for anything else that is not one.
    """
    if value is None or value == {}:
        return None
    return schedule_from_api(value)

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
"""The scheduled images service's daily run: make images, then prune.

Time in the sandbox moves only when asked (`tick`), never by a timer, so
tests decide exactly which days pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from .model import (
    CREATED_BY,
    DAYS,
    SERVICE_MARK,
    Image,
    Server,
    format_time,
    parse_time,
)
from .seed import make_image
from .state import State


@dataclass
class TickReport:
    """What one or more ticks did, for the admin API and tests."""

    days: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def is_due(server: Server, clock: dt.datetime) -> bool:
    """Daily schedules are always due; weekly ones on their UTC weekday."""
    if server.schedule is None:
        return False
    day = server.schedule.day_of_week
    return (
        day is None or DAYS[clock.astimezone(dt.timezone.utc).weekday()] == day
    )


def plan_prune(
    images: Iterable[Image], server_id: str, owner: str, retention: int
) -> list[str]:
    """The ids of images the service deletes for one server.

    This is the sandbox's own implementation of the service's rule, kept
    apart from the client's on purpose: it is the stand-in for the real
    server and serves as an independent oracle for the client's
    prediction of what will be pruned.

    The rule: among the owner's images that carry
    `org.openstack__1__created_by = scheduled_images_service`, whose
    `instance_uuid` is the server and whose status is active, keep the
    `retention` newest (by created_at, ties by id, both descending, as
    Glance sorts; a created_at that cannot be read counts as the oldest)
    and delete the rest. A retention of 0 or less means the
    schedule is gone: nothing is deleted. Unmarked images, other servers'
    images and images not yet active are neither counted nor deleted.
    """
    if retention <= 0:
        return []
    counted = [
        image
        for image in images
        if image.owner == owner
        and image.status == "active"
        and image.properties.get(CREATED_BY) == SERVICE_MARK
        and image.properties.get("instance_uuid") == server_id
    ]
    counted.sort(key=_age, reverse=True)
    return [image.id for image in counted[retention:]]


# An image whose created_at cannot be read counts as the oldest (the
# service sorts the time as text, where an empty one is the oldest).
_UNREADABLE = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _age(image: Image) -> tuple[dt.datetime, str]:
    """created_at as a time, then id: Glance's order for equal times."""
    try:
        return (parse_time(image.created_at), image.id)
    except ValueError:
        return (_UNREADABLE, image.id)


def prune(state: State, server: Server) -> list[str]:
    """Delete what `plan_prune` picks for one server; returns the ids."""
    retention = server.schedule.retention if server.schedule else 0
    candidates = [
        state.images[i] for i in state.instance_images.get(server.id, ())
    ]
    doomed = plan_prune(candidates, server.id, server.project_id, retention)
    for image_id in doomed:
        state.remove_image(image_id)
    return doomed


# What a server's daily job does; set per server (admin API "outcome").
SNAPSHOT_OUTCOMES = ("ok", "skip", "fail")


def run_job(state: State, server: Server, report: TickReport) -> None:
    """One server's daily job at the clock's time.

    "ok": an ACTIVE image, then pruning. "skip": nothing at all, as when
    the service misses a run. "fail": the snapshot ends `killed` with
    the marker and no size; it is never counted or pruned (pruning still
    runs, as the service's does after a job that gave up).
    """
    assert server.schedule is not None
    outcome = server.snapshot_outcome
    if outcome == "skip":
        return
    kind = "Weekly" if server.schedule.day_of_week else "Daily"
    image = make_image(state, server, state.clock, kind=kind)
    if outcome == "fail":
        image.status, image.size = "killed", 0
    state.add_image(image)
    report.created.append(image.id)
    report.deleted.extend(prune(state, server))


def tick(state: State, days: int = 1) -> TickReport:
    """Run the service for `days` UTC days at the sandbox clock.

    Each day: every due server (in project, then Nova list order) gets one
    image named `Daily-<name>-<unix seconds>` or `Weekly-...`, active at
    once, created at the clock's time; then that server's images are
    pruned; after all servers, the clock moves on one day.
    """
    report = TickReport()
    for _ in range(days):
        report.days.append(format_time(state.clock))
        for project_id in sorted(state.project_servers):
            for server_id in state.project_servers[project_id]:
                server = state.servers[server_id]
                if not is_due(server, state.clock):
                    continue
                run_job(state, server, report)
        state.clock += dt.timedelta(days=1)
    return report

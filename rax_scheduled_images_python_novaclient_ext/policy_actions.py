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
"""Policies against a cloud: read the fleet, plan, apply, export.

The decisions are :mod:`.policy_plan`'s; this module only reads and
writes through the managers. A plan costs the server list's pages (one
per 1,000 servers on a cloud whose list shows schedules and metadata)
and, for each retention decrease only, that server's images (the
forecast). :func:`apply` is given a :class:`~.policy_plan.Plan` and
changes its rows and nothing else, each through the same bulk path as
``set`` (:mod:`.bulk`: concurrency, one line per server, Ctrl-C reports
what was done), each after re-reading that server's schedule: a server
whose schedule is no longer the one the plan was made from is skipped,
never overwritten.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from rax_scheduled_images_python_novaclient_ext import (
    actions,
    bulk,
    regions,
)
from rax_scheduled_images_python_novaclient_ext import policy as policies
from rax_scheduled_images_python_novaclient_ext import policy_plan as plans
from rax_scheduled_images_python_novaclient_ext import schedule as domain


@dataclasses.dataclass(frozen=True)
class RegionClients:
    """The managers of one region (``region`` None: the one region the
    session reaches, unnamed)."""

    region: str | None
    schedules: Any  # a ScheduleManager
    images: Callable[[], Any]  # -> an ImageManager, made when needed


class ChangedSincePlan(Exception):
    """A row's server no longer has the schedule the plan was made from:
    nothing was changed for it."""

    def __init__(self, row: plans.PlanRow, now: domain.Schedule | None):
        self.row = row
        self.now = now
        super().__init__(
            "skipped: its schedule changed since the plan (planned from "
            f"{plans.describe(row.current) or 'no schedule'}, now "
            f"{plans.describe(now) or 'no schedule'}); nothing changed"
        )


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What :func:`apply` did: the rows that failed (with the error) and
    those skipped because their server changed since the plan."""

    total: int
    failed: tuple[tuple[plans.PlanRow, Exception], ...]
    skipped: tuple[plans.PlanRow, ...]

    @property
    def all_done(self) -> bool:
        return not self.failed and not self.skipped

    def line(self) -> str:
        """``N of M changes not made: F failed, S skipped ...``."""
        return (
            f"{len(self.failed) + len(self.skipped)} of {self.total} "
            f"changes not made: {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped (changed since the plan)."
        )


@dataclasses.dataclass(frozen=True)
class Fleet:
    """The servers read, and one line for each region that could not be
    read (its servers are in no plan: never dropped silently)."""

    servers: tuple[plans.FleetServer, ...]
    unread: tuple[str, ...] = ()


def _read_region(
    region: RegionClients, concurrency: int
) -> list[plans.FleetServer]:
    rows = region.schedules.list_schedules(
        all_servers=True, concurrency=concurrency
    )
    return [
        plans.FleetServer(
            row.server_id, row.name, row.schedule,
            dict(row.metadata), region.region,
        )
        for row in rows
    ]  # fmt: skip


def read_fleet(clients: Sequence[RegionClients], concurrency: int) -> Fleet:
    """Every server of every region given, with schedule and metadata.

    One region is read as every command reads it (a failure is the
    command's error); several at the same time, a region that fails
    kept as its line in ``unread``.

    :raises novaclient.exceptions.ClientException: when the one region's
        list fails.
    """
    if len(clients) == 1:
        return Fleet(tuple(_read_region(clients[0], concurrency)))
    results = regions.read_each(
        clients,
        lambda region: _read_region(region, concurrency),
        lambda region: str(region.region),
    )
    servers = [s for result in results for s in result.value or ()]
    unread = [regions.failure_line(r) for r in results if r.failed]
    return Fleet(tuple(servers), tuple(unread))


def make_plan(
    policy: policies.Policy,
    clients: Sequence[RegionClients],
    concurrency: int,
) -> tuple[plans.Plan, Fleet]:
    """The plan for ``policy``, with the forecast of every decrease, and
    the fleet it was made from.

    :raises novaclient.exceptions.ClientException: when a read fails.
    """
    fleet = read_fleet(clients, concurrency)
    plan = plans.decide(policy, fleet.servers)
    by_region = {region.region: region for region in clients}
    decreases = plan.decreases()

    def images_of(row: plans.PlanRow) -> list[dict[str, Any]]:
        manager = by_region[row.region].images()
        listed: list[dict[str, Any]] = manager.list_for_server(row.server_id)
        return listed

    if not decreases:
        return plan, fleet
    # Threads only when there is a forecast to read.
    from concurrent import futures

    with futures.ThreadPoolExecutor(max(1, concurrency)) as pool:
        listed = list(pool.map(images_of, decreases))
    forecast = plans.forecast(
        plan,
        {
            (row.region, row.server_id): images
            for row, images in zip(decreases, listed, strict=True)
        },
    )
    return forecast, fleet


def apply_row(schedules: Any, row: plans.PlanRow) -> str:
    """Make ``row``'s change, unless its server changed since the plan.

    The schedule is read again just before the change; a 404 for a row
    planned from a schedule is confirmed (``GET /servers/{id}``), so a
    server deleted since reads as such, not as a change.

    :returns: the line that says what was done.
    :raises ChangedSincePlan: nothing was changed.
    :raises NoSuchServer: the server is gone.
    """
    now = actions.current_schedule(
        schedules, row.server_id, confirm=row.current is not None
    )
    if now != row.current:
        raise ChangedSincePlan(row, now)
    if row.wanted is None:
        # As ``unset``: the id is confirmed before the DELETE, whose
        # answer proves nothing about the server.
        bulk.unless_stopped(schedules.disable)(row.server_id)
        return f"{plans.DELETE}: scheduled images disabled"
    done = bulk.unless_stopped(schedules.set)(row.server_id, row.wanted)
    shown = plans.describe(done.to_schedule())
    before = plans.describe(row.current)
    return f"{row.action}: {before + ' -> ' if before else ''}{shown}"


def apply(
    plan: plans.Plan,
    clients: Sequence[RegionClients],
    concurrency: int,
    out: bulk.Writable,
    err: bulk.Writable,
) -> Outcome:
    """Make the changes of ``plan``, and only those.

    One line per row on ``out`` (``<server>: <what was done>``), or on
    ``err`` for a row that failed or was skipped; the rows of other
    servers, and servers not in the plan, are never touched.

    :raises TypeError: for anything but a :class:`~.policy_plan.Plan`.
    :raises bulk.Interrupted: after Ctrl-C, once the rows started are
        reported.
    """
    if not isinstance(plan, plans.Plan):
        raise TypeError("apply takes the Plan that was shown, nothing else")
    by_region = {region.region: region.schedules for region in clients}
    failures = bulk.change_each(
        plan.rows,
        lambda row: apply_row(by_region[row.region], row),
        lambda row, line: f"{row.label}: {line}",
        lambda row: row.label,
        concurrency,
        out,
        err,
    )
    if len(plan.rows) == 1 and failures:
        # change_each leaves a single item's error to its caller.
        ((row, error),) = failures
        err.write(f"{row.label}: {bulk.one_line(error)}\n")
    skipped = tuple(
        row for row, error in failures if isinstance(error, ChangedSincePlan)
    )
    failed = tuple(
        (row, error)
        for row, error in failures
        if not isinstance(error, ChangedSincePlan)
    )
    return Outcome(len(plan.rows), failed, skipped)


def export(
    clients: Sequence[RegionClients], concurrency: int, with_region: bool
) -> tuple[str, Fleet]:
    """The fleet's schedules as a policy file (:func:`.policy_plan.export`),
    and the fleet read (its ``unread`` regions are not in the file).

    :raises novaclient.exceptions.ClientException: when a read fails.
    """
    fleet = read_fleet(clients, concurrency)
    return plans.export(fleet.servers, with_region), fleet

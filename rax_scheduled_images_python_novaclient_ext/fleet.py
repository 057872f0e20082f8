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
"""Fleet-wide reads: the images of many servers in one scan.

Asking the Image API once per server costs one request per scheduled
server (2,001 for 2,000 servers). The project's own images, read 1,000
a page, cost one request per page instead (about 100 for 100,000
images), whatever the number of servers. Which is cheaper depends on a
number no API gives, the project's image count, so the scan is tried
and given up as soon as it has cost a quarter of what the per-server
way would (see :func:`scan_budget`).

Both front ends call these; the decisions are in :mod:`.health`.
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import (
    actions,
    check,
    clock,
    config,
    deleted_servers,
    health,
)
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.catalog import catalog_region
from rax_scheduled_images_python_novaclient_ext.errors import (
    NoSchedule,
    Refused,
)

SCAN = "scan"
PER_SERVER = "per-server"

# What the health and the image list show of an image: nothing else of
# the 100,000 images is kept.
HEALTH_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "status",
    "created_at",
    "size",
    domain.INSTANCE_KEY,
    domain.CREATED_BY_KEY,
)
LIST_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "status",
    "created_at",
    domain.INSTANCE_KEY,
    domain.CREATED_BY_KEY,
)


# A sink: anything with ``add(images)``, fed a page at a time.
SinkT = Any


def scan_budget(servers: int) -> int:
    """How many pages the scan may read before it is given up.

    The per-server way costs one request per server. A scan that has
    read a quarter as many pages and is not finished gives way to it, so
    a project with few servers among many images pays at most a quarter
    more (plus one page) than the per-server way; with fewer than four
    servers the scan is not tried at all.
    """
    return servers // 4


def read_images(
    images: Any,
    server_ids: Sequence[str],
    new_sink: Callable[[], SinkT],
    *,
    marked_only: bool = False,
    fields: Sequence[str] = HEALTH_FIELDS,
    concurrency: int = 8,
) -> tuple[SinkT, str]:
    """Feed the images of ``server_ids`` to a sink; the cheaper way.

    :param images: an :class:`~.images.ImageManager`.
    :param new_sink: makes an empty sink (called again when the scan is
        given up, so nothing of it is counted twice).
    :param marked_only: only the service's images are needed; the scan
        then asks the Image API to filter on the marker.
    :returns: the sink, and :data:`SCAN` or :data:`PER_SERVER`.
    :raises novaclient.exceptions.ClientException: when the Image API
        refuses a request.
    :raises MalformedResponseError: for an answer that is not a list.
    """
    budget = scan_budget(len(server_ids))
    if budget:
        sink = new_sink()
        pages = images.project_image_pages(
            marked_only=marked_only, fields=fields
        )
        for number, page in enumerate(pages, 1):
            if number > budget:
                break
            sink.add(page)
        else:
            return sink, SCAN
    sink = new_sink()
    _each_server(images, server_ids, sink, fields, concurrency)
    return sink, PER_SERVER


def _each_server(
    images: Any,
    server_ids: Sequence[str],
    sink: SinkT,
    fields: Sequence[str],
    concurrency: int,
) -> None:
    """One image list per server, ``concurrency`` at a time."""
    if not server_ids:
        return
    from concurrent import futures

    workers = max(1, min(concurrency, len(server_ids)))
    with futures.ThreadPoolExecutor(workers) as pool:
        for found in pool.map(images.list_for_server, server_ids):
            sink.add(
                {key: image[key] for key in fields if key in image}
                for image in found
            )


@dataclasses.dataclass
class HealthRead:
    """The rows of a health read, and how the images were read."""

    rows: list[health.ServerHealth]
    way: str
    used_fallback: bool = False


def read_health(
    images: Any,
    servers: Sequence[domain.ServerSchedule],
    now: datetime.datetime,
    thresholds: health.Thresholds,
    *,
    with_kept: bool = True,
    concurrency: int = 8,
) -> HealthRead:
    """The health of ``servers`` (from ``list_schedules`` or
    :func:`named_servers`), their images read the cheaper way.

    :param with_kept: count the images without the marker too (needs
        every image of the project, not only the service's).
    """
    override = os.environ.get(config.NOW_ENV, "").strip() or None
    sink, way = read_images(
        images,
        [row.server_id for row in servers],
        lambda: health.FleetTally(servers, now, with_kept, override),
        marked_only=not with_kept,
        concurrency=concurrency,
    )
    return HealthRead(
        sink.rows(thresholds),
        way,
        bool(getattr(servers, "used_fallback", False)),
    )


class _ByServer:
    """The images of the servers wanted, grouped by server."""

    def __init__(self, server_ids: Iterable[str]) -> None:
        self.images: dict[str, list[Mapping[str, Any]]] = {
            server_id: [] for server_id in server_ids
        }

    def add(self, images: Iterable[Mapping[str, Any]]) -> None:
        for image in images:
            found = self.images.get(str(image.get(domain.INSTANCE_KEY)))
            if found is not None:
                found.append(image)


def image_table(
    images: Any,
    scheduled: Sequence[tuple[str, int]],
    concurrency: int = 8,
) -> tuple[list[tuple[str, ...]], str]:
    """Every image of the scheduled servers, as ``openstack scheduled
    image list`` shows them: rows of (server id, *ImageRow cells), each
    server's images oldest first with the prune forecast.

    :param scheduled: ``(server id, retention)`` of each server.
    :returns: the rows, and how the images were read.
    """
    ids = [server_id for server_id, _ in scheduled]
    sink, way = read_images(
        images,
        ids,
        lambda: _ByServer(ids),
        fields=LIST_FIELDS,
        concurrency=concurrency,
    )
    table: list[tuple[str, ...]] = []
    for server_id, retention in scheduled:
        found = sink.images.pop(server_id, [])
        for row in domain.image_rows(found, server_id, retention):
            table.append((server_id, *row.cells()))
    return table, way


def named_servers(
    cs: Any, schedules: Any, names: Sequence[str]
) -> list[domain.ServerSchedule]:
    """The servers named (or identified), each once, with their schedule.

    :param schedules: the :class:`~.manager.ScheduleManager`.
    :raises novaclient.exceptions.CommandError: for an unknown or
        ambiguous name.
    """
    found: dict[str, domain.ServerSchedule] = {}
    for name in names:
        server = actions.find_server(cs, name, schedules.retry_policy)
        schedule = schedules.shown_on(server)
        if schedule is None:
            try:
                # The Server itself: it was found, so nothing to confirm.
                schedule = schedules.get(server).to_schedule()
            except NoSchedule:
                pass
        server_id = str(server.id)
        found[server_id] = domain.ServerSchedule(
            server_id, str(getattr(server, "name", "") or ""), schedule
        )
    return list(found.values())


def describe_error(error: BaseException) -> str:
    """One line for the check's UNKNOWN: what failed, and the cloud's
    words."""
    text = " ".join(str(error).split())
    if isinstance(error, (exceptions.CommandError, Refused)):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# What a health read joins servers with images under; the purge's words
# are for deleted servers.
JOIN_CONSEQUENCE = "every server would look as if it had no images"


def check_same_region(cs: Any, images: Any) -> None:
    """Refuse to join servers with images across two regions (the
    purge's rule, :func:`.deleted_servers.check_same_region`).

    :raises OrphanError: naming both regions.
    """
    deleted_servers.check_same_region(cs, images, JOIN_CONSEQUENCE)


# The record lives with the pure check that reads it; fleet makes it.
RegionRead = check.RegionRead


def ignored(name: str, patterns: Sequence[str]) -> bool:
    """True when the server name matches one of the ``--ignore-server``
    globs (case-sensitive, as Nova's names are)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _servers_to_check(
    cs: Any, manager: Any, names: Sequence[str], concurrency: int
) -> list[domain.ServerSchedule]:
    """The servers named (each must have a schedule), or every server of
    the project from one unfiltered listing (it carries the schedules).

    :raises novaclient.exceptions.CommandError: for a server named that
        has no schedule.
    """
    if not names:
        return list(
            manager.list_schedules(all_servers=True, concurrency=concurrency)
        )
    servers = named_servers(cs, manager, names)
    for row in servers:
        if row.schedule is None:
            raise exceptions.CommandError(
                f"Server {row.name} ({row.server_id}) has no image "
                "schedule: there is nothing to check."
            )
    return servers


def read_region(
    compute: Callable[[], Any],
    schedules: Callable[[], Any],
    images: Callable[[], Any],
    names: Sequence[str],
    options: check.CheckOptions,
    *,
    now: datetime.datetime | None = None,
    concurrency: int = 8,
) -> RegionRead:
    """Read one region's health for the check; never raises for a cloud
    error: anything that keeps the region from being read (login,
    catalog, refusal, an answer that is not what the API documents,
    compute and image endpoints in two regions, a server named that does
    not exist or has no schedule) is the read's ``error``.

    :param compute: makes the region's novaclient Client (inside the
        read, so that its failure is an error too); ``schedules`` (the
        schedule manager) and ``images`` (the image manager) likewise.
    :param names: read only these servers (names or IDs); empty: every
        server, the unscheduled ones counted apart. One server list is
        read (unfiltered: it carries each server's schedule), so the
        servers without a schedule cost no request more.
    :param now: the time ages are measured at (default: :func:`.clock.now`).
    """
    region = project = None
    try:
        when = now or clock.now()
        cs, manager, image_manager = compute(), schedules(), images()
        region = catalog_region(cs.client)
        project = image_manager.project_id()
        check_same_region(cs, image_manager)
        servers = _servers_to_check(cs, manager, names, concurrency)
        scheduled = [row for row in servers if row.schedule is not None]
        read = read_health(
            image_manager,
            scheduled,
            when,
            options.thresholds,
            concurrency=concurrency,
        )
    except Exception as error:  # every failure is the region's UNKNOWN
        return RegionRead(region, project, [], [], describe_error(error))
    unscheduled = [
        health.unscheduled(row)
        for row in servers
        if row.schedule is None
        and not ignored(row.name, options.ignore_servers)
    ]
    return RegionRead(region, project, read.rows, unscheduled)


def check_fleet(
    compute: Callable[[], Any],
    schedules: Callable[[], Any],
    images: Callable[[], Any],
    names: Sequence[str],
    options: check.CheckOptions,
    concurrency: int = 8,
) -> tuple[list[str], int]:
    """The monitoring check of one region: its lines of stdout and its
    exit code (:func:`read_region`, then :func:`.check.report`).

    Anything that keeps the cloud from being read is the check's
    UNKNOWN, exit 3, with the reason on the first line.
    """
    read = read_region(
        compute,
        schedules,
        images,
        names,
        options,
        concurrency=concurrency,
    )
    return check.report([read], options)

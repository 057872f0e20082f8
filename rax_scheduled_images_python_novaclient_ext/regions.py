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
"""Every region: which ones, one client per region, rows merged with the
failures kept beside them.

A Keystone catalog lists each service once per region; a server, its
schedule and its images live in one region, and a region's compute
service knows nothing of another's servers (api.md, "Regions"). So a
read of several regions logs in once and builds, for each region, a
novaclient Client, a schedule manager and an image manager on that
region's own endpoints, all on the one keystoneauth session (one
token). The regions are read at the same time, each on its own thread:
the wall time is the slowest region's, not the sum.

A region that cannot be read (an error, a timeout, no Scheduled Images
service under either alias) is never dropped: its
:class:`RegionResult` carries the reason instead of a value, and the
front ends print it.

The choosing and the merging are pure functions; only
:func:`catalog_regions`, :func:`clients_for` and :func:`read_each` touch
a session or threads.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from rax_scheduled_images_python_novaclient_ext import options
from rax_scheduled_images_python_novaclient_ext.errors import Refused

T = TypeVar("T")
R = TypeVar("R")

# How many regions are read at once: Rackspace has six.
MAX_PARALLEL_REGIONS = 8

# The key (JSON, YAML, CSV) and the title (a table) of the region column.
REGION_KEY = "region"
REGION_TITLE = "Region"


class RegionError(Refused):
    """A region option the catalog cannot satisfy (one line)."""


@dataclasses.dataclass
class RegionClients:
    """What reading one region takes: its own compute client (a
    python-novaclient Client), schedule manager and image manager."""

    region: str
    compute: Any
    schedules: Any
    images: Any


@dataclasses.dataclass
class RegionResult(Generic[T]):
    """One region's answer: ``value``, or ``error`` (one line) when the
    region could not be read."""

    region: str
    value: T | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def choose(
    available: Sequence[str], all_regions: bool, named: Sequence[str]
) -> list[str]:
    """The regions to read, in the catalog's order (named ones: as named,
    each once).

    :param available: the catalog's regions that have a compute endpoint.
    :raises RegionError: for a region the catalog does not list (naming
        the ones it does), or a catalog with no region at all.
    """
    if all_regions:
        if not available:
            raise RegionError(
                "The catalog lists no region with a compute endpoint."
            )
        return list(available)
    wanted = list(dict.fromkeys(named))
    unknown = [name for name in wanted if name not in available]
    if unknown:
        listed = ", ".join(available) or "none"
        raise RegionError(
            f"No region {unknown[0]} in the catalog; its regions with a "
            f"compute endpoint: {listed}."
        )
    return wanted


def compute_regions(endpoints: Iterable[Any]) -> list[str]:
    """The regions of compute endpoints, in catalog order, each once.

    :param endpoints: keystoneauth ``EndpointData`` (or anything with a
        ``region_name``) of the compute service.
    """
    found: dict[str, None] = {}
    for endpoint in endpoints:
        region = getattr(endpoint, "region_name", None)
        if region:
            found.setdefault(str(region), None)
    return list(found)


def describe(error: BaseException) -> str:
    """Why a region could not be read, on one line."""
    from novaclient import exceptions

    from rax_scheduled_images_python_novaclient_ext.errors import (
        NoSchedule,
        NoSuchServer,
    )

    if isinstance(error, exceptions.NotFound) and not isinstance(
        error, (NoSchedule, NoSuchServer)
    ):
        return "no Scheduled Images service under either alias (HTTP 404)"
    text = " ".join(str(getattr(error, "message", None) or error).split())
    code = getattr(error, "code", None)
    if isinstance(code, int) and f"HTTP {code}" not in text:
        text = f"{text} (HTTP {code})"
    if isinstance(error, (Refused, exceptions.CommandError)):
        return text
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def failure_line(result: RegionResult[Any]) -> str:
    """The line a list prints (on stderr) for a region it could not read."""
    return f"Region {result.region} could not be read: {result.error}"


def merge_rows(
    results: Sequence[RegionResult[Any]],
    with_region: bool,
) -> tuple[list[tuple[Any, ...]], list[RegionResult[Any]]]:
    """The rows of every region that was read, region by region in the
    order given, each with its region first when ``with_region``; and
    the regions that failed, in the same order."""
    rows: list[tuple[Any, ...]] = []
    failed: list[RegionResult[Any]] = []
    for result in results:
        if result.failed:
            failed.append(result)
            continue
        prefix = (result.region,) if with_region else ()
        rows.extend((*prefix, *row) for row in result.value or ())
    return rows, failed


def with_region_column(
    columns: Sequence[str], machine: bool
) -> tuple[str, ...]:
    """``columns`` with the region's first: ``region`` for the formats a
    program reads (the key of each JSON or YAML row), ``Region`` in a
    table."""
    return (REGION_KEY if machine else REGION_TITLE, *columns)


def read_each(
    targets: Sequence[R],
    read: Callable[[R], T],
    region_of: Callable[[R], str],
    parallel: int = MAX_PARALLEL_REGIONS,
    timeout: float | None = None,
) -> list[RegionResult[T]]:
    """``read`` every target at the same time (at most ``parallel`` at
    once); one result per target, in the order given, a failure as its
    reason (:func:`describe`).

    :param timeout: seconds to wait for all of them; a region still
        reading then is a failure ("no answer within N s"), and its
        thread, a daemon, is left behind (it holds nothing the command
        still needs, and does not keep the process alive). None: wait
        as long as they take.

    Ctrl-C is not caught: the waiting is interrupted at once.
    """
    results: list[RegionResult[T] | None] = [None] * len(targets)
    gate = threading.BoundedSemaphore(max(1, parallel))

    def one(index: int, target: R) -> None:
        with gate:
            try:
                found = RegionResult(region_of(target), read(target))
            except Exception as error:  # kept beside the others, never lost
                found = RegionResult(region_of(target), error=describe(error))
            results[index] = found

    threads = [
        threading.Thread(
            target=one, args=(index, target), daemon=True, name="region"
        )
        for index, target in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threads:
        left = None if deadline is None else deadline - time.monotonic()
        thread.join(None if left is None else max(0.0, left))
    return [
        result
        if result is not None
        else RegionResult(
            region_of(target), error=f"no answer within {timeout:g} s"
        )
        for result, target in zip(results, targets, strict=True)
    ]


def parse_timeout(value: str) -> float:
    """``--region-timeout``: seconds, more than 0.

    :raises argparse.ArgumentTypeError: for anything else.
    """
    return options.positive_seconds(
        value,
        "invalid timeout '{value}': it must be a number of seconds above 0.",
    )


def catalog_regions(session: Any, auth: Any, interface: str) -> list[str]:
    """The regions of the session's catalog that have a compute endpoint
    (the login happens here when it has not yet).

    :raises RegionError: for an auth plugin that gives no catalog.
    """
    access = auth.get_access(session) if auth is not None else None
    catalog = getattr(access, "service_catalog", None)
    if catalog is None:
        raise RegionError(
            "This login gives no service catalog: --all-regions and "
            "--region need one."
        )
    found = catalog.get_endpoints_data(
        service_type="compute", interface=interface or "public"
    )
    return compute_regions(
        endpoint for group in found.values() for endpoint in group
    )


def clients_for(
    session: Any,
    region: str,
    *,
    interface: str,
    alias: str | None,
    retry_policy: Any,
) -> RegionClients:
    """A compute client, schedule manager and image manager for
    ``region``, on ``session`` (so on its token): each region's own
    endpoints, never an override given for one region."""
    from novaclient import client as nova_client

    from rax_scheduled_images_python_novaclient_ext.images import (
        ImageManager,
    )
    from rax_scheduled_images_python_novaclient_ext.manager import (
        ScheduleManager,
    )

    compute = nova_client.Client(
        "2.0",
        session=session,
        region_name=region,
        endpoint_type=interface or "public",
    )
    schedules = ScheduleManager(
        compute, alias=alias, retry_policy=retry_policy
    )
    images = ImageManager(compute, retry_policy=retry_policy)
    return RegionClients(region, compute, schedules, images)

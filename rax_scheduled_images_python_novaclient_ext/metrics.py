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
"""The Prometheus view of a health read, for node_exporter's textfile
collector.

:func:`samples` is pure: the numbers the check read, as (name, labels,
value) rows. Only :func:`write` touches ``prometheus_client``, imported
there, so that no other command pays for it at start-up; its textfile
writer writes a temporary file beside the target and renames it over
the target, so the collector reads the old file or the new one, never
half of one.

The names and labels are a contract with alert rules and dashboards
(issue 16): change none without a CHANGELOG "For scripts" entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from rax_scheduled_images_python_novaclient_ext import health

PREFIX = "scheduled_images_"
SERVER_LABELS: tuple[str, ...] = ("region", "server_id", "server_name")
REGION_LABELS: tuple[str, ...] = ("region",)
# The kinds of scheduled_images_images, in the words of ``list --long``.
KINDS: tuple[str, ...] = ("counted", "failed", "kept")


@dataclasses.dataclass(frozen=True)
class Family:
    """One metric: its name, help text and label names."""

    name: str
    help: str
    labels: tuple[str, ...] = ()


LAST_IMAGE = Family(
    PREFIX + "last_image_timestamp_seconds",
    "Creation time (Unix seconds) of the newest ACTIVE scheduled image; "
    "absent when the server has none.",
    SERVER_LABELS,
)
RETENTION = Family(
    PREFIX + "retention",
    "How many scheduled images the schedule keeps.",
    SERVER_LABELS,
)
IMAGES = Family(
    PREFIX + "images",
    "The server's images: counted (ACTIVE scheduled), failed (scheduled, "
    "never ACTIVE) and kept (exempted from pruning).",
    (*SERVER_LABELS, "kind"),
)
SIZE = Family(
    PREFIX + "size_bytes",
    "Bytes of the server's counted and failed scheduled images.",
    SERVER_LABELS,
)
STATE = Family(
    PREFIX + "state",
    "1, labelled with the server's state as the check words it.",
    (*SERVER_LABELS, "state"),
)
UNSCHEDULED = Family(
    PREFIX + "unscheduled_servers",
    "Servers of the region without an image schedule.",
    REGION_LABELS,
)
READ_SUCCESS = Family(
    PREFIX + "read_success",
    "1 when the region was read, 0 when it could not be.",
    REGION_LABELS,
)
READ_TIMESTAMP = Family(
    PREFIX + "read_timestamp_seconds",
    "When the check's read started (Unix seconds).",
)
READ_DURATION = Family(
    PREFIX + "read_duration_seconds",
    "How long the check's read took, in seconds.",
)
FAMILIES: tuple[Family, ...] = (
    LAST_IMAGE,
    RETENTION,
    IMAGES,
    SIZE,
    STATE,
    UNSCHEDULED,
    READ_SUCCESS,
    READ_TIMESTAMP,
    READ_DURATION,
)


class RegionReadLike(Protocol):
    """What a view needs of one region's read (:class:`..fleet.RegionRead`
    has it): the region, its scheduled and unscheduled servers, and the
    error that kept it from being read, if any."""

    @property
    def region(self) -> str | None: ...

    @property
    def rows(self) -> Sequence[health.ServerHealth]: ...

    @property
    def unscheduled(self) -> Sequence[health.ServerHealth]: ...

    @property
    def error(self) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class Sample:
    """One line of the file: a family, its label values in the family's
    order, and the value."""

    family: Family
    labels: tuple[str, ...]
    value: float


def _server_samples(region: str, row: health.ServerHealth) -> Iterator[Sample]:
    server = (region, row.server_id, row.server_name)
    if row.last is not None:
        yield Sample(LAST_IMAGE, server, row.last.created.timestamp())
    if row.schedule is not None:
        yield Sample(RETENTION, server, float(row.schedule.retention))
    counts = {"counted": row.counted, "failed": row.failed, "kept": row.kept}
    for kind in KINDS:
        count = counts[kind]
        # kept is None when the read left out the unmarked images: an
        # unknown count is no sample, never a false 0.
        if count is not None:
            yield Sample(IMAGES, (*server, kind), float(count))
    yield Sample(SIZE, server, float(row.size))
    if row.state is not None:
        yield Sample(STATE, (*server, row.state), 1.0)


def samples(
    reads: Sequence[RegionReadLike], started: float, duration: float
) -> list[Sample]:
    """Every sample of the file, in the order of :data:`FAMILIES` and,
    within one, of the reads and their rows.

    A region that could not be read has ``read_success`` 0 and no other
    sample: what it holds is unknown, and a stale number would look
    like a fresh one.

    :param reads: each region's read; ``region`` None is written as the
        empty label (the one region of the login's catalog).
    :param started: when the read started, in Unix seconds.
    :param duration: how long it took, in seconds.
    """
    found: list[Sample] = []
    for read in reads:
        region = read.region or ""
        if read.error is None:
            for row in read.rows:
                found.extend(_server_samples(region, row))
            found.append(
                Sample(UNSCHEDULED, (region,), float(len(read.unscheduled)))
            )
        found.append(
            Sample(READ_SUCCESS, (region,), 0.0 if read.error else 1.0)
        )
    found.append(Sample(READ_TIMESTAMP, (), float(started)))
    found.append(Sample(READ_DURATION, (), float(duration)))
    order = {family.name: index for index, family in enumerate(FAMILIES)}
    # sorted() is stable: within a family, the reads' order stays.
    return sorted(found, key=lambda sample: order[sample.family.name])


def registry(found: Sequence[Sample]) -> Any:
    """A ``prometheus_client`` ``CollectorRegistry`` holding ``found``.

    :raises ImportError: when prometheus_client is not installed.
    """
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily

    by_family: dict[str, list[Sample]] = {f.name: [] for f in FAMILIES}
    for sample in found:
        by_family[sample.family.name].append(sample)

    class _View:
        """A collector of fixed samples: the read is over when it runs."""

        def collect(self) -> Iterator[GaugeMetricFamily]:
            for family in FAMILIES:
                gauge = GaugeMetricFamily(
                    family.name, family.help, labels=family.labels
                )
                for sample in by_family[family.name]:
                    gauge.add_metric(list(sample.labels), sample.value)
                yield gauge

    made = CollectorRegistry(auto_describe=False)
    made.register(_View())
    return made


class MetricsFileError(Exception):
    """The metrics file could not be written; the old one is untouched."""


def write(
    path: str,
    reads: Sequence[RegionReadLike],
    started: float,
    duration: float,
) -> None:
    """Write the metrics of ``reads`` to ``path``, atomically.

    :raises MetricsFileError: for a path that cannot be written (missing
        directory, a directory, no permission) or a missing
        prometheus_client; whatever was at ``path`` stays as it was.
    """
    try:
        from prometheus_client import write_to_textfile
    except ImportError as error:
        raise MetricsFileError(
            f"--prometheus-file needs prometheus_client ({error}): install "
            "rax_scheduled_images_python_novaclient_ext[openstack]"
        ) from None
    try:
        # prometheus_client writes PATH.<pid>.<thread> beside the target
        # and renames it over PATH (or removes it when that fails):
        # node_exporter reads only *.prom, never the temporary file.
        write_to_textfile(path, registry(samples(reads, started, duration)))
    except OSError as error:
        reason = error.strerror or str(error)
        raise MetricsFileError(
            f"Cannot write the Prometheus file '{path}': {reason}"
        ) from None

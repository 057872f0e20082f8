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
"""``--all-regions`` and ``--region NAME`` of the ``openstack`` commands.

The regions and their clients are :mod:`..regions`'; this module reads
the options, builds one set of clients per region on OpenStackClient's
session (one login), and gives a list's failed regions their stderr
line and exit code 1. Without either option a command is 1.1.0's:
one region, as the session chose it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rax_scheduled_images_python_novaclient_ext import regions

T = TypeVar("T")

MACHINE_FORMATS = ("json", "yaml", "csv", "value", "shell")


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--all-regions`` and ``--region`` (repeatable), one or the other."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--all-regions",
        action="store_true",
        default=False,
        help=(
            "Read every region of the catalog that has a compute endpoint, "
            "at the same time, with one login; a Region column (key "
            "'region') is added"
        ),
    )
    group.add_argument(
        "--region",
        metavar="<region>",
        action="append",
        default=[],
        dest="regions",
        help=(
            "Read this region (repeat for more; with more than one, a "
            "Region column, key 'region', is added)"
        ),
    )


def asked(parsed_args: argparse.Namespace) -> bool:
    """Whether the command line asked for regions (else: 1.1.0's read)."""
    return bool(
        getattr(parsed_args, "all_regions", False)
        or getattr(parsed_args, "regions", None)
    )


def clients(
    app: Any, parsed_args: argparse.Namespace
) -> list[regions.RegionClients]:
    """One set of clients per region asked for, on the one session.

    :raises regions.RegionError: for a region the catalog does not list.
    """
    from rax_scheduled_images_python_novaclient_ext.osc import common, plugin

    manager = app.client_manager
    session = manager.session
    auth = getattr(manager, "auth", None) or getattr(session, "auth", None)
    interface = getattr(manager, "interface", None) or "public"
    available = regions.catalog_regions(session, auth, interface)
    chosen = regions.choose(
        available, bool(parsed_args.all_regions), parsed_args.regions
    )
    config = getattr(getattr(manager, "_cli_options", None), "config", {})
    alias = (config or {}).get(plugin.ALIAS_CONFIG_KEY) or None
    policy = common.schedules(app).retry_policy
    return [
        regions.clients_for(
            session,
            region,
            interface=interface,
            alias=alias,
            retry_policy=policy,
        )
        for region in chosen
    ]


def read(
    app: Any,
    parsed_args: argparse.Namespace,
    read_one: Callable[[regions.RegionClients], T],
) -> list[regions.RegionResult[T]]:
    """``read_one`` in every region asked for, at the same time."""
    return regions.read_each(
        clients(app, parsed_args), read_one, lambda found: found.region
    )


def machine(parsed_args: argparse.Namespace) -> bool:
    return getattr(parsed_args, "formatter", "table") in MACHINE_FORMATS


def check_reads(
    app: Any,
    parsed_args: argparse.Namespace,
    names: Sequence[str],
    options: Any,
) -> list[Any]:
    """One :class:`..fleet.RegionRead` per region asked for, read at the
    same time (:func:`..fleet.read_region`); a region that could not be
    read is a read with its ``error``, never left out. What the check
    reports from (and a metrics file is written from).

    :param options: the check's :class:`..check.CheckOptions`.
    :raises regions.RegionError: for ``--server`` with several regions,
        or a region the catalog does not list.
    """
    from rax_scheduled_images_python_novaclient_ext import clock, fleet

    if names and (parsed_args.all_regions or len(parsed_args.regions) > 1):
        raise regions.RegionError(
            "--server names servers of one region: use it with one "
            "--region, or without region options."
        )
    targets = clients(app, parsed_args)
    now = clock.now()

    def one(found: regions.RegionClients) -> Any:
        read = fleet.read_region(
            lambda: found.compute,
            lambda: found.schedules,
            lambda: found.images,
            names,
            options,
            now=now,
            concurrency=parsed_args.concurrency,
        )
        # A region that failed before its catalog was read keeps its name.
        read.region = read.region or found.region
        return read

    return [
        result.value
        if result.value is not None
        else fleet.RegionRead(result.region, None, [], [], result.error)
        for result in regions.read_each(targets, one, lambda f: f.region)
    ]


def check(
    app: Any,
    parsed_args: argparse.Namespace,
    names: Sequence[str],
    options: Any,
) -> tuple[list[str], int]:
    """The monitoring check of every region asked for: every read of
    :func:`check_reads` (failed ones too) given to
    :func:`..check.report`. Never raises: a region option the catalog
    cannot satisfy is the check's UNKNOWN."""
    from rax_scheduled_images_python_novaclient_ext import check as verdict
    from rax_scheduled_images_python_novaclient_ext import fleet

    try:
        reads = check_reads(app, parsed_args, names, options)
    except regions.RegionError as error:  # the user's words, as typed
        return verdict.unknown(str(error))
    except Exception as error:  # the check's UNKNOWN, never a traceback
        return verdict.unknown(fleet.describe_error(error))
    return verdict.report(reads, options)


class RegionLister:
    """Mixin of a Lister that may read several regions: after the rows,
    one stderr line per region that could not be read, and exit 1."""

    app: Any
    _failed_regions: Sequence[regions.RegionResult[Any]] = ()

    def table(
        self,
        parsed_args: argparse.Namespace,
        columns: Sequence[str],
        results: Sequence[regions.RegionResult[Any]],
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """The merged rows; a Region column when more than one region
        was read."""
        several = len(results) > 1
        rows, self._failed_regions = regions.merge_rows(results, several)
        if several:
            return regions.with_region_column(
                columns, machine(parsed_args)
            ), rows
        return tuple(columns), rows

    def run(self, parsed_args: argparse.Namespace) -> int:
        # cliff's Lister exits 0 once the rows are out, whatever
        # produce_output says: the failed regions' code is set here.
        self._failed_regions = []
        result: int = super().run(parsed_args)  # type: ignore[misc]
        for region in self._failed_regions:
            self.app.stderr.write(regions.failure_line(region) + "\n")
        return 1 if self._failed_regions else result

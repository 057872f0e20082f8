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
"""``openstack scheduled image list --orphaned`` and ``... purge``.

Images of deleted servers: nothing prunes them, so they stay billed.
The decisions are :mod:`..orphans`'; the requests,
:mod:`..deleted_servers`'.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO, TypeVar

from osc_lib import exceptions
from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import (
    clock,
    deleted_servers,
    regions,
)
from rax_scheduled_images_python_novaclient_ext import orphans as decide
from rax_scheduled_images_python_novaclient_ext.osc import common
from rax_scheduled_images_python_novaclient_ext.osc import (
    regions as osc_regions,
)

T = TypeVar("T")

_INCLUDE_KEPT_HELP = (
    "Also images of deleted servers without the "
    "org.openstack__1__created_by marker (kept images, manual snapshots)"
)


def add_list_options(
    parser: argparse.ArgumentParser, server_option: dict[str, Any]
) -> None:
    """``--server``, or ``--orphaned`` (and ``--include-kept``), of
    ``scheduled image list``: a usage error (exit 2, before anything is
    sent) when both are given, or ``--include-kept`` alone, which
    1.1.0 silently ignored."""
    either = parser.add_mutually_exclusive_group()
    either.add_argument("--server", **server_option)
    either.add_argument(
        "--orphaned",
        action="store_true",
        default=False,
        help="List the scheduled images of deleted servers instead: "
        "nothing prunes them, so they stay billed",
    )
    parser.add_argument(
        "--include-kept",
        action="store_true",
        default=False,
        help=f"With --orphaned: {_INCLUDE_KEPT_HELP[0].lower()}"
        f"{_INCLUDE_KEPT_HELP[1:]}",
    )
    parse = parser.parse_args

    def parse_args(args: Any = None, namespace: Any = None) -> Any:
        parsed = parse(args, namespace)
        if parsed.include_kept and not parsed.orphaned:
            parser.error("argument --include-kept: only with --orphaned")
        return parsed

    # argparse has no hook for a rule between two options: cliff calls
    # parse_args, so the rule goes there.
    parser.parse_args = parse_args  # type: ignore[method-assign]


def list_orphaned(
    app: Any, parsed_args: argparse.Namespace
) -> tuple[tuple[str, ...], list[tuple[Any, ...]], bool]:
    """The rows of ``scheduled image list --orphaned``, and whether the
    list is complete; the total and the skipped servers go to stderr,
    so ``-f json`` stays JSON."""
    rows, skipped = deleted_servers.orphan_list(
        common.compute(app),
        common.images(app),
        include_kept=parsed_args.include_kept,
        concurrency=parsed_args.concurrency,
    )
    lines = [*skipped, decide.total_line(rows)]
    if skipped:
        lines.append(decide.skipped_summary(len(skipped)))
    for line in lines:
        app.stderr.write(line + "\n")
    rows_shown = [row.values() for row in rows]
    return decide.ORPHAN_COLUMNS, rows_shown, not skipped


def regions_orphaned(
    app: Any, parsed_args: argparse.Namespace
) -> tuple[tuple[str, ...], list[regions.RegionResult[Any]], bool]:
    """``list --orphaned`` in every region asked for: each region's
    servers judged by that region's own compute service; and whether
    the list is complete (no server skipped in any region read). The
    skipped servers' lines (each with its region) and the total of every
    region read go to stderr."""
    # Regions are read on threads: list.extend is atomic, += is not.
    every_skipped: list[str] = []

    def one(clients: regions.RegionClients) -> list[decide.OrphanRow]:
        rows, skipped = deleted_servers.orphan_list(
            clients.compute,
            clients.images,
            include_kept=parsed_args.include_kept,
            concurrency=parsed_args.concurrency,
        )
        for line in skipped:
            app.stderr.write(f"{clients.region}: {line}\n")
        every_skipped.extend(skipped)
        return rows

    results = osc_regions.read(app, parsed_args, one)
    every = [row for r in results if not r.failed for row in r.value or ()]
    app.stderr.write(decide.total_line(every) + "\n")
    if every_skipped:
        app.stderr.write(decide.skipped_summary(len(every_skipped)) + "\n")
    return (
        decide.ORPHAN_COLUMNS,
        [
            regions.RegionResult(
                r.region, [row.values() for row in r.value or ()], r.error
            )
            for r in results
        ],
        not every_skipped,
    )


class PurgeOrphanedImages(common.EscapingOutput, command.Command):
    """Delete the scheduled images of deleted servers.

    Without --yes, a dry run: shows what would be deleted and the total
    size, and deletes nothing. The newest active image of each deleted
    server is kept unless --keep 0. A server counts as deleted only when
    the compute service answers 404 for it (twice); servers it gives no
    clear answer for are skipped. Images of existing servers and of
    other projects are never touched. With --all-regions or --region,
    each region's images are judged by that region's own compute service
    and deleted through its own Image API; every line starts with its
    region, and a region that could not be read deletes nothing and
    makes the command exit 1.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--yes",
            action="store_true",
            default=False,
            help="Delete (without it, only show what would be deleted)",
        )
        parser.add_argument(
            "--keep",
            metavar="<count>",
            type=decide.parse_count,
            default=1,
            help="Keep the newest <count> active images of each deleted "
            "server (default: 1; 0 deletes them all)",
        )
        parser.add_argument(
            "--older-than",
            metavar="<days>",
            type=decide.parse_days,
            default=None,
            help="Delete only images created more than <days> days ago "
            "(decimals allowed)",
        )
        parser.add_argument(
            "--include-kept",
            action="store_true",
            default=False,
            help=_INCLUDE_KEPT_HELP,
        )
        common.add_concurrency_option(
            parser, "How many servers to check, and images to delete, at once"
        )
        osc_regions.add_options(parser)
        return parser

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        if osc_regions.asked(parsed_args):
            purge_regions(self.app, parsed_args)
            return
        deleted_servers.purge_as_asked(
            common.compute(self.app),
            common.images(self.app),
            parsed_args,
            self.app.stdout,
            self.app.stderr,
        )


class _Prefixed:
    """A stream that starts every line written with the region's name."""

    def __init__(self, stream: TextIO, region: str) -> None:
        self.stream = stream
        self.prefix = f"{region}: "

    def write(self, text: str) -> int:
        lines = text.splitlines(keepends=True)
        return self.stream.write("".join(self.prefix + s for s in lines))

    def flush(self) -> None:
        self.stream.flush()


def purge_regions(app: Any, parsed_args: argparse.Namespace) -> None:
    """The purge in every region asked for.

    Every region is read and decided first, at the same time, each
    region's "server gone" from that region's own compute service only
    (and compute and image of one region, :func:`.check_same_region`);
    then each region's plan is shown and, with ``--yes``, carried out
    with that region's image manager. Every line starts with its
    region. A region that could not be read is named, deletes nothing,
    and makes the command fail after the others are done.

    :raises osc_lib.exceptions.CommandError: when a region could not be
        read or a deletion failed.
    """
    now = clock.now()

    def one(clients: regions.RegionClients) -> Any:
        # The region's image manager comes along: it deletes the plan.
        return clients.images, *deleted_servers.plan(
            clients.compute,
            clients.images,
            keep=parsed_args.keep,
            older_than_days=parsed_args.older_than,
            include_kept=parsed_args.include_kept,
            now=now,
            concurrency=parsed_args.concurrency,
        )

    try:
        results = osc_regions.read(app, parsed_args, one)
    except KeyboardInterrupt:
        raise deleted_servers.nothing_deleted(app.stderr) from None
    failed = planned = 0
    for result in results:
        if result.failed:
            app.stderr.write(regions.failure_line(result) + "\n")
            continue
        images, found, decided = result.value  # type: ignore[misc]
        planned += len(decided.delete)
        failed += deleted_servers.carry_out(
            images,
            found,
            decided,
            yes=parsed_args.yes,
            concurrency=parsed_args.concurrency,
            out=_Prefixed(app.stdout, result.region),  # type: ignore[arg-type]
            err=_Prefixed(app.stderr, result.region),  # type: ignore[arg-type]
        )
    unread = sum(1 for result in results if result.failed)
    if unread:
        raise exceptions.CommandError(
            f"{unread} of {len(results)} regions could not be read; "
            "nothing was deleted there."
        )
    if failed:
        raise exceptions.CommandError(
            f"{failed} of {planned} images could not be deleted."
        )

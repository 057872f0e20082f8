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
from typing import Any, TypeVar

from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import deleted_servers
from rax_scheduled_images_python_novaclient_ext import orphans as decide
from rax_scheduled_images_python_novaclient_ext.osc import common

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


class PurgeOrphanedImages(common.EscapingOutput, command.Command):
    """Delete the scheduled images of deleted servers.

    Without --yes, a dry run: shows what would be deleted and the total
    size, and deletes nothing. The newest active image of each deleted
    server is kept unless --keep 0. A server counts as deleted only when
    the compute service answers 404 for it (twice); servers it gives no
    clear answer for are skipped. Images of existing servers and of
    other projects are never touched.
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
        return parser

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        deleted_servers.purge_as_asked(
            common.compute(self.app),
            common.images(self.app),
            parsed_args,
            self.app.stdout,
            self.app.stderr,
        )

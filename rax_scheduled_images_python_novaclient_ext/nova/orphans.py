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
"""``nova scheduled-images-orphan-list|orphan-purge``: the images of
deleted servers, which nothing prunes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from novaclient import exceptions, utils

from rax_scheduled_images_python_novaclient_ext import terminal
from rax_scheduled_images_python_novaclient_ext.nova import common

_INCLUDE_KEPT_HELP = (
    "Also images of deleted servers without the "
    "org.openstack__1__created_by marker (kept images, manual snapshots)."
)


def _count(value: str) -> int:
    from rax_scheduled_images_python_novaclient_ext import orphans

    return orphans.parse_count(value)


def _days(value: str) -> float:
    from rax_scheduled_images_python_novaclient_ext import orphans

    return orphans.parse_days(value)


_INCLUDE_KEPT_ARG = utils.arg(
    "--include-kept",
    action="store_true",
    default=False,
    help=_INCLUDE_KEPT_HELP,
)


@terminal.escaping_stdio
@_INCLUDE_KEPT_ARG
@common.concurrency_arg("How many servers to check at the same time")
@common.error_boundary
def do_scheduled_images_orphan_list(cs: Any, args: argparse.Namespace) -> None:
    """List the scheduled images of deleted servers.

    Nothing prunes them: they stay, billed, until deleted. A server
    counts as deleted only when Nova answers 404 for it, twice; servers
    Nova gives no clear answer for are reported as skipped.
    """
    from rax_scheduled_images_python_novaclient_ext import (
        deleted_servers,
        orphans,
    )

    rows, skipped = deleted_servers.orphan_list(
        cs,
        common.images(cs),
        include_kept=args.include_kept,
        concurrency=args.concurrency,
    )
    for line in skipped:
        print(line, file=sys.stderr)
    common.print_rows(orphans.ORPHAN_TITLES, [row.cells() for row in rows])
    print(orphans.total_line(rows))
    if skipped:
        raise exceptions.CommandError(orphans.skipped_summary(len(skipped)))


@terminal.escaping_stdio
@utils.arg("--yes", action="store_true", default=False, help="Delete.")
@utils.arg(
    "--keep",
    metavar="<count>",
    type=_count,
    default=1,
    help="Keep the newest <count> active images of each deleted server "
    "(default: 1; 0 deletes them all).",
)
@utils.arg(
    "--older-than",
    metavar="<days>",
    type=_days,
    default=None,
    help="Delete only images created more than <days> days ago "
    "(decimals allowed).",
)
@_INCLUDE_KEPT_ARG
@common.concurrency_arg(
    "How many servers to check, and images to delete, at once"
)
@common.error_boundary
def do_scheduled_images_orphan_purge(
    cs: Any, args: argparse.Namespace
) -> None:
    """Delete the scheduled images of deleted servers.

    Without --yes, only shows what it would delete (a dry run). Keeps
    the newest image of each deleted server unless --keep 0. Never
    touches images of servers that exist or that Nova gives no clear
    answer for, nor images of other projects.
    """
    from rax_scheduled_images_python_novaclient_ext import (
        bulk,
        deleted_servers,
    )

    try:
        deleted_servers.purge_as_asked(
            cs, common.images(cs), args, sys.stdout, sys.stderr
        )
    except bulk.Interrupted:
        # Its line is out; novaclient's "terminating" one would add
        # nothing true about what was deleted.
        raise SystemExit(bulk.INTERRUPTED_EXIT) from None

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
"""``nova scheduled-images-enable|disable|show|list``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from novaclient import utils

from rax_scheduled_images_python_novaclient_ext import actions, terminal
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.nova import common, health

_DAY_HELP = (
    "Day of the week (UTC) on which to take a weekly image: one of "
    f"{domain.DAYS_HELP}, in any case, or their first three letters. "
    "Without it the schedule is daily, even if it was weekly before."
)
_DRY_HELP = (
    "Only print what the change would make the service delete at its "
    "next run; change nothing."
)


def _dry_run_note(server: str, wanted: domain.Schedule) -> str:
    shown = ", ".join(domain.format_schedule(wanted).splitlines())
    return f"Dry run: {server} would get {shown}; nothing changed."


_RETENTION_HELP = (
    "How many scheduled images of this server to keep: a positive "
    "integer. After each new scheduled image the service deletes the "
    "oldest ones beyond this number."
)


@terminal.escaping_stdio
@utils.arg(
    "--day-of-week",
    metavar="<day>",
    default=None,
    help=_DAY_HELP,
)
@utils.arg("--dry-run", action="store_true", default=False, help=_DRY_HELP)
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@utils.arg("retention", metavar="<retention>", help=_RETENTION_HELP)
@common.error_boundary
def do_scheduled_images_enable(cs: Any, args: argparse.Namespace) -> None:
    """Enable daily or weekly scheduled images on a server.

    Run it again to change the retention or the day: the whole schedule
    is replaced. Lowering the retention first prints (on stderr) which
    images the next scheduled image will make the service delete.
    """
    wanted = domain.new_schedule(args.retention, args.day_of_week)
    manager = common.schedules(cs)
    common.on_server(
        cs,
        args.server,
        lambda server: actions.set_schedule(
            manager, lambda: common.images(cs), server, args.server, wanted,
            dry_run=args.dry_run, err=sys.stderr,
        ),
    )  # fmt: skip
    if args.dry_run:
        print(_dry_run_note(args.server, wanted))


@terminal.escaping_stdio
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@common.error_boundary
def do_scheduled_images_disable(cs: Any, args: argparse.Namespace) -> None:
    """Disable scheduled images on a server.

    Scheduled images already taken are kept.
    """
    manager = common.schedules(cs)
    common.on_server(cs, args.server, manager.disable)


@terminal.escaping_stdio
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@common.error_boundary
def do_scheduled_images_show(cs: Any, args: argparse.Namespace) -> None:
    """Show the image schedule (type and retention) of a server."""
    manager = common.schedules(cs)
    found = common.on_server(cs, args.server, manager.get)
    print(domain.format_schedule(found.to_schedule()))


@terminal.escaping_stdio
@utils.arg(
    "--all-servers",
    action="store_true",
    default=False,
    help="List servers without an image schedule too (blank type, day "
    "and retention).",
)
@utils.arg(
    "--long",
    action="store_true",
    default=False,
    help="Also show how each schedule is kept: the newest image (UTC) "
    "and its age, the counted, failed and kept images, their size and a "
    "state (ok, late, missed, no-images, failed-images, clock-skew; "
    "unscheduled with --all-servers).",
)
@common.error_boundary
def do_scheduled_images_list(cs: Any, args: argparse.Namespace) -> None:
    """List the servers that have an image schedule.

    Type: Daily or Weekly. Day: the UTC day of a weekly image. Retention:
    how many scheduled images the service keeps.
    """
    rows = common.schedules(cs).list_schedules(all_servers=args.all_servers)
    if rows.used_fallback:
        print(actions.FALLBACK_NOTE, file=sys.stderr)
    if args.long:
        health.print_long(cs, rows)
        return
    common.print_rows(domain.SCHEDULE_COLUMNS, [row.cells() for row in rows])

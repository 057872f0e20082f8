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
"""``openstack server image schedule show|set|unset|list``."""

from __future__ import annotations

import argparse
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import actions, bulk
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.osc import (
    columns,
    common,
    health,
)
from rax_scheduled_images_python_novaclient_ext.osc import (
    regions as osc_regions,
)

SHOW_COLUMNS = ("server_id", "server_name", "type", "day_of_week", "retention")

_DAY_HELP = (
    "Take a weekly image on this day (UTC): one of "
    f"{domain.DAYS_HELP}, in any case, or their first three letters."
)
_DAILY_HELP = "Take an image every day (drops the day of a weekly schedule)."
_RETENTION_HELP = (
    "How many scheduled images of each server to keep: a positive "
    "integer. After each new scheduled image the service deletes the "
    "oldest ones beyond this number. Required for a server that has no "
    "schedule yet."
)


def _schedule_line(schedule: domain.Schedule) -> str:
    """``nova scheduled-images-show``'s two lines, on one."""
    return ", ".join(domain.format_schedule(schedule).splitlines())


def _dry_run_line(schedule: domain.Schedule) -> str:
    return f"dry run: would get {_schedule_line(schedule)}; nothing changed"


class ShowSchedule(common.EscapingOutput, command.ShowOne):
    """Show the image schedule (type, day and retention) of a server."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "server", metavar="<server>", help="Server (name or ID)"
        )
        return parser

    @common.error_boundary
    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        # The name is part of the answer, so even a UUID is looked up;
        # and a server read by id may show its schedule already. The
        # Server found proves the server: a 404 means no schedule.
        server = common.find_server(self.app, parsed_args.server)
        manager = common.schedules(self.app)
        schedule = manager.shown_on(server)
        if schedule is None:
            schedule = manager.get(server).to_schedule()
        return SHOW_COLUMNS, columns.shown(
            (
                server.id,
                getattr(server, "name", None),
                schedule.kind.lower(),
                schedule.day_of_week,
                schedule.retention,
            ),
            parsed_args,
        )


class SetSchedule(common.EscapingOutput, command.Command):
    """Enable or change the image schedule of servers.

    Only what is given changes: --retention alone keeps a weekly schedule
    weekly on its day; --day-of-week alone keeps the retention. A server
    with no schedule yet needs --retention (and is daily unless
    --day-of-week is given).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--retention",
            metavar="<count>",
            default=None,
            help=_RETENTION_HELP,
        )
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--day-of-week", metavar="<day>", default=None, help=_DAY_HELP
        )
        when.add_argument(
            "--daily", action="store_true", default=False, help=_DAILY_HELP
        )
        common.add_concurrency_option(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            default=False,
            help="Only print what a lower retention would make the service "
            "delete at its next run; change nothing",
        )
        common.add_servers_argument(parser, "to change")
        return parser

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        retention = parsed_args.retention
        day = parsed_args.day_of_week
        daily = parsed_args.daily
        # Everything the user typed is checked before the first request.
        if retention is None and day is None and not daily:
            raise exceptions.CommandError(
                "Nothing to set: give --retention, --day-of-week or --daily."
            )
        if retention is not None:
            domain.parse_retention(retention)
        domain.parse_day_of_week(day)
        servers = common.check_server_names(parsed_args.server)
        manager = common.schedules(self.app)

        dry_run = parsed_args.dry_run

        def change(server: Any, label: str) -> domain.Schedule:
            # No PUT: the POST replaces the whole schedule, so read it
            # first, to carry over what the user did not mention and to
            # tell whether the retention goes down. Unconfirmed when a
            # POST follows (it checks the server); else a server that
            # does not exist must not read as "no schedule yet".
            current = actions.current_schedule(
                manager, server, confirm=dry_run or retention is None
            )
            wanted = domain.merge_schedule(current, retention, day, daily)
            return actions.set_schedule(
                manager, lambda: common.images(self.app), server, label,
                wanted, dry_run=dry_run, err=self.app.stderr, current=current,
            )  # fmt: skip

        common.for_each(
            self.app,
            servers,
            lambda server: common.on_server(
                self.app, server, lambda sid: change(sid, server)
            ),
            _dry_run_line if dry_run else _schedule_line,
            parsed_args.concurrency,
            "server",
        )


class UnsetSchedule(common.EscapingOutput, command.Command):
    """Disable scheduled images on servers.

    Scheduled images already taken are kept.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        common.add_concurrency_option(parser)
        common.add_servers_argument(parser, "to disable scheduled images on")
        return parser

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        servers = common.check_server_names(parsed_args.server)
        manager = common.schedules(self.app)
        common.for_each(
            self.app,
            servers,
            lambda server: common.on_server(
                self.app, server, bulk.unless_stopped(manager.disable)
            ),
            lambda _: "scheduled images disabled",
            parsed_args.concurrency,
            "server",
        )


class ListSchedules(
    common.EscapingOutput, osc_regions.RegionLister, command.Lister
):
    """List the servers that have an image schedule, with the schedule.

    Type is Daily or Weekly; Day, the UTC day of a weekly image;
    Retention, how many scheduled images of the server the service keeps.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--all-servers",
            action="store_true",
            default=False,
            help=(
                "List servers without an image schedule too (blank type, "
                "day and retention)."
            ),
        )
        common.add_concurrency_option(
            parser,
            "How many schedule requests to run at the same time when the "
            "cloud's server list does not show schedules",
        )
        health.add_long_option(parser)
        osc_regions.add_options(parser)
        return parser

    @common.error_boundary
    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        if osc_regions.asked(parsed_args):
            return self._regions(parsed_args)
        rows = common.schedules(self.app).list_schedules(
            all_servers=parsed_args.all_servers,
            concurrency=parsed_args.concurrency,
        )
        if getattr(rows, "used_fallback", False):
            self.app.stderr.write(actions.FALLBACK_NOTE + "\n")
        if parsed_args.long:
            return health.long_list(self.app, parsed_args, rows)
        return domain.SCHEDULE_COLUMNS, [
            columns.shown(row.cells(), parsed_args) for row in rows
        ]

    def _regions(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """The same list in every region asked for, read at once."""
        titles = (
            health.long_columns(parsed_args)
            if parsed_args.long
            else domain.SCHEDULE_COLUMNS
        )

        def one(clients: Any) -> list[tuple[Any, ...]]:
            rows = clients.schedules.list_schedules(
                all_servers=parsed_args.all_servers,
                concurrency=parsed_args.concurrency,
            )
            if getattr(rows, "used_fallback", False):
                self.app.stderr.write(
                    f"{clients.region}: {actions.FALLBACK_NOTE}\n"
                )
            if parsed_args.long:
                return health.long_table(
                    clients.compute, clients.images, parsed_args, rows
                )[1]
            return [columns.shown(row.cells(), parsed_args) for row in rows]

        results = osc_regions.read(self.app, parsed_args, one)
        return self.table(parsed_args, titles, results)

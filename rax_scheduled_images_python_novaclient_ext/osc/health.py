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
"""``openstack server image schedule check`` and ``list --long``.

Is the service keeping the schedules? The decisions are the domain's
(:mod:`..health`, :mod:`..check`), the reading :mod:`..fleet`'s, shared
with the ``nova`` commands so both print the same states.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import (
    check,
    clock,
    fleet,
    health,
    health_columns,
    options,
)
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.osc import columns, common
from rax_scheduled_images_python_novaclient_ext.osc import (
    regions as osc_regions,
)

# The formats that a program reads: their keys and values are a
# contract (bytes, hours, ISO times, None); a table is for people.
MACHINE_FORMATS = ("json", "yaml", "csv", "value", "shell")

_LONG_HELP = (
    "Also show how each schedule is kept: the newest image (UTC) and its "
    "age, the counted, failed and kept images, their size and a state "
    "(ok, late, missed, no-images, failed-images, clock-skew; "
    "unscheduled with --all-servers). With -f json, yaml, "
    "csv or value the columns are server_id, server_name, type, "
    "day_of_week, retention, last_image_id, last_image_created, "
    "age_hours, counted, failed, kept, size_bytes, state, reason."
)


def add_long_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--long", action="store_true", default=False, help=_LONG_HELP
    )


def long_list(
    app: Any,
    parsed_args: argparse.Namespace,
    rows: Sequence[domain.ServerSchedule],
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """``list --long``: the schedules in ``rows`` with their health.

    A table gets titles and human units; the machine formats the keys
    of :data:`..health.LONG_KEYS` and plain numbers.
    """
    return long_table(
        common.compute(app), common.images(app), parsed_args, rows
    )


def long_table(
    compute: Any,
    images: Any,
    parsed_args: argparse.Namespace,
    rows: Sequence[domain.ServerSchedule],
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """:func:`long_list` with the compute client and image manager given
    (one region's)."""
    now = clock.now()
    if rows:
        # The join is wrong across two regions: refused, as the purge.
        fleet.check_same_region(compute, images)
    read = fleet.read_health(
        images,
        rows,
        now,
        health.Thresholds(),
        concurrency=parsed_args.concurrency,
    )
    if getattr(parsed_args, "formatter", "table") in MACHINE_FORMATS:
        return health_columns.LONG_KEYS, [
            columns.shown(health_columns.long_values(r), parsed_args)
            for r in read.rows
        ]
    return health_columns.LONG_COLUMNS, [
        columns.shown(health_columns.long_cells(r), parsed_args)
        for r in read.rows
    ]


def long_columns(parsed_args: argparse.Namespace) -> tuple[str, ...]:
    """The columns :func:`long_table` gives for the format asked for."""
    if getattr(parsed_args, "formatter", "table") in MACHINE_FORMATS:
        return health_columns.LONG_KEYS
    return health_columns.LONG_COLUMNS


class CheckSchedules(common.EscapingOutput, command.Command):
    """Check that the scheduled images are being taken (a Nagios plugin).

    First line: SCHEDULED IMAGES OK|WARNING|CRITICAL|UNKNOWN - summary |
    performance data; then one line per server that is not ok, worst
    first. A daily server is late when its newest ACTIVE image made by
    the service is more than 28 hours old and missed after 52 hours; a
    weekly one after 8 and 15 days. Exit 0 ok; 1 warning (late,
    no-images, failed-images); 2 critical (missed); 3 unknown (the cloud
    could not be read, no scheduled server found, an image dated in the
    future (clock-skew), or a bad argument).
    """

    # The login happens in take_action, so that a failed one is the
    # check's UNKNOWN (exit 3), not osc-lib's error (exit 1).
    auth_required = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        for flags, kwargs in options.threshold_options():
            parser.add_argument(*flags, **kwargs)
        parser.add_argument(
            "--server",
            metavar="<server>",
            action="append",
            default=[],
            help=(
                "Check only this server (name or ID); repeat for more. "
                "Default: every server that has an image schedule."
            ),
        )
        for flags, kwargs in options.check_options():
            parser.add_argument(*flags, **kwargs)
        common.add_concurrency_option(
            parser,
            "How many image or schedule requests to run at the same time "
            "when they are asked server by server",
        )
        osc_regions.add_options(parser)
        # A bad argument is the check's UNKNOWN (exit 3, one line on
        # stdout), not argparse's usage text and exit 2.
        options.check_error_parser(parser, lambda: self.app.stdout)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        try:
            check_options = check.options_from(parsed_args)
            names = common.check_server_names(parsed_args.server)
        except Exception as error:  # a bad argument: the check's UNKNOWN
            lines, code = check.unknown(fleet.describe_error(error))
            self.app.stdout.write("\n".join(lines) + "\n")
            return code
        try:
            # osc-lib's own set-up, now that a failure can be caught.
            self.auth_required = True
            self.app.prepare_to_run_command(self)
        except Exception as error:  # login, catalog: the check's UNKNOWN
            lines, code = check.unknown(fleet.describe_error(error))
        else:
            if osc_regions.asked(parsed_args):
                lines, code = osc_regions.check(
                    self.app, parsed_args, names, check_options
                )
            else:
                lines, code = fleet.check_fleet(
                    lambda: common.compute(self.app),
                    lambda: common.schedules(self.app),
                    lambda: common.images(self.app),
                    names,
                    check_options,
                    parsed_args.concurrency,
                )
        self.app.stdout.write("\n".join(lines) + "\n")
        return code

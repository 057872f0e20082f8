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
import time
from collections.abc import Sequence
from typing import Any

from novaclient import exceptions
from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import (
    check,
    clock,
    fleet,
    health,
    health_columns,
    metrics,
    options,
    regions,
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
    future (clock-skew), or a bad argument). With --prometheus-file, a
    file that cannot be written is unknown too, with the check's own
    lines after the reason.
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
        parser.add_argument(
            "--prometheus-file",
            metavar="<path>",
            help=(
                "Also write what the check read as Prometheus metrics to "
                "this file, for node_exporter's textfile collector (name "
                "it *.prom). Written whole or not at all; a path that "
                "cannot be written makes the check UNKNOWN."
            ),
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
            if parsed_args.prometheus_file == "":
                raise exceptions.CommandError(
                    "--prometheus-file needs a path."
                )
        except (domain.ScheduleError, exceptions.CommandError) as error:
            # A bad argument: the check's UNKNOWN, in its own words.
            lines, code = check.unknown(str(error))
            self.app.stdout.write("\n".join(lines) + "\n")
            return code
        # The read's time for Prometheus is the real one, whatever
        # SCHEDULED_IMAGES_NOW says: alerts compare it with time().
        started, start = time.time(), time.monotonic()
        reads = self._read(parsed_args, names, check_options)
        lines, code = check.report(reads, check_options)
        if parsed_args.prometheus_file is not None:
            lines, code = with_metrics(
                parsed_args.prometheus_file,
                reads,
                (started, time.monotonic() - start),
                (lines, code),
            )
        self.app.stdout.write("\n".join(lines) + "\n")
        return code

    def _read(
        self,
        parsed_args: argparse.Namespace,
        names: Sequence[str],
        check_options: check.CheckOptions,
    ) -> list[fleet.RegionRead]:
        """The check's region reads; a failed login is one failed read."""
        try:
            # osc-lib's own set-up, now that a failure can be caught.
            self.auth_required = True
            self.app.prepare_to_run_command(self)
        except Exception as error:  # login, catalog: the check's UNKNOWN
            return [_failed(fleet.describe_error(error))]
        if osc_regions.asked(parsed_args):
            try:
                return osc_regions.check_reads(
                    self.app, parsed_args, names, check_options
                )
            except regions.RegionError as error:  # the user's words
                return [_failed(str(error))]
            except Exception as error:  # never a traceback
                return [_failed(fleet.describe_error(error))]
        return [
            fleet.read_region(
                lambda: common.compute(self.app),
                lambda: common.schedules(self.app),
                lambda: common.images(self.app),
                names,
                check_options,
                concurrency=parsed_args.concurrency,
            )
        ]


def _failed(message: str) -> fleet.RegionRead:
    """The one read of a check that could not read any region (login,
    catalog, region options): the check's UNKNOWN, and read_success 0
    in a metrics file."""
    return fleet.RegionRead(None, None, [], [], message)


def with_metrics(
    path: str,
    reads: Sequence[fleet.RegionRead],
    timing: tuple[float, float],
    result: tuple[list[str], int],
) -> tuple[list[str], int]:
    """Write the Prometheus file of ``reads``; the check's ``result``
    when it is written, else UNKNOWN (exit 3) with the reason first and
    the check's own lines after it, so nothing it read is lost.

    :param timing: when the read started (Unix seconds) and how long it
        took (seconds).
    """
    started, duration = timing
    try:
        metrics.write(path, reads, started, duration)
    except metrics.MetricsFileError as error:
        unknown, code = check.unknown(str(error))
        return [*unknown, *result[0]], code
    return result

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
"""``nova scheduled-images-check`` and ``scheduled-images-list --long``:
are the backups being made?"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from novaclient import utils

from rax_scheduled_images_python_novaclient_ext import clock, options, terminal
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.nova import common

T = TypeVar("T")


def print_long(cs: Any, rows: Sequence[domain.ServerSchedule]) -> None:
    """``scheduled-images-list --long``: the schedules and their health.

    :raises OrphanError: when compute and image endpoints are in two
        regions (the join would be wrong).
    """
    # The fleet reader is imported when it reads, not at nova start-up.
    from rax_scheduled_images_python_novaclient_ext import (
        fleet,
        health,
        health_columns,
    )

    now = clock.now()
    images = common.images(cs)
    if rows:
        fleet.check_same_region(cs, images)
    read = fleet.read_health(images, rows, now, health.Thresholds())
    common.print_rows(
        health_columns.LONG_COLUMNS,
        [health_columns.long_cells(r) for r in read.rows],
    )


def _check_options(func: Callable[..., T]) -> Callable[..., T]:
    specs = [*options.threshold_options(), *options.check_options()]
    for flags, kwargs in reversed(specs):
        func = utils.arg(*flags, **kwargs)(func)
    return func


@terminal.escaping_stdio
@utils.arg(
    "--server",
    metavar="<server>",
    # Also makes a bad argument the check's UNKNOWN (exit 3).
    action=options.CheckServerAction,
    default=[],
    help="Check only this server (name or ID); repeat for more. Default: "
    "every server that has an image schedule.",
)
@_check_options
def do_scheduled_images_check(cs: Any, args: argparse.Namespace) -> None:
    """Check that the scheduled images are being taken (a Nagios plugin).

    First line: SCHEDULED IMAGES OK|WARNING|CRITICAL|UNKNOWN - summary |
    performance data; then one line per server that is not ok. Exit 0
    ok; 1 warning (late, no-images, failed-images); 2 critical (missed);
    3 unknown (the cloud could not be read, no scheduled server found,
    clock-skew, or a bad argument).
    """
    from rax_scheduled_images_python_novaclient_ext import check, fleet

    try:
        check_options = check.options_from(args)
    except domain.ScheduleError as error:
        lines, code = check.unknown(str(error))
    else:
        lines, code = fleet.check_fleet(
            lambda: cs,
            lambda: common.schedules(cs),
            lambda: common.images(cs),
            args.server,
            check_options,
        )
    print("\n".join(lines))
    sys.exit(code)

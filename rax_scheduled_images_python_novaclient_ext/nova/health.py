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
    """``scheduled-images-list --long``: the schedules and their health."""
    # The fleet reader is imported when it reads, not at nova start-up.
    from rax_scheduled_images_python_novaclient_ext import fleet, health

    now = clock.now()
    read = fleet.read_health(common.images(cs), rows, now, health.Thresholds())
    common.print_rows(
        health.LONG_COLUMNS, [health.long_cells(r) for r in read.rows]
    )


def _threshold_options(func: Callable[..., T]) -> Callable[..., T]:
    for flags, kwargs in reversed(options.threshold_options()):
        func = utils.arg(*flags, **kwargs)(func)
    return func


@terminal.escaping_stdio
@utils.arg(
    "--server",
    metavar="<server>",
    action="append",
    default=[],
    help="Check only this server (name or ID); repeat for more. Default: "
    "every server that has an image schedule.",
)
@_threshold_options
def do_scheduled_images_check(cs: Any, args: argparse.Namespace) -> None:
    """Check that the scheduled images are being taken (a Nagios plugin).

    First line: SCHEDULED IMAGES OK|WARNING|CRITICAL|UNKNOWN - summary |
    performance data; then one line per server that is not ok. Exit 0
    ok; 1 warning (late, no-images, failed-images); 2 critical (missed);
    3 unknown (the cloud could not be read).
    """
    try:
        from rax_scheduled_images_python_novaclient_ext import health

        thresholds = health.thresholds_from(args)
    except domain.ScheduleError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    from rax_scheduled_images_python_novaclient_ext import fleet

    lines, code = fleet.check_fleet(
        lambda: cs,
        lambda: common.schedules(cs),
        lambda: common.images(cs),
        args.server,
        thresholds,
    )
    print("\n".join(lines))
    sys.exit(code)

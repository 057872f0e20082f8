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
"""Command-line values both front ends parse: ``--concurrency`` and the
check's four ages.

Standard library and :mod:`.config` only: every ``nova`` command builds
these options at start-up, so they must cost nothing to import; the
health domain is imported only when an age is given.
"""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Callable
from typing import Any

from rax_scheduled_images_python_novaclient_ext import config


def parse_concurrency(value: str) -> int:
    """``--concurrency``: how many items at once, a positive integer.

    :raises argparse.ArgumentTypeError: for anything else (argparse's
        one-line error, exit 2).
    """
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"invalid count '{value}': it must be a positive integer."
        )
    return number


def _age(unit: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        from rax_scheduled_images_python_novaclient_ext import health
        from rax_scheduled_images_python_novaclient_ext import (
            schedule as domain,
        )

        try:
            return health.parse_age(text, unit)
        except domain.ScheduleError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = unit  # argparse names the type in its messages
    return parse


def threshold_options() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """``(flags, keyword arguments)`` of the check's four age options.

    Their defaults are :class:`.health.Thresholds`' (both from
    :mod:`.config`).
    """
    specs = (
        ("daily", "warning", "hours", config.DAILY_WARNING_HOURS, "late"),
        ("daily", "critical", "hours", config.DAILY_CRITICAL_HOURS, "missed"),
        ("weekly", "warning", "days", config.WEEKLY_WARNING_DAYS, "late"),
        ("weekly", "critical", "days", config.WEEKLY_CRITICAL_DAYS, "missed"),
    )
    return [
        (
            (f"--{kind}-{level}",),
            {
                "metavar": f"<{unit}>",
                "type": _age(unit),
                "default": datetime.timedelta(**{unit: value}),
                "help": (
                    f"A server with a {kind} schedule is {state} "
                    f"({level}) when its newest image is more than "
                    f"this many {unit} old (default: {value})."
                ),
            },
        )
        for kind, level, unit, value, state in specs
    ]

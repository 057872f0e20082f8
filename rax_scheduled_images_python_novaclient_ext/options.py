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


def positive_seconds(value: str, message: str) -> float:
    """``value`` as a number of seconds above 0 (a timeout).

    :raises argparse.ArgumentTypeError: ``message`` (with ``{value}``
        filled in) for anything else, inf and nan included.
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(message.format(value=value))
    return seconds


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


UNSCHEDULED_CHOICES = ("ignore", "warning", "critical")


def check_options() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """``(flags, keyword arguments)`` of the check's options on servers
    without a schedule and on an empty project."""
    return [
        (
            ("--unscheduled",),
            {
                "metavar": "<ignore|warning|critical>",
                "choices": UNSCHEDULED_CHOICES,
                "default": "ignore",
                "help": (
                    "What a server without an image schedule makes the "
                    "check: ignore (default; still counted in the "
                    "summary), warning or critical."
                ),
            },
        ),
        (
            ("--ignore-server",),
            {
                "metavar": "<glob>",
                "action": "append",
                "default": [],
                "dest": "ignore_servers",
                "help": (
                    "Leave out servers without a schedule whose name "
                    "matches this pattern (* ? [..], case-sensitive): "
                    "they are meant to go unprotected. Repeat for more."
                ),
            },
        ),
        (
            ("--allow-empty",),
            {
                "action": "store_true",
                "default": False,
                "help": (
                    "Exit OK when no server has a schedule (default: "
                    "UNKNOWN, exit 3: a check pointed at the wrong "
                    "project or region must not go green)."
                ),
            },
        ),
    ]


def check_error_parser(parser: argparse.ArgumentParser, out: Any) -> None:
    """Make ``parser`` (a check's) report its errors as the check's
    UNKNOWN: ``SCHEDULED IMAGES UNKNOWN - <reason>`` on ``out`` (a
    stream, or a callable that returns one), exit 3, as Nagios reads it,
    instead of argparse's usage text and exit 2. Unrecognised arguments
    are its errors too (a subcommand's parser would hand them back to
    the top-level parser).
    """

    def error(message: str) -> Any:
        stream = out() if callable(out) else out
        text = " ".join(f"{parser.prog}: {message}".split())
        stream.write(f"SCHEDULED IMAGES UNKNOWN - {text}\n")
        stream.flush()
        raise SystemExit(3)

    plain = parser.parse_known_args

    def parse_known_args(
        args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = plain(args, namespace)
        if extras:
            error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    parser.error = error  # type: ignore[method-assign]
    parser.parse_known_args = parse_known_args  # type: ignore[method-assign,assignment]


class CheckServerAction(argparse._AppendAction):
    """The check's ``--server`` (append), which also makes the parser it
    is added to report errors as the check's UNKNOWN.

    novaclient builds each subcommand's parser itself from the
    ``@utils.arg`` specs and hands it to no extension code; the action
    is made inside that parser's ``add_argument``, the one moment an
    extension sees it (argparse files the action under a group, which
    does not know its parser).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import sys

        frame: Any = sys._getframe(1)
        for _ in range(4):  # add_argument, maybe behind a subclass's
            if frame is None:
                break
            parser = frame.f_locals.get("self")
            if isinstance(parser, argparse.ArgumentParser):
                check_error_parser(parser, lambda: sys.stdout)
                break
            frame = frame.f_back

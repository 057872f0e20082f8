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
"""What the ``nova scheduled-images-*`` commands share: the managers on
the shell's client, the one error boundary, tables, and changes of
several images at once."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from novaclient import exceptions, utils

from rax_scheduled_images_python_novaclient_ext import (
    actions,
    options,
    terminal,
)
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.config import (
    DEFAULT_CONCURRENCY,
)
from rax_scheduled_images_python_novaclient_ext.errors import (
    NoSchedule,
    NoSuchServer,
    Refused,
)
from rax_scheduled_images_python_novaclient_ext.manager import (
    ScheduleManager,
)

if TYPE_CHECKING:
    # Imported when an image command runs (see images()), not at every
    # nova start-up.
    from rax_scheduled_images_python_novaclient_ext import images as images_api

EXTENSION_NAME = "rax_scheduled_images_python_novaclient_ext"

T = TypeVar("T")


def schedules(cs: Any) -> ScheduleManager:
    """The schedule manager the shell attached to its client."""
    manager = getattr(cs, EXTENSION_NAME, None)
    if isinstance(manager, ScheduleManager):
        return manager
    return ScheduleManager(cs)


def images(cs: Any) -> images_api.ImageManager:
    """The Image API manager, on the shell's session."""
    from rax_scheduled_images_python_novaclient_ext import images as api

    return api.ImageManager(cs)


_Command = Callable[[Any, argparse.Namespace], None]


def error_boundary(command: _Command) -> _Command:
    """The one place a ``nova`` command's errors become what novaclient's
    shell prints (``ERROR (<class>): <message>``, exit 1)."""

    @functools.wraps(command)
    def run(cs: Any, args: argparse.Namespace) -> None:
        try:
            command(cs, args)
        except (domain.ScheduleError, Refused) as error:
            raise exceptions.CommandError(str(error)) from None
        except NoSuchServer as error:
            # As for a mistyped name: novaclient's CommandError.
            raise exceptions.CommandError(error.message) from None
        except NoSchedule as error:
            # The guide's (and 0.3.1's) line: "ERROR (NotFound): ...".
            raise exceptions.NotFound(404, error.message) from None

    return run


def on_server(cs: Any, server: str, action: Callable[[Any], T]) -> T:
    """Run ``action`` on the server named or identified by ``server``."""
    return actions.on_server(cs, server, action, schedules(cs).retry_policy)


def print_rows(
    columns: Sequence[str], rows: Sequence[Sequence[str | int | None]]
) -> None:
    """A novaclient table of rows, in the given order: None is blank, and
    each cell is as the terminal will print it (so the columns line up)."""
    encoding = getattr(sys.stdout, "encoding", None)
    formatters = {
        column: lambda row, i=index: terminal.printable(row[i], encoding)
        for index, column in enumerate(columns)
    }
    shown = [["" if cell is None else cell for cell in row] for row in rows]
    utils.print_list(shown, list(columns), formatters=formatters)


def change_each(
    found: list[dict[str, Any]],
    change: Callable[[dict[str, Any]], bool],
    line: Callable[[str, bool], str],
) -> None:
    """Change each image in turn, one line each, as :mod:`.bulk` does.

    A single image's error is the command's own; with several, each
    failure has its line and the command ends with how many failed.
    After Ctrl-C, exit 130 with :mod:`.bulk`'s line, not novaclient's
    "terminating" one, which would say nothing of what was done.
    """
    # bulk brings threads: imported when images change, not at start-up.
    from rax_scheduled_images_python_novaclient_ext import bulk

    try:
        failures = bulk.change_each(
            found,
            change,
            lambda image, changed: line(actions.image_label(image), changed),
            actions.image_label,
            1,
            sys.stdout,
            sys.stderr,
        )
    except bulk.Interrupted:
        raise SystemExit(bulk.INTERRUPTED_EXIT) from None
    if len(found) == 1 and failures:
        raise failures[0][1]
    if failures:
        raise exceptions.CommandError(
            bulk.failed_line(len(failures), len(found), "image")
        )


def concurrency_arg(what: str) -> Callable[[_Command], _Command]:
    return utils.arg(
        "--concurrency",
        metavar="<count>",
        type=options.parse_concurrency,
        default=DEFAULT_CONCURRENCY,
        help=f"{what} (default: {DEFAULT_CONCURRENCY}).",
    )

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
"""The ``nova scheduled-images-*`` commands.

python-novaclient loads this module through the ``novaclient.extension``
entry point named ``rax_scheduled_images_python_novaclient_ext``. It turns
every ``do_*`` function here into a command, and attaches the LAST
``novaclient.base.Manager`` subclass it finds in this module's namespace
(imported ones included) to the client under the entry point's name. So
exactly one Manager class may be imported here by name: the schedule
manager. Other managers are reached through their module.

Why the top-level directory has no ``__init__.py``: python-novaclient also
scans sys.path for regular packages whose name ends in
``_python_novaclient_ext``. A regular package of this name would be loaded
by that scan AND by the entry point (every command then fails with
"conflicting subparser"), and on Python 3.12+ the scan itself crashes
("'FileFinder' object has no attribute 'find_module'"). The scan skips
directories without ``__init__.py``, so only the entry point loads us.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from novaclient import exceptions, utils
from oslo_utils import uuidutils

from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.manager import (
    ImageScheduleManager,
)

EXTENSION_NAME = "rax_scheduled_images_python_novaclient_ext"

T = TypeVar("T")


def _schedules(cs: Any) -> ImageScheduleManager:
    manager = getattr(cs, EXTENSION_NAME, None)
    if isinstance(manager, ImageScheduleManager):
        return manager
    return ImageScheduleManager(cs)


def _checked(parse: Callable[[Any], T], value: Any) -> T:
    """Run a domain parser, turning its error into novaclient's."""
    try:
        return parse(value)
    except domain.ScheduleError as error:
        raise exceptions.CommandError(str(error)) from None


def _find_server_id(cs: Any, server: str) -> str:
    if not server or not server.strip():
        raise exceptions.CommandError(
            "A server name or ID is required, not an empty string."
        )
    return str(utils.find_resource(cs.servers, server).id)


def _on_server(cs: Any, server: str, action: Callable[[str], T]) -> T:
    """Run ``action`` with the id of the server named by ``server``.

    A UUID goes straight to the scheduled-images call, which proves the
    server exists, saving the lookup a name needs. If Nova answers that
    no such server exists, the usual lookup runs to give novaclient's own
    message (or to find a server whose name merely looks like a UUID).
    """
    if not uuidutils.is_uuid_like(server):
        return action(_find_server_id(cs, server))
    try:
        return action(server)
    except exceptions.NotFound as error:
        if _is_no_schedule(error):
            raise
        server_id = _find_server_id(cs, server)
        if server_id == server:
            raise
        return action(server_id)


def _is_no_schedule(error: exceptions.NotFound) -> bool:
    message = str(getattr(error, "message", ""))
    return message.startswith("Scheduled images not enabled") or (
        "image schedule does not exist" in message.lower()
    )


_DAY_HELP = (
    "Day of the week (UTC) on which to take a weekly image: one of "
    f"{domain.DAYS_HELP}, in any case, or their first three letters. "
    "Without it the schedule is daily, even if it was weekly before."
)
_RETENTION_HELP = (
    "How many scheduled images of this server to keep: a positive "
    "integer. After each new scheduled image the service deletes the "
    "oldest ones beyond this number."
)


@utils.arg(
    "--day-of-week",
    metavar="<day>",
    default=None,
    help=_DAY_HELP,
)
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@utils.arg("retention", metavar="<retention>", help=_RETENTION_HELP)
def do_scheduled_images_enable(cs: Any, args: argparse.Namespace) -> None:
    """Enable daily or weekly scheduled images on a server.

    Run it again to change the retention or the day: the whole schedule
    is replaced.
    """
    wanted = _checked(
        lambda v: domain.new_schedule(v, args.day_of_week), args.retention
    )
    manager = _schedules(cs)
    _on_server(cs, args.server, lambda sid: manager.set(sid, wanted))


@utils.arg("server", metavar="<server>", help="Name or ID of server.")
def do_scheduled_images_disable(cs: Any, args: argparse.Namespace) -> None:
    """Disable scheduled images on a server.

    Scheduled images already taken are kept.
    """
    manager = _schedules(cs)
    _on_server(cs, args.server, manager.disable)


@utils.arg("server", metavar="<server>", help="Name or ID of server.")
def do_scheduled_images_show(cs: Any, args: argparse.Namespace) -> None:
    """Show the image schedule (type and retention) of a server."""
    manager = _schedules(cs)
    found = _on_server(cs, args.server, manager.get)
    print(domain.format_schedule(found.to_schedule()))

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
"""What the ``openstack`` commands share: finding servers, fanning out.

Server resolution is the ``nova`` commands' own (a UUID goes straight to
the scheduled-images call, which proves the server exists; a name is
looked up the way novaclient does, with its messages for unknown and
ambiguous names), so both front ends answer alike.
"""

from __future__ import annotations

import argparse
import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from novaclient import exceptions as nova_exceptions
from osc_lib import exceptions

from rax_scheduled_images_python_novaclient_ext import actions
from rax_scheduled_images_python_novaclient_ext import images as images_api
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.config import (
    DEFAULT_CONCURRENCY,
)
from rax_scheduled_images_python_novaclient_ext.manager import (
    ScheduleManager,
)

T = TypeVar("T")
ItemT = TypeVar("ItemT")


def schedules(app: Any) -> ScheduleManager:
    """The schedule manager :func:`.plugin.make_client` built."""
    found: ScheduleManager = app.client_manager.scheduled_images
    return found


def compute(app: Any) -> Any:
    """The python-novaclient Client under the schedule manager."""
    return schedules(app).api


def images(app: Any) -> images_api.ImageManager:
    """The Image API client, on the same session, region and interface.

    Honours ``--os-image-endpoint-override`` as ``openstack image``
    commands do.
    """
    cli_options = getattr(app.client_manager, "_cli_options", None)
    config = getattr(cli_options, "config", None) or {}
    override = config.get("image_endpoint_override") or None
    return images_api.ImageManager(
        compute(app),
        endpoint_override=override,
        retry_policy=schedules(app).retry_policy,
    )


def retention(app: Any, server_id: str) -> int | None:
    """The retention of ``server_id``'s schedule; None when it has none.

    :raises novaclient.exceptions.NotFound: Nova's own 404 (no server).
    """
    return actions.retention_of(schedules(app), server_id)


def one_line(error: BaseException) -> str:
    """The message a user sees for ``error``, on one line."""
    text = str(error) or error.__class__.__name__
    return " ".join(text.split())


def checked(decide: Callable[..., T], *args: Any) -> T:
    """Run a domain function, turning its error into osc-lib's."""
    try:
        return decide(*args)
    except domain.ScheduleError as error:
        raise exceptions.CommandError(str(error)) from None


def check_server_names(servers: Sequence[str]) -> list[str]:
    """The servers named on the command line, in order, each once.

    :raises osc_lib.exceptions.CommandError: for an empty name, before
        any request is sent.
    """
    for server in servers:
        if not server or not server.strip():
            raise exceptions.CommandError(
                "A server name or ID is required, not an empty string."
            )
    return list(dict.fromkeys(servers))


def is_no_schedule(error: nova_exceptions.NotFound) -> bool:
    """True for the "no schedule" 404, not Nova's "no such server"."""
    return actions.is_no_schedule(error)


def find_server(app: Any, server: str) -> Any:
    """The novaclient Server named (or identified) by ``server``.

    :raises osc_lib.exceptions.CommandError: novaclient's message for an
        unknown or ambiguous name.
    """
    check_server_names([server])
    try:
        return actions.find_server(
            compute(app), server, schedules(app).retry_policy
        )
    except nova_exceptions.CommandError as error:
        raise exceptions.CommandError(str(error)) from None


def on_server(app: Any, server: str, action: Callable[[str], T]) -> T:
    """Run ``action`` with the id of ``server``, as ``nova`` does.

    :raises osc_lib.exceptions.CommandError: for unknown or ambiguous
        names; the API's own errors pass through.
    """
    try:
        return actions.on_server(
            compute(app), server, action, schedules(app).retry_policy
        )
    except nova_exceptions.CommandError as error:
        raise exceptions.CommandError(str(error)) from None


def add_concurrency_option(
    parser: argparse.ArgumentParser,
    what: str = "How many servers to handle at the same time",
) -> None:
    parser.add_argument(
        "--concurrency",
        metavar="<count>",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"{what} (default: {DEFAULT_CONCURRENCY}).",
    )


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"invalid count '{value}': it must be a positive integer."
        )
    return number


def for_each(
    app: Any,
    items: Sequence[ItemT],
    action: Callable[[ItemT], T],
    describe: Callable[[T], str],
    concurrency: int,
    noun: str,
    label: Callable[[ItemT], str] = str,
) -> None:
    """Run ``action`` on every item at once, in a bounded thread pool.

    Each item gets one line, in the order given: ``<label>: <describe>``
    on stdout when it worked, ``<label>: <error>`` on stderr when it did
    not. A failure does not stop the others. A single item that fails is
    the command's one error line.

    :raises osc_lib.exceptions.CommandError: ``N of M <noun>s failed.``
        after all are done, when any failed (``openstack`` exits 1).
    """
    if len(items) == 1:
        # One item: its error is the command's one line, no count after.
        (item,) = items
        try:
            result = action(item)
        except Exception as error:
            raise exceptions.CommandError(
                f"{label(item)}: {one_line(error)}"
            ) from None
        app.stdout.write(f"{label(item)}: {describe(result)}\n")
        return
    failed = 0
    workers = max(1, min(concurrency, len(items)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(action, item) for item in items]
        for item, future in zip(items, futures, strict=True):
            try:
                result = future.result()
            except Exception as error:  # reported, and counted below
                failed += 1
                app.stderr.write(f"{label(item)}: {one_line(error)}\n")
            else:
                app.stdout.write(f"{label(item)}: {describe(result)}\n")
    if failed:
        raise exceptions.CommandError(
            f"{failed} of {len(items)} {noun}s failed."
        )

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
"""What the ``openstack`` commands share: finding servers, fanning out,
and the one place their errors become osc-lib's.

Server resolution is the ``nova`` commands' own
(:func:`.actions.on_server`: a UUID goes straight to the scheduled-images
call, and is confirmed only where the API's answer proves nothing; a
name is looked up the way novaclient does, with its messages for unknown
and ambiguous names), so both front ends answer alike.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from cliff import lister
from novaclient import exceptions as nova_exceptions
from osc_lib import exceptions

from rax_scheduled_images_python_novaclient_ext import (
    actions,
    bulk,
    options,
    terminal,
)
from rax_scheduled_images_python_novaclient_ext import images as images_api
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
from rax_scheduled_images_python_novaclient_ext.osc import columns as missing

T = TypeVar("T")
ItemT = TypeVar("ItemT")
TakeAction = TypeVar("TakeAction", bound=Callable[..., Any])


class EscapingOutput:
    """First base of every ``openstack`` command here: what the terminal
    cannot show is escaped, never fatal, and arguments are read as typed
    (see :mod:`..terminal`)."""

    app: Any

    def run(self, parsed_args: argparse.Namespace) -> int:
        terminal.escape_unprintable(self.app.stdout, self.app.stderr)
        terminal.read_as_typed(parsed_args)
        result: int = super().run(parsed_args)  # type: ignore[misc]
        return result

    def produce_output(
        self, parsed_args: argparse.Namespace, columns: Any, data: Any
    ) -> int:
        # A missing value is blank in every format but json and yaml,
        # never the word None, whatever the command built (see
        # :mod:`.columns`).
        data = (
            [missing.shown(row, parsed_args) for row in data]
            if isinstance(self, lister.Lister)
            else missing.shown(data, parsed_args)
        )
        # A table sizes its columns by the text: give it the text as the
        # terminal will print it, escapes included.
        if getattr(parsed_args, "formatter", None) == "table":
            encoding = getattr(self.app.stdout, "encoding", None)

            def shown(values: Any) -> tuple[Any, ...]:
                return tuple(terminal.printable(v, encoding) for v in values)

            data = (
                [shown(row) for row in data]
                if isinstance(self, lister.Lister)
                else shown(data)
            )
        result: int = super().produce_output(  # type: ignore[misc]
            parsed_args, columns, data
        )
        return result


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


def error_boundary(take_action: TakeAction) -> TakeAction:
    """The one place an ``openstack`` command's errors become osc-lib's
    ``CommandError``: what the user typed (novaclient's ``CommandError``,
    the domain's ``ScheduleError``) and the meanings of :mod:`.errors`,
    each as its bare message (cliff prints it and exits 1)."""

    @functools.wraps(take_action)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return take_action(*args, **kwargs)
        except (NoSchedule, NoSuchServer) as error:
            raise exceptions.CommandError(error.message) from None
        except (
            nova_exceptions.CommandError,
            domain.ScheduleError,
            Refused,
        ) as error:
            raise exceptions.CommandError(str(error)) from None

    return cast(TakeAction, run)


def check_server_names(servers: Sequence[str]) -> list[str]:
    """The servers named on the command line, in order, each once.

    :raises novaclient.exceptions.CommandError: for an empty name,
        before any request is sent.
    """
    for server in servers:
        actions.require_name(server)
    return list(dict.fromkeys(servers))


def find_server(app: Any, server: str) -> Any:
    """The novaclient Server named (or identified) by ``server``.

    :raises novaclient.exceptions.CommandError: novaclient's message for
        an unknown or ambiguous name.
    """
    return actions.find_server(
        compute(app), server, schedules(app).retry_policy
    )


def on_server(app: Any, server: str, action: Callable[[Any], T]) -> T:
    """Run ``action`` on ``server`` as ``nova`` does
    (:func:`.actions.on_server`).

    :raises novaclient.exceptions.CommandError: for unknown or ambiguous
        names; the API's own errors pass through.
    """
    return actions.on_server(
        compute(app), server, action, schedules(app).retry_policy
    )


def add_concurrency_option(
    parser: argparse.ArgumentParser,
    what: str = "How many servers to handle at the same time",
) -> None:
    parser.add_argument(
        "--concurrency",
        metavar="<count>",
        type=options.parse_concurrency,
        default=DEFAULT_CONCURRENCY,
        help=f"{what} (default: {DEFAULT_CONCURRENCY}).",
    )


def add_servers_argument(
    parser: argparse.ArgumentParser, purpose: str
) -> None:
    """The servers a command acts on: one or more names or IDs."""
    parser.add_argument(
        "server",
        metavar="<server>",
        nargs="+",
        help=f"Server(s) {purpose} (name or ID)",
    )


def for_each(
    app: Any,
    items: Sequence[ItemT],
    action: Callable[[ItemT], T],
    describe: Callable[[T], str],
    concurrency: int,
    noun: str,
    label: Callable[[ItemT], str] = str,
) -> None:
    """Run ``action`` on every item, at most ``concurrency`` at a time.

    Each item gets one line, in the order given: ``<label>: <describe>``
    on stdout when it worked, ``<label>: <error>`` on stderr when it did
    not. A failure does not stop the others. A single item that fails is
    the command's one error line. Ctrl-C stops it as :mod:`.bulk` says
    (``openstack`` exits 130).

    :raises osc_lib.exceptions.CommandError: ``N of M <noun>s failed.``
        after all are done, when any failed (``openstack`` exits 1).
    """
    failures = bulk.change_each(
        items,
        action,
        lambda item, result: f"{label(item)}: {describe(result)}",
        label,
        concurrency,
        app.stdout,
        app.stderr,
    )
    if len(items) == 1 and failures:
        ((item, error),) = failures
        raise exceptions.CommandError(
            f"{label(item)}: {bulk.one_line(error)}"
        ) from None
    if failures:
        raise exceptions.CommandError(
            bulk.failed_line(len(failures), len(items), noun)
        )

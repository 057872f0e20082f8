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
"""``openstack scheduled image list|keep|release``.

The images the scheduled images service makes, and whether it will
count and delete them (it recognises its images by the
``org.openstack__1__created_by`` property). Image API requests go
through :class:`~..images.ImageManager`; the forecasts are the
domain's (``schedule.image_rows``, ``schedule.plan_release``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import actions, fleet
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.osc import common, orphans
from rax_scheduled_images_python_novaclient_ext.osc import (
    regions as osc_regions,
)

FLEET_COLUMNS: tuple[str, ...] = ("Server", *domain.IMAGE_COLUMNS)


class ListScheduledImages(
    common.EscapingOutput, osc_regions.RegionLister, command.Lister
):
    """List scheduled images, oldest first, and what the service will do.

    With --server: every image of that server, those the service counts
    and those kept out of its count. Without: the images of every server
    that has an image schedule, with a Server column, read in one scan
    of the project's images (or one request per server, when that is
    fewer requests). Counted: "yes" when the service counts the image
    against the retention and may delete it (it carries the service's
    marker and is active); "in progress" or "failed" for a marked image
    not (yet) active; "no" without the marker. Deleted at next run:
    "yes" for the images the service will delete after its next
    scheduled image of the server.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        orphans.add_list_options(
            parser,
            {
                "metavar": "<server>",
                "default": None,
                "help": "List only this server's images (name or ID)",
            },
        )
        common.add_concurrency_option(
            parser,
            "Without --server, how many servers' images to list at the "
            "same time",
        )
        osc_regions.add_options(parser)
        return parser

    # 1 when the list printed is incomplete (servers skipped).
    exit_code = 0

    @common.error_boundary
    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        if parsed_args.orphaned:
            if osc_regions.asked(parsed_args):
                columns, results, complete = orphans.regions_orphaned(
                    self.app, parsed_args
                )
                self.exit_code = 0 if complete else 1
                return self.table(parsed_args, columns, results)
            columns, rows, complete = orphans.list_orphaned(
                self.app, parsed_args
            )
            self.exit_code = 0 if complete else 1
            return columns, rows
        if parsed_args.server is not None:
            if osc_regions.asked(parsed_args):
                raise exceptions.CommandError(
                    "--server lists one server's images, in the session's "
                    "region: use it without --all-regions or --region."
                )
            return self._one_server(parsed_args.server)
        if osc_regions.asked(parsed_args):
            results = osc_regions.read(
                self.app,
                parsed_args,
                lambda clients: _every_server_of(
                    clients.compute,
                    clients.schedules,
                    clients.images,
                    parsed_args.concurrency,
                ),
            )
            return self.table(parsed_args, FLEET_COLUMNS, results)
        return self._every_server(parsed_args.concurrency)

    def run(self, parsed_args: argparse.Namespace) -> int:
        # The table is printed, and still the exit code says it is not
        # the whole answer.
        result = super().run(parsed_args)
        return result or self.exit_code

    def _one_server(
        self, server: str
    ) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        manager = common.schedules(self.app)
        server_id, retention = common.on_server(
            self.app,
            server,
            lambda found: actions.id_and_retention(manager, found),
        )
        if retention is None:
            self.app.stderr.write(actions.no_schedule_note(server_id) + "\n")
        found = common.images(self.app).list_for_server(server_id)
        rows = domain.image_rows(found, server_id, retention)
        return domain.IMAGE_COLUMNS, [row.cells() for row in rows]

    def _every_server(
        self, concurrency: int
    ) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        return FLEET_COLUMNS, _every_server_of(
            common.compute(self.app),
            common.schedules(self.app),
            common.images(self.app),
            concurrency,
        )


def _every_server_of(
    compute: Any, schedules: Any, images: Any, concurrency: int
) -> list[tuple[str, ...]]:
    """The image rows of every scheduled server, in one region."""
    # Servers of one region joined with another's images would all
    # look imageless: refused, as the purge does (no request sent).
    fleet.check_same_region(compute, images)
    scheduled = [
        (row.server_id, row.schedule.retention)
        for row in schedules.list_schedules(concurrency=concurrency)
        if row.schedule is not None
    ]
    table, _ = fleet.image_table(images, scheduled, concurrency)
    return table


def _add_images(
    parser: argparse.ArgumentParser, verb: str
) -> argparse.ArgumentParser:
    """The arguments of keep and release: images, and how many at once."""
    parser.add_argument(
        "image",
        metavar="<image>",
        nargs="+",
        help=f"Image(s) to {verb} (name or ID)",
    )
    common.add_concurrency_option(
        parser, "How many images to change at the same time"
    )
    return parser


def _change_images(
    app: Any,
    found: list[dict[str, Any]],
    change: Callable[[dict[str, Any]], bool],
    changed: str,
    unchanged: str,
    concurrency: int,
) -> None:
    """Keep or release each image, one line each (see common.for_each)."""
    common.for_each(
        app,
        found,
        change,
        lambda done: changed if done else unchanged,
        concurrency,
        "image",
        label=actions.image_label,
    )


class KeepScheduledImages(common.EscapingOutput, command.Command):
    """Keep images: the service will never count or delete them.

    Removes the org.openstack__1__created_by property by which the
    scheduled images service recognises its images; nothing else on the
    image changes. An image without it is already kept and is left
    alone. Every image is found before any is changed. Undo with
    "openstack scheduled image release".
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return _add_images(super().get_parser(prog_name), "keep")

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        manager = common.images(self.app)
        found = actions.find_images(manager, parsed_args.image)
        _change_images(
            self.app,
            found,
            manager.keep,
            "kept: the service will no longer count or delete it",
            "already kept: nothing to do",
            parsed_args.concurrency,
        )


class ReleaseScheduledImages(common.EscapingOutput, command.Command):
    """Release kept images back to the scheduled images service.

    Puts back the org.openstack__1__created_by property, so that the
    service counts each image against its server's retention again and
    deletes it when it is among the oldest. First prints which images the
    service will then delete at its next run. Images that belong to no
    server are refused, and then nothing is changed.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return _add_images(super().get_parser(prog_name), "release")

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        manager = common.images(self.app)
        found = actions.find_images(manager, parsed_args.image)
        forecast = actions.release_forecasts(
            manager, common.schedules(self.app), found
        )
        for line in forecast:
            self.app.stdout.write(line + "\n")
        _change_images(
            self.app,
            found,
            manager.release,
            "released: the service counts it again",
            "already counted: nothing to do",
            parsed_args.concurrency,
        )

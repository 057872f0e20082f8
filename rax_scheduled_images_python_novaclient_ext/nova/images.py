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
"""``nova scheduled-images-image-list|image-keep|image-release``: the
images the service makes, and whether it will count and delete them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from novaclient import utils

from rax_scheduled_images_python_novaclient_ext import actions, terminal
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.nova import common


@terminal.escaping_stdio
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@common.error_boundary
def do_scheduled_images_image_list(cs: Any, args: argparse.Namespace) -> None:
    """List a server's images, oldest first, and what the service will do.

    Counted: yes when the service counts the image against the retention
    (it carries the org.openstack__1__created_by marker and is active);
    "in progress" or "failed" for a marked image not (yet) active; no
    without the marker. Deleted at next run: yes when the service
    deletes it after its next scheduled image.
    """
    manager = common.schedules(cs)
    server_id, retention = common.on_server(
        cs,
        args.server,
        lambda server: actions.id_and_retention(manager, server),
    )
    if retention is None:
        print(actions.no_schedule_note(server_id), file=sys.stderr)
    listed = common.images(cs).list_for_server(server_id)
    rows = domain.image_rows(listed, server_id, retention)
    common.print_rows(domain.IMAGE_COLUMNS, [row.cells() for row in rows])


# The argument of image-keep and image-release.
_IMAGES_ARG = utils.arg(
    "image",
    metavar="<image>",
    nargs="+",
    help="Name or ID of an image (several may be given).",
)


@terminal.escaping_stdio
@_IMAGES_ARG
@common.error_boundary
def do_scheduled_images_image_keep(cs: Any, args: argparse.Namespace) -> None:
    """Keep images: the service will never count or delete them.

    Removes only the org.openstack__1__created_by marker; images without
    it are already kept and left alone.
    """
    manager = common.images(cs)
    common.change_each(
        actions.find_images(manager, args.image),
        manager.keep,
        lambda label, changed: (
            f"Kept image {label}: the service will no longer "
            "count or delete it."
            if changed
            else f"Image {label} is already kept: nothing to do."
        ),
    )


@terminal.escaping_stdio
@_IMAGES_ARG
@common.error_boundary
def do_scheduled_images_image_release(
    cs: Any, args: argparse.Namespace
) -> None:
    """Release kept images: the service counts them again.

    First prints which images the service will then delete at its next
    run. Refuses images that belong to no server.
    """
    images = common.images(cs)
    found = actions.find_images(images, args.image)
    for line in actions.release_forecasts(images, common.schedules(cs), found):
        print(line)
    common.change_each(
        found,
        images.release,
        lambda label, changed: (
            f"Released image {label}: the service counts it again."
            if changed
            else f"Image {label} is already counted: nothing to do."
        ),
    )

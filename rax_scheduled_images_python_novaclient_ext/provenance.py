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
"""Which images the scheduled images service made. Pure.

The service recognises its images by the marker
(``org.openstack__1__created_by``); ``keep`` removes the marker so the
service stops counting and pruning the image. A kept image was still
made by the service, and still proves the schedule ran: the health view
counts it for freshness. So ``keep`` leaves a property of this project's
own on the image (:data:`KEPT_KEY`), set in the PATCH that removes the
marker and removed in the one that restores it. Images kept before
1.2.0 carry no such property: they are recognised by the name the
service gives (``Daily-<server name>-<unix seconds>``, ``Weekly-...``;
the prefix in any case) together with ``instance_uuid``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rax_scheduled_images_python_novaclient_ext import schedule as domain

# The property ``keep`` sets; its value is the marker's old value.
KEPT_KEY = "scheduled_images_kept"
KEPT_VALUE = domain.CREATED_BY_VALUE

# The service's image name; it cuts the server name so that the whole
# stays within Glance's 255 characters.
_NAME = re.compile(r"(?is)\A(?:daily|weekly)-(.+)-\d+\Z")
_NAME_LIMIT = 255


def is_kept_mark(image: Mapping[str, Any]) -> bool:
    """True when ``keep`` (1.2.0 on) left its property on ``image``."""
    return image.get(KEPT_KEY) == KEPT_VALUE


def named_by_service(name: object, server_name: str) -> bool:
    """True when ``name`` is one the service gives an image of a server
    named ``server_name`` (the prefix in any case; the server name cut
    short only in a name of the full 255 characters)."""
    if not isinstance(name, str) or not server_name:
        return False
    match = _NAME.match(name)
    if match is None:
        return False
    shown = match.group(1)
    if shown == server_name:
        return True
    return len(name) >= _NAME_LIMIT and server_name.startswith(shown)


def made_by_service(
    image: Mapping[str, Any], server_id: str, server_name: str
) -> bool:
    """True when the service made ``image`` for the server: it carries
    the marker, or ``keep``'s property, or (kept before 1.2.0) the
    service's name for this server together with its ``instance_uuid``.
    """
    if image.get(domain.INSTANCE_KEY) != server_id:
        return False
    if domain.is_marked(image) or is_kept_mark(image):
        return True
    return named_by_service(image.get("name"), server_name)

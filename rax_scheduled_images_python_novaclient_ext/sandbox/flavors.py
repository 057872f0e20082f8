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
"""Flavors: the sizes a server can have, and how the API shows them.

Each flavor has a system disk of `disk` GB; 0 means the server boots
from a volume (Rackspace's Compute and Memory flavors), so no image's
`min_disk` is too big for it. A server's `flavor` is `{"id", "links"}`
before microversion 2.47 and the flavor's details from 2.47 on, as
Nova shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    ram: int  # MB
    disk: int  # GB; 0: boots from a volume
    vcpus: int


FLAVORS = {
    flavor.id: flavor
    for flavor in (
        Flavor("general1-1", "1 GB General Purpose v1", 1024, 20, 1),
        Flavor("general1-2", "2 GB General Purpose v1", 2048, 40, 2),
        Flavor("general1-4", "4 GB General Purpose v1", 4096, 80, 4),
        Flavor("general1-8", "8 GB General Purpose v1", 8192, 160, 8),
        Flavor("compute1-4", "3.75 GB Compute v1", 3840, 0, 2),
    )
}
DEFAULT_FLAVOR = "general1-1"
# The microversion from which a server shows its flavor's details.
FLAVOR_DETAILS_FROM = (2, 47)


def find(flavor_id: str) -> Flavor | None:
    return FLAVORS.get(flavor_id)


def view(flavor: Flavor) -> dict[str, Any]:
    """A flavor as `GET /flavors/{id}` shows it."""
    return {
        "id": flavor.id,
        "name": flavor.name,
        "ram": flavor.ram,
        "disk": flavor.disk,
        "vcpus": flavor.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": 0,
        "swap": "",
        "links": [],
    }


def server_flavor(flavor_id: str, version: tuple[int, int]) -> dict[str, Any]:
    """A server's `flavor`: a reference, or from 2.47 the details (no id,
    as Nova: the flavor may have been deleted since)."""
    flavor = FLAVORS.get(flavor_id)
    if version < FLAVOR_DETAILS_FROM or flavor is None:
        return {"id": flavor_id, "links": []}
    return {
        "original_name": flavor.name,
        "ram": flavor.ram,
        "disk": flavor.disk,
        "vcpus": flavor.vcpus,
        "ephemeral": 0,
        "swap": 0,
        "extra_specs": {},
    }

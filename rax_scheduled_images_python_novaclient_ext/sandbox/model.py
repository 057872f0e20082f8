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
"""The sandbox's records: projects, users, tokens, schedules, servers,
images, and the names and times they are written with.

Plain dataclasses with no behaviour beyond their own shape; `State`
(state.py) holds them and keeps the indexes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

OS_SI_ALIAS = "os-si-image-schedule"
RAX_SI_ALIAS = "rax-si-image-schedule"
ALIASES = (OS_SI_ALIAS, RAX_SI_ALIAS)
ALIAS_ATTRIBUTES = {
    OS_SI_ALIAS: "OS-SI:image_schedule",
    RAX_SI_ALIAS: "RAX-SI:image_schedule",
}

DAYS = (
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
)  # in datetime.weekday() order, so DAYS[clock.weekday()] is today

CREATED_BY = "org.openstack__1__created_by"
SERVICE_MARK = "scheduled_images_service"

DEFAULT_MAX_RETENTION = 65535
# A fixed default clock keeps a seeded sandbox identical from run to run;
# 2025-01-04 is a Saturday, the guide's example day.
DEFAULT_CLOCK = "2025-01-04T03:17:00Z"
TOKEN_LIFETIME = dt.timedelta(hours=24)

# The guide's example server, so its commands work verbatim.
MYSERVER_ID = "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6"
BASE_IMAGE_ID = "0f5c4a7e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
IMAGE_SERVICE_PROJECT = "100000"
STATE_VERSION = 1


def parse_time(text: str) -> dt.datetime:
    """Parse an ISO 8601 time; naive times are taken as UTC.

    :raises ValueError: for text that is not one, and for a time whose
        UTC equivalent falls outside the years 1 to 9999.
    """
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:
        raise ValueError(
            f"{text} in UTC is outside the years 1 to 9999"
        ) from None


def format_time(value: dt.datetime) -> str:
    """The `2013-05-10T17:39:08Z` form Nova and Glance answer with.

    Always four digits of year: strftime's %Y gives `1` for the year 1
    on some platforms.
    """
    utc = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="seconds") + "Z"


@dataclass
class Project:
    id: str
    name: str
    domain_id: str = "default"


@dataclass
class User:
    id: str
    name: str
    password: str
    api_key: str
    project_id: str
    domain_id: str = "default"


@dataclass
class Token:
    id: str
    user_id: str
    project_id: str | None
    issued_at: str
    expires_at: str
    methods: list[str] = field(default_factory=lambda: ["password"])


@dataclass
class Schedule:
    retention: int
    day_of_week: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The `image_schedule` body shape: day first, upper case."""
        body: dict[str, Any] = {}
        if self.day_of_week is not None:
            body["day_of_week"] = self.day_of_week
        body["retention"] = self.retention
        return body


@dataclass
class Server:
    id: str
    name: str
    project_id: str
    user_id: str
    created: str
    updated: str
    image_id: str = BASE_IMAGE_ID
    flavor_id: str = "general1-1"
    status: str = "ACTIVE"
    address: str = "10.0.0.2"
    schedule: Schedule | None = None
    # What the service's daily job does for this server (see
    # scheduler.SNAPSHOT_OUTCOMES): "ok", "skip" (no job runs, as when the
    # service misses a day) or "fail" (the snapshot ends `killed`).
    snapshot_outcome: str = "ok"
    # Nova's server metadata (key -> value), shown in the server's detail.
    metadata: dict[str, str] = field(default_factory=dict)


# Image attributes Glance keeps in its own columns; everything else a
# client sets is an "extra property" shown flat at the top level.
CORE_IMAGE_FIELDS = (
    "id",
    "name",
    "status",
    "owner",
    "visibility",
    "created_at",
    "updated_at",
    "container_format",
    "disk_format",
    "size",
    "min_disk",
    "min_ram",
    "protected",
    "tags",
)


@dataclass
class Image:
    id: str
    name: str
    owner: str
    created_at: str
    updated_at: str
    status: str = "active"
    visibility: str = "private"
    container_format: str = "ovf"
    disk_format: str = "vhd"
    size: int = 0
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[str, str]:
        """Glance's default order is created_at, then id, both desc."""
        return (self.created_at, self.id)

    def field(self, name: str) -> Any:
        """A core attribute or an extra property, None when absent."""
        if name in CORE_IMAGE_FIELDS:
            return getattr(self, name)
        return self.properties.get(name)

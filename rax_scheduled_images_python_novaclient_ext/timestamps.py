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
"""When an image was made, as the service and its pruning read it.

Pure functions of the Image API's ``created_at`` (no I/O): shared by the
prune forecast, the health view and the orphan purge, so all three order
and age images alike.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

_FRACTION = re.compile(r"(?<=:\d\d)\.(\d+)")


def _six_digits(match: re.Match[str]) -> str:
    return "." + (match.group(1) + "000000")[:6]


def parse_timestamp(value: object) -> datetime.datetime | None:
    """An Image API time (``2026-11-01T03:04:05Z``) as an aware UTC datetime.

    Fractions of a second and any UTC offset are accepted; a time with
    no zone is taken as UTC (Glance writes UTC). None for anything that
    is not such a time.
    """
    if not isinstance(value, str) or not value:
        return None
    # Python 3.10's fromisoformat() takes neither the "Z" suffix nor a
    # fraction of other than 3 or 6 digits (".5"): both are normalised.
    text = _FRACTION.sub(_six_digits, value.replace("Z", "+00:00"), count=1)
    try:
        when = datetime.datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        # In UTC, so that no comparison overflows (0001-01-01T00:00+01:00).
        return when.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError):
        return None


# What an image whose time cannot be read counts as: the oldest, so the
# prune forecast takes it first, as the service's own sort (by the time
# as text) does with an empty one; an image of unknown age is never
# shown as safe.
UNREADABLE_TIME = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def created(image: Mapping[str, Any]) -> datetime.datetime:
    """When ``image`` was made (:data:`UNREADABLE_TIME` if unknown)."""
    raw = image.get("created_at") or image.get("created") or ""
    when = parse_timestamp(str(raw))
    return UNREADABLE_TIME if when is None else when


def age_order(image: Mapping[str, Any]) -> tuple[datetime.datetime, str]:
    """Oldest first: by creation time, then by id, as Glance orders."""
    return (created(image), str(image.get("id", "")))


def sort_oldest_first(
    images: Iterable[Mapping[str, Any]],
) -> list[Mapping[str, Any]]:
    """Images in the order a person reads a history: oldest first."""
    return sorted(images, key=age_order)

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
"""The Glance v2 image list: filters, sort order and paging.

`GET /image/v2/images` answers a page of the images the token's project
sees (its own and public ones) that match every filter given. Filtering
by `instance_uuid` starts from that server's images in the index; the
default order (created_at, id, newest first) walks the owner's sorted
keys from the marker on; any other order sorts the matching images.
Links (`first`, `next`) are relative to the image endpoint, as Glance's
are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from .model import Image, format_time, parse_time
from .protocol import ProjectCall, bad_request, limit_param

SORT_KEYS = (
    "created_at",
    "updated_at",
    "name",
    "status",
    "id",
    "size",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "visibility",
    "owner",
)
PAGING_PARAMS = frozenset({"limit", "marker", "sort_key", "sort_dir"})
COMPARATORS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def list_page(call: ProjectCall) -> tuple[list[Image], str | None]:
    """A page of visible images matching every filter given, and the
    link to the next page (None after a short page)."""
    limit, sort_key, descending = _paging(call)
    tests = _filters(call)
    marker = _marker_image(call)
    candidates = _candidates(call, sort_key, descending, marker)
    visible = call.state.image_visible_to
    page = list(
        islice(
            (
                image
                for image in candidates
                if visible(image, call.project_id)
                and all(test(image) for test in tests)
            ),
            limit,
        )
    )
    if not page or len(page) < limit:
        return page, None
    params = [(k, v) for k, v in call.request.query if k != "marker"]
    params.append(("marker", page[-1].id))
    return page, f"/v2/images?{urlencode(params)}"


def _paging(call: ProjectCall) -> tuple[int, str, bool]:
    """The page size, the sort key, and whether the order is descending."""
    settings, request = call.settings, call.request
    limit = limit_param(request)
    if limit is None:
        limit = settings.image_page_default
    limit = min(limit, settings.image_page_max)
    sort_key = request.param("sort_key") or "created_at"
    if sort_key not in SORT_KEYS:
        raise bad_request(
            f"Invalid sort key: {sort_key}. It must be one of the "
            f"following: {', '.join(SORT_KEYS)}."
        )
    sort_dir = request.param("sort_dir") or "desc"
    if sort_dir not in ("asc", "desc"):
        raise bad_request(
            f"Invalid sort direction: {sort_dir}. It must be one of "
            "the following: asc, desc."
        )
    return limit, sort_key, sort_dir == "desc"


def _filters(call: ProjectCall) -> list[Callable[[Image], bool]]:
    """One predicate per filter parameter; all must hold."""
    return [
        _filter(key, value)
        for key, value in call.request.query
        if key not in PAGING_PARAMS
    ]


def _marker_image(call: ProjectCall) -> Image | None:
    """The image the page starts after; 400 when it is not visible."""
    marker = call.request.param("marker")
    if not marker:
        return None
    image = call.state.images.get(marker)
    if image is None or not call.state.image_visible_to(
        image, call.project_id
    ):
        raise bad_request(f"Marker {marker} could not be found.")
    return image


def _candidates(
    call: ProjectCall,
    sort_key: str,
    descending: bool,
    marker: Image | None,
) -> Iterable[Image]:
    """The images to filter, in the page's order, after the marker."""
    state = call.state
    images = state.images
    instance = call.request.param("instance_uuid")
    if instance is not None and not instance.startswith(
        tuple(f"{op}:" for op in (*COMPARATORS, "in"))
    ):
        own = (images[i] for i in state.instance_images.get(instance, ()))
        return _sorted(own, sort_key, descending, marker)
    if sort_key == "created_at" and descending:
        below = marker.sort_key if marker else None
        return _by_key(call, below)
    return _sorted(_by_key(call, None), sort_key, descending, marker)


def _by_key(
    call: ProjectCall, below: tuple[str, str] | None
) -> Iterator[Image]:
    """Visible images newest first, only those older than `below`."""
    images = call.state.images
    for key in call.state.visible_image_keys(call.project_id, below):
        yield images[key[1]]


def _sorted(
    images: Iterable[Image],
    sort_key: str,
    descending: bool,
    marker: Image | None,
) -> list[Image]:
    """Images in (sort_key, id) order, starting after the marker."""

    def key(image: Image) -> tuple[Any, str]:
        return (image.field(sort_key), image.id)

    ordered = sorted(images, key=key, reverse=descending)
    if marker is None:
        return ordered
    after = key(marker)
    if descending:
        return [i for i in ordered if key(i) < after]
    return [i for i in ordered if key(i) > after]


def _filter(key: str, value: str) -> Callable[[Image], bool]:
    """A Glance-like filter: equality, `in:a,b`, or `gt:` etc. on times."""
    if key == "tag":
        return lambda image: value in image.tags
    if key in ("size_min", "size_max"):
        try:
            bound = int(value)
        except ValueError:
            raise bad_request(f"Invalid value for {key}: {value}") from None
        if key == "size_min":
            return lambda image: image.size >= bound
        return lambda image: image.size <= bound
    if key in ("created_at", "updated_at"):
        op, _, text = value.partition(":")
        if op not in COMPARATORS or not text:
            op, text = "eq", value
        try:
            when = format_time(parse_time(text))
        except ValueError:
            raise bad_request(f"Invalid value for {key}: {value}") from None
        compare = COMPARATORS[op]
        return lambda image: compare(str(image.field(key)), when)
    if value.startswith("in:"):
        wanted = set(value[3:].split(","))
        return lambda image: _shown(image.field(key)) in wanted
    if key == "status":
        # Glance stores statuses in lower case; accept any case.
        return lambda image: image.status == value.lower()
    return lambda image: _shown(image.field(key)) == value


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

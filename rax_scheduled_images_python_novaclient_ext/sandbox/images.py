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
"""Images: the parts of Glance's v2 API the scheduled images tools use.

The catalog's image endpoint is versionless (`/image`), so paths here are
`/image/v2/images...`. Links in answers (`self`, `file`, `next`) are
relative to that endpoint, as Glance's are: a client joins them to the
endpoint from the catalog. Only images the token's project owns, and
public ones, are visible; only owned ones can be changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from .identity import authenticate
from .model import CORE_IMAGE_FIELDS, Image, format_time, parse_time
from .protocol import (
    ApiError,
    Request,
    Response,
    Settings,
    bad_request,
    not_found,
    require_method,
)
from .state import State

PATCH_V21 = "application/openstack-images-v2.1-json-patch"
PATCH_V20 = "application/openstack-images-v2.0-json-patch"

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
# Set by Glance; a PATCH may not touch them.
READ_ONLY = frozenset(
    {
        "id",
        "status",
        "owner",
        "created_at",
        "updated_at",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "self",
        "file",
        "schema",
        "direct_url",
        "locations",
    }
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


def view(image: Image) -> dict[str, Any]:
    """An image as Glance v2 shows it: core fields plus flat properties."""
    body: dict[str, Any] = dict(image.properties)
    body.update(
        {
            "id": image.id,
            "name": image.name,
            "status": image.status,
            "visibility": image.visibility,
            "protected": image.protected,
            "os_hidden": False,
            "tags": list(image.tags),
            "container_format": image.container_format,
            "disk_format": image.disk_format,
            "size": image.size,
            "virtual_size": None,
            "checksum": None,
            "min_disk": image.min_disk,
            "min_ram": image.min_ram,
            "owner": image.owner,
            "created_at": image.created_at,
            "updated_at": image.updated_at,
            "self": f"/v2/images/{image.id}",
            "file": f"/v2/images/{image.id}/file",
            "schema": "/v2/schemas/image",
        }
    )
    return body


def _versions(base_url: str) -> dict[str, Any]:
    href = f"{base_url}/image/v2/"
    return {
        "versions": [
            {
                "id": version,
                "status": status,
                "links": [{"rel": "self", "href": href}],
            }
            for version, status in (
                ("v2.9", "CURRENT"),
                ("v2.1", "SUPPORTED"),
                ("v2.0", "SUPPORTED"),
            )
        ]
    }


def handle(
    state: State, settings: Settings, request: Request, path: list[str]
) -> Response:
    if not path or path == ["versions"]:
        require_method(request, "GET")
        # Glance answers its root with 300 Multiple Choices.
        return Response(300 if not path else 200, _versions(request.base_url))
    if path[0] != "v2":
        raise not_found()
    token = authenticate(state, request)
    assert token.project_id is not None
    api = _ImageApi(state, settings, request, token.project_id)
    rest = path[1:]
    if rest == ["images"]:
        require_method(request, "GET")
        return api.list_images()
    if len(rest) == 2 and rest[0] == "images":
        require_method(request, "GET, PATCH, DELETE")
        if request.method == "GET":
            return Response(200, view(api.visible(rest[1])))
        if request.method == "PATCH":
            return api.patch(rest[1])
        return api.delete(rest[1])
    if len(rest) == 2 and rest[0] == "schemas":
        require_method(request, "GET")
        return _schema(rest[1])
    raise not_found()


class _ImageApi:
    def __init__(
        self,
        state: State,
        settings: Settings,
        request: Request,
        project_id: str,
    ) -> None:
        self.state = state
        self.settings = settings
        self.request = request
        self.project_id = project_id

    def visible(self, image_id: str) -> Image:
        image = self.state.images.get(image_id)
        if image is None or not self.state.image_visible_to(
            image, self.project_id
        ):
            raise not_found(f"No image found with ID {image_id}")
        return image

    def owned(self, image_id: str, verb: str) -> Image:
        image = self.visible(image_id)
        if image.owner != self.project_id:
            raise ApiError(403, f"You are not permitted to {verb} this image.")
        return image

    # ----- list -------------------------------------------------------------

    def _paging(self) -> tuple[int, str | None, str, bool]:
        text = self.request.param("limit")
        limit = self.settings.image_page_default
        if text is not None:
            try:
                limit = int(text)
            except ValueError:
                raise bad_request("limit param must be an integer") from None
            if limit < 0:
                raise bad_request("limit param must be positive")
        limit = min(limit, self.settings.image_page_max)
        sort_key = self.request.param("sort_key") or "created_at"
        if sort_key not in SORT_KEYS:
            raise bad_request(
                f"Invalid sort key: {sort_key}. It must be one of the "
                f"following: {', '.join(SORT_KEYS)}."
            )
        sort_dir = self.request.param("sort_dir") or "desc"
        if sort_dir not in ("asc", "desc"):
            raise bad_request(
                f"Invalid sort direction: {sort_dir}. It must be one of "
                "the following: asc, desc."
            )
        marker = self.request.param("marker")
        return limit, marker, sort_key, sort_dir == "desc"

    def _filters(self) -> list[Callable[[Image], bool]]:
        """One predicate per filter parameter; all must hold."""
        tests: list[Callable[[Image], bool]] = []
        for key, value in self.request.query:
            if key in PAGING_PARAMS:
                continue
            tests.append(_filter(key, value))
        return tests

    def list_images(self) -> Response:
        """A page of visible images matching every filter given.

        Filtering by `instance_uuid` starts from that server's images in
        the index; the default order (created_at, id, newest first) walks
        the owner's sorted keys from the marker on; anything else sorts
        the matching images.
        """
        limit, marker, sort_key, descending = self._paging()
        tests = self._filters()
        marker_image = self.state.images.get(marker) if marker else None
        if marker and (
            marker_image is None
            or not self.state.image_visible_to(marker_image, self.project_id)
        ):
            raise bad_request(f"Marker {marker} could not be found.")
        instance = self.request.param("instance_uuid")
        images = self.state.images
        candidates: Iterable[Image]
        if instance is not None and not instance.startswith(
            tuple(f"{op}:" for op in (*COMPARATORS, "in"))
        ):
            candidates = self._sorted(
                (
                    images[i]
                    for i in self.state.instance_images.get(instance, ())
                ),
                sort_key,
                descending,
                marker_image,
            )
        elif sort_key == "created_at" and descending:
            below = marker_image.sort_key if marker_image else None
            candidates = (
                images[key[1]]
                for key in self.state.visible_image_keys(
                    self.project_id, below
                )
            )
        else:
            candidates = self._sorted(
                (
                    images[key[1]]
                    for key in self.state.visible_image_keys(self.project_id)
                ),
                sort_key,
                descending,
                marker_image,
            )
        page = list(
            islice(
                (
                    image
                    for image in candidates
                    if self.state.image_visible_to(image, self.project_id)
                    and all(test(image) for test in tests)
                ),
                limit,
            )
        )
        body: dict[str, Any] = {
            "images": [view(image) for image in page],
            "first": "/v2/images",
            "schema": "/v2/schemas/images",
        }
        if page and len(page) == limit:
            params = [(k, v) for k, v in self.request.query if k != "marker"]
            params.append(("marker", page[-1].id))
            body["next"] = f"/v2/images?{urlencode(params)}"
        return Response(200, body)

    def _sorted(
        self,
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

    # ----- change -----------------------------------------------------------

    def patch(self, image_id: str) -> Response:
        """Apply a JSON patch to an image, all operations or none."""
        content_type = (self.request.header("Content-Type") or "").split(";")
        media = content_type[0].strip().lower()
        if media not in (PATCH_V21, PATCH_V20):
            raise ApiError(
                415,
                f"Unsupported Content-Type: {media or 'none'}. Use "
                f"{PATCH_V21}",
            )
        image = self.owned(image_id, "modify")
        changes = self.request.json()
        if not isinstance(changes, list) or not all(
            isinstance(change, dict) for change in changes
        ):
            raise bad_request(
                "Request body must be a JSON array of operation objects."
            )
        # Work on a copy so that a failing operation leaves nothing half
        # done, as Glance saves only after every operation succeeded.
        core = {name: getattr(image, name) for name in CORE_IMAGE_FIELDS}
        core["tags"] = list(image.tags)
        properties = dict(image.properties)
        for change in changes:
            _apply(change, core, properties, strict_add=media == PATCH_V20)
        for name in ("name", "visibility", "container_format"):
            setattr(image, name, core[name])
        for name in ("disk_format", "min_disk", "min_ram", "protected"):
            setattr(image, name, core[name])
        image.tags = core["tags"]
        for key in set(image.properties) | set(properties):
            if image.properties.get(key) != properties.get(key):
                self.state.set_image_property(image, key, properties.get(key))
        image.updated_at = format_time(self.state.clock)
        return Response(200, view(image), changed=True)

    def delete(self, image_id: str) -> Response:
        image = self.owned(image_id, "delete")
        if image.protected:
            raise ApiError(
                403, f"Image {image.id} is protected and cannot be deleted."
            )
        self.state.remove_image(image.id)
        return Response(204, changed=True)


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


def _apply(
    change: dict[str, Any],
    core: dict[str, Any],
    properties: dict[str, str],
    *,
    strict_add: bool,
) -> None:
    """One JSON-patch operation with Glance's rules and texts."""
    op = change.get("op")
    path = change.get("path")
    if op not in ("add", "replace", "remove"):
        raise bad_request(
            f"Operation {op!r} is not supported; use add, replace or remove."
        )
    if not isinstance(path, str) or not path.startswith("/"):
        raise bad_request(f"Invalid JSON pointer for this resource: {path}")
    parts = path[1:].split("/")
    if len(parts) != 1 or not parts[0]:
        raise bad_request(f"Invalid JSON pointer for this resource: {path}")
    name = parts[0].replace("~1", "/").replace("~0", "~")
    if name in READ_ONLY:
        raise ApiError(403, f"Attribute '{name}' is read-only.")
    if op == "remove":
        if name in core:
            raise ApiError(403, f"Property {name} may not be removed.")
        if name not in properties:
            raise ApiError(409, f"Property {name} does not exist.")
        del properties[name]
        return
    if "value" not in change:
        raise bad_request(f"Operation {op} on {path} needs a value.")
    value = change["value"]
    if name in core:
        core[name] = _core_value(name, value)
        return
    if op == "replace" and name not in properties:
        raise ApiError(409, f"Property {name} does not exist.")
    if op == "add" and strict_add and name in properties:
        raise ApiError(409, f"Property {name} already present.")
    if not isinstance(value, str):
        raise bad_request(
            f"Provided object does not match schema 'image': "
            f"{value!r} is not of type 'string' (property {name})"
        )
    properties[name] = value


def _core_value(name: str, value: Any) -> Any:
    """Check a new value for a writable core attribute."""
    valid: bool
    if name in ("min_disk", "min_ram"):
        valid = isinstance(value, int) and not isinstance(value, bool)
        valid = valid and value >= 0
    elif name == "protected":
        valid = isinstance(value, bool)
    elif name == "tags":
        valid = isinstance(value, list) and all(
            isinstance(tag, str) for tag in value
        )
    elif name == "visibility":
        valid = value in ("private", "shared", "community")
        if value == "public":
            raise ApiError(
                403, "You are not authorized to publicize this image."
            )
    else:
        valid = isinstance(value, str)
    if not valid:
        raise bad_request(
            f"Provided object does not match schema 'image': invalid value "
            f"{value!r} for '{name}'"
        )
    return value


def _schema(name: str) -> Response:
    properties: dict[str, Any] = {
        field: {"type": "string"} for field in CORE_IMAGE_FIELDS
    }
    properties.update(
        {
            "size": {"type": ["null", "integer"]},
            "min_disk": {"type": "integer"},
            "min_ram": {"type": "integer"},
            "protected": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "self": {"type": "string"},
            "file": {"type": "string"},
            "schema": {"type": "string"},
        }
    )
    image_schema: dict[str, Any] = {
        "name": "image",
        "properties": properties,
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }
    if name == "image":
        return Response(200, image_schema)
    if name == "images":
        return Response(
            200,
            {
                "name": "images",
                "properties": {
                    "images": {"type": "array", "items": image_schema},
                    "schema": {"type": "string"},
                    "first": {"type": "string"},
                    "next": {"type": "string"},
                },
                "links": [
                    {"rel": "first", "href": "{first}"},
                    {"rel": "next", "href": "{next}"},
                    {"rel": "describedby", "href": "{schema}"},
                ],
            },
        )
    raise not_found()

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
public ones, are visible; only owned ones can be changed. This module
routes, shows, patches and deletes; which images a list page holds is
image_list.py's.
"""

from __future__ import annotations

from typing import Any

from .identity import authenticate
from .image_list import list_page
from .model import CORE_IMAGE_FIELDS, Image, format_time
from .protocol import (
    ApiError,
    ProjectCall,
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
    if settings.lifecycle is not None:
        # A snapshot's image moves on with its server's action.
        settings.lifecycle.advance()
    api = _ImageApi(state, settings, request, token.project_id)
    rest = path[1:]
    if rest == ["images"]:
        require_method(request, "GET")
        page, next_link = list_page(api)
        body: dict[str, Any] = {
            "images": [view(image) for image in page],
            "first": "/v2/images",
            "schema": "/v2/schemas/images",
        }
        if next_link is not None:
            body["next"] = next_link
        return Response(200, body)
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


class _ImageApi(ProjectCall):
    """The calls on one image, for the token's project."""

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

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
"""The sandbox cloud's live data, with the indexes its handlers rely on.

Everything a request handler reads or changes lives in one `State`. Hot
paths (show a server, page through a project's servers, list one server's
images) go through indexes kept here, so their cost does not grow with the
size of the fleet. The records are in model.py; saving and loading in
persistence.py; what a fresh sandbox holds in seed.py.
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from collections.abc import Iterator

from .model import (
    DEFAULT_CLOCK,
    IMAGE_SERVICE_PROJECT,
    TOKEN_LIFETIME,
    Image,
    Project,
    Server,
    Token,
    User,
    format_time,
    parse_time,
)


class State:
    """All sandbox data, with the indexes the request handlers rely on.

    Invariants: `project_servers[p]` lists project p's server ids in Nova's
    default order (created desc, id desc) and `server_position` gives each
    id's place in it; `owner_images[o]` holds (created_at, id) keys of the
    images owned by o in ascending order; `instance_images[s]` holds the
    ids of images whose `instance_uuid` is s.
    """

    def __init__(self) -> None:
        self.clock: dt.datetime = parse_time(DEFAULT_CLOCK)
        self.projects: dict[str, Project] = {}
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.servers: dict[str, Server] = {}
        self.images: dict[str, Image] = {}
        self.project_servers: dict[str, list[str]] = {}
        self.server_position: dict[str, int] = {}
        self.owner_images: dict[str, list[tuple[str, str]]] = {}
        self.instance_images: dict[str, set[str]] = {}
        # Keys of public images owned by other projects than the image
        # service's (rare: another project's image made public).
        self.public_keys: list[tuple[str, str]] = []
        # Drives the ids of images the scheduler makes, so one seed always
        # yields the same ids; kept in the state file across restarts.
        self.id_counter = 0
        self.id_namespace = uuid.UUID("6ba7b812-9dad-11d1-80b4-00c04fd430c8")

    # ----- look-ups -------------------------------------------------------

    def project_by_name(self, name: str) -> Project | None:
        for project in self.projects.values():
            if project.name == name:
                return project
        return None

    def user_by_name(self, name: str) -> User | None:
        for user in self.users.values():
            if user.name == name:
                return user
        return None

    def servers_of(self, project_id: str) -> list[str]:
        return self.project_servers.get(project_id, [])

    def visible_image_keys(
        self, owner: str, below: tuple[str, str] | None = None
    ) -> Iterator[tuple[str, str]]:
        """Keys of images `owner` sees (its own and public), newest first.

        With `below`, only keys older than it: the page after a marker is
        found by bisection, not by walking past everything newer.
        """
        own = self.owner_images.get(owner, [])
        public: list[tuple[str, str]] = []
        if owner != IMAGE_SERVICE_PROJECT:
            public = self._public_keys_for(owner)
        if below is None:
            i, j = len(own) - 1, len(public) - 1
        else:
            i = bisect.bisect_left(own, below) - 1
            j = bisect.bisect_left(public, below) - 1
        while i >= 0 or j >= 0:
            if j < 0 or (i >= 0 and own[i] > public[j]):
                yield own[i]
                i -= 1
            else:
                yield public[j]
                j -= 1

    def _public_keys_for(self, owner: str) -> list[tuple[str, str]]:
        """The keys of public images of other projects, ascending."""
        service = self.owner_images.get(IMAGE_SERVICE_PROJECT, [])
        others = [
            key
            for key in self.public_keys
            if self.images[key[1]].owner != owner
        ]
        return sorted(service + others) if others else service

    def _index_public(self, image: Image) -> None:
        if (
            image.visibility == "public"
            and image.owner != IMAGE_SERVICE_PROJECT
        ):
            bisect.insort(self.public_keys, image.sort_key)

    def image_visible_to(self, image: Image, project_id: str) -> bool:
        return image.owner == project_id or image.visibility == "public"

    # ----- changes --------------------------------------------------------

    def add_project(self, project: Project) -> None:
        self.projects[project.id] = project
        self.project_servers.setdefault(project.id, [])

    def add_user(self, user: User) -> None:
        self.users[user.id] = user

    def add_servers(self, servers: list[Server]) -> None:
        """Add servers and rebuild the order of the projects they are in."""
        touched: set[str] = set()
        for server in servers:
            self.servers[server.id] = server
            self.project_servers.setdefault(server.project_id, [])
            self.project_servers[server.project_id].append(server.id)
            touched.add(server.project_id)
        for project_id in touched:
            ids = self.project_servers[project_id]
            ids.sort(
                key=lambda sid: (self.servers[sid].created, sid),
                reverse=True,
            )
            for position, sid in enumerate(ids):
                self.server_position[sid] = position

    def add_image(self, image: Image) -> None:
        if image.id in self.images:
            self.remove_image(image.id)
        self.images[image.id] = image
        bisect.insort(
            self.owner_images.setdefault(image.owner, []), image.sort_key
        )
        self._index_public(image)
        instance = image.properties.get("instance_uuid")
        if instance:
            self.instance_images.setdefault(instance, set()).add(image.id)

    def add_images_bulk(self, images: list[Image]) -> None:
        """Like add_image for many images, sorting each owner's list once."""
        touched: set[str] = set()
        for image in images:
            self.images[image.id] = image
            self.owner_images.setdefault(image.owner, []).append(
                image.sort_key
            )
            touched.add(image.owner)
            self._index_public(image)
            instance = image.properties.get("instance_uuid")
            if instance:
                self.instance_images.setdefault(instance, set()).add(image.id)
        for owner in touched:
            self.owner_images[owner].sort()

    def remove_image(self, image_id: str) -> Image:
        image = self.images.pop(image_id)
        keys = self.owner_images[image.owner]
        position = bisect.bisect_left(keys, image.sort_key)
        if position < len(keys) and keys[position] == image.sort_key:
            del keys[position]
        if image.sort_key in self.public_keys:
            self.public_keys.remove(image.sort_key)
        self._unindex_instance(image)
        return image

    def set_image_property(
        self, image: Image, key: str, value: str | None
    ) -> None:
        """Change an extra property, keeping the instance index right."""
        if key == "instance_uuid":
            self._unindex_instance(image)
        if value is None:
            image.properties.pop(key, None)
        else:
            image.properties[key] = value
        if key == "instance_uuid" and value:
            self.instance_images.setdefault(value, set()).add(image.id)

    def _unindex_instance(self, image: Image) -> None:
        instance = image.properties.get("instance_uuid")
        if instance and instance in self.instance_images:
            self.instance_images[instance].discard(image.id)
            if not self.instance_images[instance]:
                del self.instance_images[instance]

    def new_image_id(self) -> str:
        self.id_counter += 1
        return str(uuid.uuid5(self.id_namespace, f"image-{self.id_counter}"))

    def issue_token(
        self, user: User, project_id: str | None, methods: list[str]
    ) -> Token:
        """A new token, valid for a day of real (not sandbox) time.

        Real time because keystoneauth compares `expires_at` with the real
        clock, whatever the sandbox clock says.
        """
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        token = Token(
            id=uuid.uuid4().hex,
            user_id=user.id,
            project_id=project_id,
            issued_at=format_time(now),
            expires_at=format_time(now + TOKEN_LIFETIME),
            methods=methods,
        )
        self.tokens[token.id] = token
        return token

    def valid_token(self, token_id: str) -> Token | None:
        token = self.tokens.get(token_id)
        if token is None:
            return None
        now = dt.datetime.now(dt.timezone.utc)
        if parse_time(token.expires_at) <= now:
            del self.tokens[token_id]
            return None
        return token

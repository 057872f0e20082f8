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
"""The sandbox cloud's data: projects, users, tokens, servers, images.

Everything a request handler reads or changes lives in one `State`. Hot
paths (show a server, page through a project's servers, list one server's
images) go through indexes kept here, so their cost does not grow with the
size of the fleet. The state is plain data: it can be dumped to JSON and
loaded back (`save` / `load`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import random
import tempfile
import uuid
from collections.abc import Iterator
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
    """Parse an ISO 8601 time; naive times are taken as UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def format_time(value: dt.datetime) -> str:
    """The `2013-05-10T17:39:08Z` form Nova and Glance answer with."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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

    # ----- persistence ----------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "clock": format_time(self.clock),
            "id_counter": self.id_counter,
            "projects": [vars(p) for p in self.projects.values()],
            "users": [vars(u) for u in self.users.values()],
            "tokens": [vars(t) for t in self.tokens.values()],
            "servers": [_server_to_json(s) for s in self.servers.values()],
            "images": [_image_to_json(i) for i in self.images.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        if data.get("version") != STATE_VERSION:
            raise ValueError(
                f"unsupported state file version {data.get('version')!r}"
            )
        state = cls()
        state.clock = parse_time(data["clock"])
        state.id_counter = int(data["id_counter"])
        for item in data["projects"]:
            state.add_project(Project(**item))
        for item in data["users"]:
            state.add_user(User(**item))
        for item in data["tokens"]:
            token = Token(**item)
            state.tokens[token.id] = token
        state.add_servers([_server_from_json(s) for s in data["servers"]])
        state.add_images_bulk([Image(**i) for i in data["images"]])
        return state

    def save(self, path: str) -> None:
        """Write the state atomically: a reader sees the old or the new.

        The temporary file is in the same directory so os.replace is a
        rename within one file system, and it is fsynced first so a crash
        cannot leave a renamed but empty file.
        """
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(
            prefix=".sandbox-state-", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.to_json(), handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    @classmethod
    def load(cls, path: str) -> State:
        """Read a state file; raises OSError or ValueError when unusable."""
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError("state file does not hold a JSON object")
        try:
            return cls.from_json(data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"state file is incomplete: {exc}") from exc


def _server_to_json(server: Server) -> dict[str, Any]:
    data = dict(vars(server))
    data["schedule"] = (
        None if server.schedule is None else vars(server.schedule)
    )
    return data


def _server_from_json(data: dict[str, Any]) -> Server:
    data = dict(data)
    schedule = data.pop("schedule", None)
    server = Server(**data)
    if schedule is not None:
        server.schedule = Schedule(**schedule)
    return server


def _image_to_json(image: Image) -> dict[str, Any]:
    return dict(vars(image))


# ----- seeding ------------------------------------------------------------

DEMO_PROJECT_ID = "100001"
ALT_PROJECT_ID = "100002"


@dataclass(frozen=True)
class SeedUser:
    """A seeded login, as documented for the sandbox's users."""

    name: str
    password: str
    api_key: str
    user_id: str
    project_id: str
    project_name: str


SEED_USERS = (
    SeedUser(
        "demo", "secret", "demo-api-key", "u-100001", DEMO_PROJECT_ID, "demo"
    ),
    SeedUser(
        "alt", "secret", "alt-api-key", "u-100002", ALT_PROJECT_ID, "alt"
    ),
)

# (id, name, project) of the hand-made servers; `web` twice on purpose so
# that looking it up by name is ambiguous, and `myserver` in both projects
# so that a name lookup that leaked across projects would show.
SEED_SERVERS = (
    (MYSERVER_ID, "myserver", DEMO_PROJECT_ID),
    ("6c1f0a4e-2b7d-4f0e-9a51-3d2e8b7c9f01", "web", DEMO_PROJECT_ID),
    ("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "web", DEMO_PROJECT_ID),
    ("3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69", "db", DEMO_PROJECT_ID),
    ("7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "alt-app", ALT_PROJECT_ID),
    ("5d1e0f2a-7b3c-4d8e-9f0a-1b2c3d4e5f60", "myserver", ALT_PROJECT_ID),
)


def seed_base(state: State) -> None:
    """Projects, users and the public image every seeded server booted."""
    for seed_user in SEED_USERS:
        state.add_project(
            Project(id=seed_user.project_id, name=seed_user.project_name)
        )
        state.add_user(
            User(
                id=seed_user.user_id,
                name=seed_user.name,
                password=seed_user.password,
                api_key=seed_user.api_key,
                project_id=seed_user.project_id,
            )
        )
    stamp = "2024-06-01T00:00:00Z"
    state.add_image(
        Image(
            id=BASE_IMAGE_ID,
            name="Ubuntu 22.04 LTS (Jammy Jellyfish)",
            owner=IMAGE_SERVICE_PROJECT,
            created_at=stamp,
            updated_at=stamp,
            visibility="public",
            size=2147483648,
            min_disk=20,
            min_ram=512,
            properties={"os_distro": "ubuntu", "os_version": "22.04"},
        )
    )


def seed_demo(state: State) -> None:
    """The hand-made servers and a few images, identical for every seed."""
    base = state.clock - dt.timedelta(days=30)
    servers = []
    for number, (sid, name, project_id) in enumerate(SEED_SERVERS):
        created = format_time(base + dt.timedelta(minutes=number))
        user_id = "u-" + project_id
        servers.append(
            Server(
                id=sid,
                name=name,
                project_id=project_id,
                user_id=user_id,
                created=created,
                updated=created,
                address=f"10.0.{number // 250}.{number % 250 + 2}",
            )
        )
    state.add_servers(servers)
    # Two servers start with a schedule and a history of images, so that
    # listing, filtering and pruning have something to show at once.
    db = state.servers["3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"]
    db.schedule = Schedule(retention=3)
    history = []
    for days_ago in (3, 2, 1):
        when = state.clock - dt.timedelta(days=days_ago)
        history.append(make_image(state, db, when))
    manual = make_image(
        state, db, state.clock - dt.timedelta(days=10), marked=False
    )
    manual.name = "db-before-upgrade"
    history.append(manual)
    app = state.servers["7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]
    app.schedule = Schedule(retention=2, day_of_week="SUNDAY")
    for days_ago in (13, 6):
        when = state.clock - dt.timedelta(days=days_ago)
        history.append(make_image(state, app, when, kind="Weekly"))
    state.add_images_bulk(history)


def make_image(
    state: State,
    server: Server,
    created: dt.datetime,
    *,
    kind: str = "Daily",
    marked: bool = True,
    status: str = "active",
    image_id: str | None = None,
) -> Image:
    """A snapshot of `server` as Nova and the scheduler would make it."""
    stamp = int(created.timestamp())
    suffix = f"-{stamp}"
    prefix = f"{kind}-"
    name = prefix + server.name[: 255 - len(prefix) - len(suffix)] + suffix
    properties = {"instance_uuid": server.id, "image_type": "snapshot"}
    if marked:
        properties[CREATED_BY] = SERVICE_MARK
    when = format_time(created)
    return Image(
        id=image_id or state.new_image_id(),
        name=name,
        owner=server.project_id,
        created_at=when,
        updated_at=when,
        status=status,
        size=1073741824,
        min_disk=20,
        min_ram=512,
        properties=properties,
    )


def generate_fleet(
    state: State,
    *,
    seed: int,
    servers: int,
    scheduled: int = 0,
    images: int = 0,
    project_id: str = DEMO_PROJECT_ID,
) -> None:
    """Add a large, reproducible fleet to `project_id`.

    The same seed and counts always give the same ids, names, schedules
    and images. `scheduled` servers get a schedule (a mix of daily and
    weekly); `images` snapshot images are spread over the scheduled
    servers (or over all servers when none is scheduled), most of them
    marked as the service's, some not.
    """
    rng = random.Random(seed)
    base = state.clock - dt.timedelta(days=400)
    fleet = []
    user_id = "u-" + project_id
    for number in range(servers):
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = format_time(base + dt.timedelta(seconds=number * 60))
        fleet.append(
            Server(
                id=sid,
                name=f"fleet-{number:05d}",
                project_id=project_id,
                user_id=user_id,
                created=created,
                updated=created,
                address=f"10.{1 + number // 62500}."
                f"{number // 250 % 250}.{number % 250 + 2}",
            )
        )
    for server in rng.sample(fleet, min(scheduled, len(fleet))):
        day = rng.choice(DAYS) if rng.random() < 0.3 else None
        server.schedule = Schedule(rng.randint(1, 14), day)
    state.add_servers(fleet)
    owners = [s for s in fleet if s.schedule] or fleet
    made = []
    for _ in range(images if owners else 0):
        server = owners[rng.randrange(len(owners))]
        taken = state.clock - dt.timedelta(
            seconds=rng.randrange(1, 365 * 86400)
        )
        weekly = server.schedule is not None and server.schedule.day_of_week
        kind = "Weekly" if weekly else "Daily"
        made.append(
            make_image(
                state,
                server,
                taken,
                kind=kind,
                marked=rng.random() < 0.9,
                image_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            )
        )
    state.add_images_bulk(made)


def build_state(
    *,
    seed: int = 0,
    servers: int = 0,
    scheduled: int = 0,
    images: int = 0,
    clock: dt.datetime | None = None,
) -> State:
    """A fresh state: base, demo seed and an optional generated fleet."""
    state = State()
    if clock is not None:
        state.clock = clock
    seed_base(state)
    seed_demo(state)
    if servers:
        generate_fleet(
            state,
            seed=seed,
            servers=servers,
            scheduled=scheduled,
            images=images,
        )
    return state

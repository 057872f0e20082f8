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
"""What a fresh sandbox holds: the seeded users, servers and images, an
optional generated fleet, and how a snapshot image is made.

The seeded data is the same for every seed (the README's tables); the
generated fleet is the same for the same seed and counts.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from .model import (
    BASE_IMAGE_ID,
    CREATED_BY,
    DAYS,
    IMAGE_SERVICE_PROJECT,
    MYSERVER_ID,
    SERVICE_MARK,
    Image,
    Project,
    Schedule,
    Server,
    User,
    format_time,
)
from .state import State

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
                # 127.0.1.2...: a running sandbox listens there
                # (listeners.loopback_address).
                address=f"127.0.1.{number + 2}",
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

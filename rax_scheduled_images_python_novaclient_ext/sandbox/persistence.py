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
"""Saving and loading the state: plain JSON, written atomically.

A state file holds every record (tokens too, so a restart keeps logins)
and the image id counter, so a restarted sandbox goes on as if it had
never stopped.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from .model import (
    STATE_VERSION,
    Image,
    Project,
    Schedule,
    Server,
    Token,
    User,
    format_time,
    parse_time,
)
from .state import State


def to_json(state: State) -> dict[str, Any]:
    """The whole state as JSON-ready data."""
    return {
        "version": STATE_VERSION,
        "clock": format_time(state.clock),
        "id_counter": state.id_counter,
        "projects": [vars(p) for p in state.projects.values()],
        "users": [vars(u) for u in state.users.values()],
        "tokens": [vars(t) for t in state.tokens.values()],
        "servers": [_server_to_json(s) for s in state.servers.values()],
        "images": [_image_to_json(i) for i in state.images.values()],
    }


def from_json(data: dict[str, Any]) -> State:
    """A state from `to_json` data; raises ValueError, KeyError, TypeError."""
    if data.get("version") != STATE_VERSION:
        raise ValueError(
            f"unsupported state file version {data.get('version')!r}"
        )
    state = State()
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


def save(state: State, path: str) -> None:
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
            json.dump(to_json(state), handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def load(path: str) -> State:
    """Read a state file; raises OSError or ValueError when unusable."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError("state file does not hold a JSON object")
    try:
        return from_json(data)
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


def check_state_file(path: str) -> None:
    """Refuse a state file path the sandbox could only damage.

    :raises ValueError: when ``path`` exists and is not a regular file
        (a directory, a fifo, a device), or its directory does not exist.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(
            f"state file {path} exists and is not a regular file: "
            "give the path of a file (it is created if missing)"
        )
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        raise ValueError(
            f"state file {path}: its directory {directory} does not exist"
        )


def free_name(wanted: str) -> str:
    """``wanted``, or ``wanted.1``, ``.2``...: the first name not in use."""
    name, number = wanted, 0
    while os.path.lexists(name):
        number += 1
        name = f"{wanted}.{number}"
    return name

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
"""Case 1: the HTTP requests each command sends, against a floor.

Every `nova` and `openstack` command of this project runs once by UUID
and once by name against the seeded sandbox; every request the sandbox
logged is matched to the command's floor or explained (see
`harness.EXPLAIN`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.cases import Case
from bench.harness import (
    DB_ID,
    DEFAULT_ALIAS,
    DEMO,
    MARK,
    RESOLVE,
    Ran,
    Sandbox,
    account,
    clean_env,
    last_line,
    log,
    one,
    run,
    sandbox_model,
)
from bench.report import ms, table

# The requests a command cannot do without: (by name?, servers of the
# project with a schedule) -> one set of acceptable categories per request.
Floor = Callable[[bool, int], list[frozenset[str]]]


@dataclass
class CommandCase:
    front: str
    label: str
    argv: Callable[[str], list[str]]
    floor: Floor
    by: str = "server"  # what the argument is: server, image or none
    why: dict[str, tuple[str, str]] = field(default_factory=dict)


def _server_floor(*api: str) -> Floor:
    def floor(by_name: bool, scheduled_here: int) -> list[frozenset[str]]:
        return ([RESOLVE] if by_name else []) + [one(c) for c in api]

    return floor


def _image_floor(by_name: bool, scheduled_here: int) -> list[frozenset[str]]:
    return ([one("image-find")] if by_name else []) + [one("image-patch")]


def _list_floor(by_name: bool, scheduled_here: int) -> list[frozenset[str]]:
    return [one("server-page")]


def _fleet_floor(by_name: bool, scheduled_here: int) -> list[frozenset[str]]:
    return [one("server-page")] + [one("image-page")] * scheduled_here


RETENTION_WHY = {
    "schedule-GET": (
        "needed",
        "the server's retention: the output says which images the next "
        "run deletes",
    )
}
SET_WHY = {
    "schedule-GET": (
        "needed",
        "the current schedule: the API has no PUT and a POST replaces the "
        "whole schedule, so `set --retention` reads the day it must keep; "
        "and a lower retention is first warned of",
    )
}
# enable, and set with a whole schedule: nothing carries over, but a
# lower retention is warned of (which images the next run deletes).
LOWERING_WHY = {
    "schedule-GET": (
        "needed",
        "the current retention: lowering it first prints which images "
        "the next run deletes (raising it, or a first schedule, reads no "
        "images)",
    )
}
SHOW_WHY = {
    "server-get": (
        "needed",
        "the server's name for the output (GET /servers/{id}, by UUID); "
        "its answer also carries OS-SI:image_schedule on a scheduled "
        "server, which then spares the schedule request",
    )
}
# disable and unset by UUID: the API answers a DELETE for a server that
# does not exist exactly as for one without a schedule (api.md), so the
# server is read first; by name, the lookup has already proved it.
DISABLE_WHY = {
    "server-get": (
        "needed",
        "the server, before the DELETE: the API answers a server that does "
        "not exist as one without a schedule, so only this read can tell "
        "that nothing was disabled",
    )
}
RELEASE_WHY = {
    "schedule-GET": (
        "needed",
        "the release plan the command prints: the server's retention",
    ),
    "image-page": (
        "needed",
        "the release plan the command prints: the server's images",
    ),
}


COMMANDS = [
    CommandCase(
        "nova",
        "scheduled-images-show <server>",
        lambda s: ["nova", "scheduled-images-show", s],
        _server_floor("schedule-GET"),
    ),
    CommandCase(
        "nova",
        "scheduled-images-enable <server> 5",
        lambda s: ["nova", "scheduled-images-enable", s, "5"],
        _server_floor("schedule-POST"),
        why=LOWERING_WHY,
    ),
    CommandCase(
        "nova",
        "scheduled-images-disable <server>",
        lambda s: ["nova", "scheduled-images-disable", s],
        _server_floor("schedule-DELETE"),
        why=DISABLE_WHY,
    ),
    CommandCase(
        "nova",
        "scheduled-images-list",
        lambda s: ["nova", "scheduled-images-list"],
        _list_floor,
        by="none",
    ),
    CommandCase(
        "nova",
        "scheduled-images-image-list <server>",
        lambda s: ["nova", "scheduled-images-image-list", s],
        _server_floor("image-page"),
        why=RETENTION_WHY,
    ),
    CommandCase(
        "nova",
        "scheduled-images-image-keep <image>",
        lambda i: ["nova", "scheduled-images-image-keep", i],
        _image_floor,
        by="keep",
    ),
    CommandCase(
        "nova",
        "scheduled-images-image-release <image>",
        lambda i: ["nova", "scheduled-images-image-release", i],
        _image_floor,
        by="release",
        why=RELEASE_WHY,
    ),
    CommandCase(
        "openstack",
        "server image schedule show <server>",
        lambda s: ["openstack", "server", "image", "schedule", "show", s],
        _server_floor("schedule-GET"),
        why=SHOW_WHY,
    ),
    CommandCase(
        "openstack",
        "server image schedule set --retention 5 <server>",
        lambda s: [
            "openstack",
            *("server", "image", "schedule", "set"),
            *("--retention", "5", s),
        ],
        _server_floor("schedule-POST"),
        why=SET_WHY,
    ),
    CommandCase(
        "openstack",
        "server image schedule set --retention 5 --daily <server>",
        lambda s: [
            "openstack",
            *("server", "image", "schedule", "set"),
            *("--retention", "5", "--daily", s),
        ],
        _server_floor("schedule-POST"),
        why=LOWERING_WHY,
    ),
    CommandCase(
        "openstack",
        "server image schedule unset <server>",
        lambda s: ["openstack", "server", "image", "schedule", "unset", s],
        _server_floor("schedule-DELETE"),
        why=DISABLE_WHY,
    ),
    CommandCase(
        "openstack",
        "server image schedule list",
        lambda s: ["openstack", "server", "image", "schedule", "list"],
        _list_floor,
        by="none",
    ),
    CommandCase(
        "openstack",
        "scheduled image list --server <server>",
        lambda s: [
            "openstack",
            *("scheduled", "image", "list", "--server", s),
        ],
        _server_floor("image-page"),
        why=RETENTION_WHY,
    ),
    CommandCase(
        "openstack",
        "scheduled image list",
        lambda s: ["openstack", "scheduled", "image", "list"],
        _fleet_floor,
        by="none",
    ),
    CommandCase(
        "openstack",
        "scheduled image keep <image>",
        lambda i: ["openstack", "scheduled", "image", "keep", i],
        _image_floor,
        by="keep",
    ),
    CommandCase(
        "openstack",
        "scheduled image release <image>",
        lambda i: ["openstack", "scheduled", "image", "release", i],
        _image_floor,
        by="release",
        why=RELEASE_WHY,
    ),
]


def _db_images(cloud: Sandbox) -> tuple[tuple[str, str], tuple[str, str]]:
    """(id, name) of an image to keep and of one to release, on "db"."""
    with cloud.lock:
        images = [
            i
            for i in cloud.state.images.values()
            if i.properties.get("instance_uuid") == DB_ID
        ]
    marked = sorted(
        (i for i in images if MARK in i.properties),
        key=lambda i: i.sort_key,
    )
    unmarked = [i for i in images if MARK not in i.properties]
    keep, release = marked[-1], unmarked[0]
    return (keep.id, keep.name), (release.id, release.name)


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    latency = 20
    rows = _seeded_cloud_rows(latency) + _alias_probe_rows(latency)
    return {"latency_ms": latency, "rows": rows}


def _seeded_cloud_rows(latency: int) -> list[dict[str, Any]]:
    """Every command, by UUID and by name, on the seeded sandbox."""
    rows: list[dict[str, Any]] = []
    with Sandbox(latency_ms=latency, fault_identity=True) as cloud:
        env = clean_env(cloud.env())
        keep, release = _db_images(cloud)
        with cloud.lock:
            scheduled_here = sum(
                1
                for sid in cloud.state.servers_of(DEMO)
                if cloud.state.servers[sid].schedule is not None
            )
        targets = {
            "server": [("UUID", DB_ID), ("name", "db")],
            "keep": [("ID", keep[0]), ("name", keep[1])],
            "release": [("ID", release[0]), ("name", release[1])],
            "none": [("-", "")],
        }
        for case in COMMANDS:
            for variant, target in targets[case.by]:
                cloud.reset()
                cloud.clear_requests()
                done = run(case.argv(target), env)
                row = _command_row(
                    cloud, case, variant, done, DEFAULT_ALIAS, scheduled_here
                )
                rows.append(row)
                log(f"{rows[-1]['command']} [{variant}]: {rows[-1]['total']}")
        # One more row: a saving a user can make without any change to
        # the code.
        cloud.reset()
        cloud.clear_requests()
        done = run(
            ["nova", "scheduled-images-show", DB_ID],
            {**env, "OS_AUTH_TYPE": "v3password"},
        )
        tip = CommandCase(
            "nova",
            "scheduled-images-show <server>, OS_AUTH_TYPE=v3password",
            lambda s: [],
            _server_floor("schedule-GET"),
        )
        rows.append(_command_row(cloud, tip, "UUID", done, DEFAULT_ALIAS))
    return rows


def _alias_probe_rows(latency: int) -> list[dict[str, Any]]:
    """The cost of the alias probe on a cloud serving the other alias,
    and with the alias pinned."""
    rows = []
    rax = sandbox_model.RAX_SI_ALIAS
    with Sandbox(alias=rax, latency_ms=latency, fault_identity=True) as cloud:
        env = clean_env(cloud.env())
        with cloud.lock:
            cloud.state.servers[DB_ID].schedule = sandbox_model.Schedule(3)
        probe = CommandCase(
            "nova",
            "scheduled-images-show <server>, on a cloud serving "
            "rax-si-image-schedule",
            lambda s: [],
            _server_floor("schedule-GET"),
        )
        for pinned in (False, True):
            cloud.clear_requests()
            extra = {"SCHEDULED_IMAGES_API_ALIAS": rax} if pinned else {}
            done = run(
                ["nova", "scheduled-images-show", DB_ID], {**env, **extra}
            )
            row = _command_row(cloud, probe, "UUID", done, rax)
            if pinned:
                row["command"] += " (alias pinned)"
            rows.append(row)
    return rows


def _command_row(
    cloud: Sandbox,
    case: CommandCase,
    variant: str,
    done: Ran,
    alias: str,
    scheduled_here: int = 0,
) -> dict[str, Any]:
    entries = cloud.requests
    floor = case.floor(variant == "name", scheduled_here)
    acc = account(entries, floor, alias, case.why)
    return {
        "front": case.front,
        "command": f"{case.front} {case.label}",
        "by": variant,
        "exit": done.code,
        "error": "" if done.code == 0 else last_line(done.stderr),
        "total": acc.total,
        "floor": acc.floor,
        "above_floor": acc.total - acc.floor,
        "process": acc.extra_by_kind().get("process", 0),
        "needed": acc.extra_by_kind().get("needed", 0),
        "avoidable": acc.extra_by_kind().get("avoidable", 0),
        "extra": [
            {"request": cat, "kind": kind, "why": why}
            for cat, kind, why in acc.extra
        ],
        "requests": [
            f"{e['method']} {e['path']}"
            + (f"?{e['query']}" if e.get("query") else "")
            + f" {e['status']}"
            for e in entries
        ],
        "wall_s": round(done.wall, 3),
    }


def render(case: dict[str, Any]) -> list[str]:
    rows = []
    reasons: dict[tuple[str, str, str], set[str]] = {}
    for row in case["rows"]:
        status = "" if row["exit"] == 0 else f" (exit {row['exit']})"
        rows.append(
            [
                f"`{row['command']}`{status}",
                row["by"],
                row["total"],
                row["floor"],
                row["process"],
                row["needed"],
                row["avoidable"],
                ms(row["wall_s"]),
            ]
        )
        for extra in row["extra"]:
            key = (extra["request"], extra["kind"], extra["why"])
            reasons.setdefault(key, set()).add(row["command"])
    order = {"process": 0, "needed": 1, "avoidable": 2}
    explained = [
        [f"`{cat}`", kind, why, len(commands)]
        for (cat, kind, why), commands in sorted(
            reasons.items(), key=lambda kv: (order[kv[0][1]], kv[0][0])
        )
    ]
    return [
        f"Counted by the sandbox's request log (Keystone included), "
        f"{case['latency_ms']} ms injected latency on every request. "
        "Floor: one resolve of the server (none for a UUID: the API call "
        "proves the server exists) plus one API call; for images, a name "
        "lookup (none for an ID) plus the PATCH. Above the floor, each "
        "request is one of: *process* (comes with every nova/openstack "
        "process, outside this project), *needed* (the API or the "
        "command's output requires it), *avoidable* (this project could "
        "save it).",
        "",
        table(
            [
                "command",
                "by",
                "requests",
                "floor",
                "process",
                "needed",
                "avoidable",
                "wall",
            ],
            rows,
        ),
        "",
        "Every request above the floor:",
        "",
        table(["request", "kind", "why", "commands"], explained),
    ]


CASE = Case(
    name="commands",
    title="HTTP requests per command",
    measure=measure,
    render=render,
)

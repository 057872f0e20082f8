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
"""Case: restoring a server, and proving its images boot.

The requests of ``openstack scheduled image restore`` as a dry run
(reads only, a small constant) and with ``--yes --wait`` (a safety
image, a rebuild, the polls of the waits), and the wall time of a
restore test of 20 servers at concurrency 8, each boot taking 2 s in
the sandbox (its action delay): 20 boots 8 at a time are 3 rounds, so
the floor is 3 x 2 s.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

import requests

from bench.cases import Case, Goal
from bench.harness import PROCESS_REQUESTS, Sandbox, classify, clean_env, run
from bench.report import ms, table, yes
from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
    format_time,
)

RESTORE = ["openstack", "scheduled", "image", "restore", MYSERVER_ID]
TEST = ["openstack", "scheduled", "image", "restore-test"]
BOOT_S = 2.0
CONCURRENCY = 8
GOAL_RATIO = 1.3


def _admin(cloud: Sandbox, path: str, body: dict[str, Any]) -> Any:
    answer = requests.post(
        f"{cloud.url}/sandbox/{path}", json=body, timeout=30
    )
    answer.raise_for_status()
    return answer.json()


def _api(cloud: Sandbox) -> list[dict[str, Any]]:
    """The request log without the login and version documents."""
    return [
        entry
        for entry in cloud.requests
        if classify(entry, cloud.alias) not in PROCESS_REQUESTS
    ]


def _kinds(entries: list[dict[str, Any]]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for entry in entries:
        path = entry["path"]
        if entry["method"] == "GET":
            kind = "read"
        elif path.endswith("/action"):
            kind = "action (createImage, rebuild)"
        else:
            kind = f"{entry['method']} {path.split('/')[-1][:7]}"
        found[kind] += 1
    return dict(found)


def _env(cloud: Sandbox) -> dict[str, str]:
    env = clean_env(cloud.env())
    env["SCHEDULED_IMAGES_NOW"] = format_time(cloud.state.clock)
    return env


def _restore(cloud: Sandbox) -> dict[str, Any]:
    _admin(cloud, "images", {"server_id": MYSERVER_ID})
    cloud.clear_requests()
    dry = run(RESTORE, _env(cloud))
    dry_entries = _api(cloud)
    cloud.clear_requests()
    done = run([*RESTORE, "--yes", "--wait"], _env(cloud))
    entries = _api(cloud)
    return {
        "dry_exit": dry.code,
        "dry_requests": len(dry_entries),
        "dry_writes": sum(1 for e in dry_entries if e["method"] != "GET"),
        "restore_exit": done.code,
        "restore_requests": len(entries),
        "restore_writes": sum(1 for e in entries if e["method"] != "GET"),
        "restore_by_kind": _kinds(entries),
        "restore_wall_s": round(done.wall, 2),
    }


def _restore_test(cloud: Sandbox, servers: int) -> dict[str, Any]:
    ids = []
    for index in range(servers):
        made = _admin(cloud, "servers", {"name": f"bench-{index:02d}"})
        server_id = str(made.get("id") or made["server"]["id"])
        _admin(cloud, "images", {"server_id": server_id})
        ids.append(server_id)
    cloud.set_action_delay(BOOT_S)
    cloud.clear_requests()
    argv = [*TEST, *ids, "--concurrency", str(CONCURRENCY)]
    started = time.perf_counter()
    done = run(argv, _env(cloud), timeout=600)
    wall = time.perf_counter() - started
    entries = _api(cloud)
    creates = [e for e in entries if e["method"] == "POST"]
    deletes = [e for e in entries if e["method"] == "DELETE"]
    rounds = -(-servers // CONCURRENCY)
    floor = rounds * BOOT_S
    first_line = done.stdout.splitlines()[0] if done.stdout else ""
    return {
        "servers": servers,
        "exit": done.code,
        "first_line": first_line.split(" | ")[0],
        "creates": len(creates),
        "deletes": len(deletes),
        "requests": len(entries),
        "rounds": rounds,
        "floor_s": floor,
        "wall_s": round(wall, 2),
        "wall_ratio": round(wall / floor, 2),
    }


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    servers = 20
    with Sandbox(action_delay=0.2) as cloud:
        result = _restore(cloud)
        result["test"] = _restore_test(cloud, servers)
    # The command's own start-up and login, which no restore test saves:
    # the same command with nothing to test (it only cleans up).
    with Sandbox(action_delay=0.2) as cloud:
        idle = run([*TEST, MYSERVER_ID], _env(cloud))
    result["test"]["startup_s"] = round(idle.wall, 2)
    test = result["test"]
    test["boot_phase_s"] = round(test["wall_s"] - idle.wall, 2)
    test["ratio"] = round(test["boot_phase_s"] / test["floor_s"], 2)
    return result


def goals(case: dict[str, Any]) -> list[Goal]:
    test = case["test"]
    return [
        (
            "restore dry run: reads only, a small constant",
            f"{case['dry_requests']} requests, {case['dry_writes']} writes",
            yes(case["dry_writes"] == 0 and case["dry_requests"] <= 4),
        ),
        (
            f"restore test of {test['servers']} servers at concurrency "
            f"{CONCURRENCY}, {BOOT_S:.0f} s boots: <= {GOAL_RATIO}x the floor "
            f"of {test['rounds']} rounds",
            f"{test['ratio']}x ({ms(test['boot_phase_s'])} vs "
            f"{ms(test['floor_s'])})",
            yes(test["ratio"] <= GOAL_RATIO),
        ),
    ]


def render(case: dict[str, Any]) -> list[str]:
    test = case["test"]
    return [
        table(
            ["run", "exit", "API requests", "writes", "wall"],
            [
                (
                    "restore (dry run)",
                    case["dry_exit"],
                    case["dry_requests"],
                    case["dry_writes"],
                    "",
                ),
                (
                    "restore --yes --wait",
                    case["restore_exit"],
                    case["restore_requests"],
                    case["restore_writes"],
                    ms(case["restore_wall_s"]),
                ),
            ],
        ),  # fmt: skip
        "",
        "Requests of the restore in place, by kind: "
        + ", ".join(f"{k}: {v}" for k, v in case["restore_by_kind"].items())
        + " (reads include the polls of the two waits).",
        "",
        f"Restore test of {test['servers']} servers, concurrency "
        f"{CONCURRENCY}, boots of {BOOT_S:.0f} s: exit {test['exit']} "
        f"({test['first_line']}); {test['creates']} servers created and "
        f"{test['deletes']} deleted in {test['requests']} API requests. "
        f"Wall {ms(test['wall_s'])}, of which the command's start-up and "
        f"login {ms(test['startup_s'])} (the same command on one server "
        "that has no image, so boots nothing); "
        f"the rest, {ms(test['boot_phase_s'])}, is {test['ratio']}x the "
        f"floor of {test['rounds']} rounds of boots "
        f"({ms(test['floor_s'])}); the whole wall is {test['wall_ratio']}x.",
    ]


CASE = Case(
    name="restore",
    title="Restoring a server, and the restore test",
    measure=measure,
    render=render,
    goals=goals,
)

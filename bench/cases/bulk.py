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
"""Case 3: one `set --retention` on many servers, at concurrency 1 and 8.

Each server needs two requests (the API has no PUT: read the schedule to
keep its day, POST the whole schedule); the floor is requests needed /
concurrency x latency, and every schedule is checked afterwards.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from bench.cases import Case, Goal
from bench.harness import (
    DEFAULT_ALIAS,
    DEMO,
    PROCESS_REQUESTS,
    Clock,
    Sandbox,
    clean_env,
    log,
    run,
)
from bench.harness import count as count_requests
from bench.report import ms, table, yes

RETENTION = 9


def _schedules(cloud: Sandbox, ids: Iterable[str]) -> dict[str, Any]:
    """(retention, day of week) of each server, None without a schedule."""
    with cloud.lock:
        schedules = {sid: cloud.state.servers[sid].schedule for sid in ids}
    return {
        sid: None if s is None else (s.retention, s.day_of_week)
        for sid, s in schedules.items()
    }


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    count = 20 if opts.quick else 100
    latency = 50
    result: dict[str, Any] = {"servers": count, "latency_ms": latency}
    with Sandbox(
        servers=count,
        scheduled=count // 2,
        latency_ms=latency,
        fault_identity=True,
        seed=3,
    ) as cloud:
        with cloud.lock:
            ids = [
                sid
                for sid in cloud.state.servers_of(DEMO)
                if cloud.state.servers[sid].name.startswith("fleet-")
            ]
        before = _schedules(cloud, ids)
        result["before"] = {
            "no_schedule": sum(1 for v in before.values() if v is None),
            "daily": sum(1 for v in before.values() if v and not v[1]),
            "weekly": sum(1 for v in before.values() if v and v[1]),
        }
        env = clean_env(cloud.env())
        clock = Clock(cloud)
        result["runs"] = [
            _one_run(cloud, env, clock, ids, before, concurrency, latency)
            for concurrency in (1, 8)
        ]
    return result


def _one_run(
    cloud: Sandbox,
    env: dict[str, str],
    clock: Clock,
    ids: list[str],
    before: dict[str, Any],
    concurrency: int,
    latency: int,
) -> dict[str, Any]:
    """`set --retention` on every server at one concurrency, checked."""
    base = ["openstack", "server", "image", "schedule", "set"]
    base += ["--retention", str(RETENTION)]
    cloud.reset()
    cloud.clear_requests()
    clock.clear()
    done = run([*base, "--concurrency", str(concurrency), *ids], env)
    phase = clock.phase(latency, PROCESS_REQUESTS)
    after = _schedules(cloud, ids)
    wrong = [
        sid
        for sid in ids
        if after[sid] != (RETENTION, before[sid][1] if before[sid] else None)
    ]
    counts = count_requests(cloud.requests, DEFAULT_ALIAS)
    api = sum(n for cat, n in counts.items() if not cat.startswith("keystone"))
    needed = 2 * len(ids)  # GET (no PUT: keep the day) + POST
    floor = needed / concurrency * latency / 1000
    log(f"bulk concurrency {concurrency}: {done.wall:.2f}s")
    return {
        "concurrency": concurrency,
        "exit": done.code,
        "api_requests": api,
        "requests_needed": needed,
        "by_category": dict(counts),
        "wall_s": round(done.wall, 2),
        "api_phase_s": round(phase, 2),
        "start_up_s": round(done.wall - phase, 2),
        "floor_s": round(floor, 3),
        "ratio_wall_to_floor": round(done.wall / floor, 2),
        "ratio_api_phase_to_floor": round(phase / floor, 2),
        "schedules_right": len(ids) - len(wrong),
        "schedules_wrong": wrong[:5],
    }


def goals(bulk: dict[str, Any]) -> list[Goal]:
    out: list[Goal] = []
    for one_run in bulk["runs"]:
        phase, whole = (
            one_run["ratio_api_phase_to_floor"],
            one_run["ratio_wall_to_floor"],
        )
        out.append(
            (
                f"concurrency {one_run['concurrency']}: within 1.5x "
                "of requests / concurrency x latency",
                f"{phase}x for the API phase; {whole}x for the whole "
                f"process ({ms(one_run['start_up_s'])} start-up and "
                "login)",
                yes(phase <= 1.5)
                + ("" if whole <= 1.5 else "; whole process: not met"),
            )
        )
        out.append(
            (
                f"concurrency {one_run['concurrency']}: every "
                "schedule right afterwards",
                f"{one_run['schedules_right']} of {bulk['servers']}",
                yes(one_run["schedules_right"] == bulk["servers"]),
            )
        )
    return out


def render(case: dict[str, Any]) -> list[str]:
    before = case["before"]
    rows = [
        [
            r["concurrency"],
            f"{r['api_requests']} ({r['requests_needed']} needed)",
            ms(r["floor_s"]),
            ms(r["api_phase_s"]),
            f"{r['ratio_api_phase_to_floor']}x",
            ms(r["wall_s"]),
            f"{r['ratio_wall_to_floor']}x",
            f"{r['schedules_right']}/{case['servers']}",
        ]
        for r in case["runs"]
    ]
    return [
        f"`openstack server image schedule set --retention 9` on "
        f"{case['servers']} servers (by UUID; before: "
        f"{before['daily']} daily, {before['weekly']} weekly, "
        f"{before['no_schedule']} without a schedule), "
        f"{case['latency_ms']} ms per request. Each server needs 2 "
        "requests: the API has no PUT, so the current schedule is read "
        "(to keep a weekly day) and the whole schedule POSTed. Floor = "
        "requests needed / concurrency x latency. 'API phase' runs from "
        "the start of the first schedule request to the answer of the "
        "last, as the sandbox saw them; 'whole' is the process's wall "
        "time, start-up and login included. Afterwards every server's "
        "schedule is checked in the "
        "sandbox's state: retention 9, weekly days kept, daily otherwise.",
        "",
        table(
            [
                "concurrency",
                "API requests",
                "floor",
                "API phase",
                "phase / floor",
                "whole",
                "whole / floor",
                "schedules right",
            ],
            rows,
        ),
    ]


CASE = Case(
    name="bulk",
    title="Bulk change",
    measure=measure,
    render=render,
    goals=goals,
)

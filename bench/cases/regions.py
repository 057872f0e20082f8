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
"""Case: every region. ``openstack server image schedule check
--all-regions`` (and ``list --long --all-regions``) over three sandbox
regions at 20 ms a request, side by side with the same command reading
one region alone (``OS_REGION_NAME``, no region option: 1.1.0's way).

Goals: the three regions read at once cost at most 1.3 times the wall
time of the slowest region read alone (so the regions are read
concurrently, not one after the other; the API phase, first request to
last answer, is given beside it: on a busy machine the three regions'
JSON parsing shares one interpreter, and the sandbox answers one
request at a time); and each region costs exactly
the requests of its own single-region read (one login for all; no
request repeated per region), counted from the sandbox's request log by
the region in its path.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from typing import Any

from bench.cases import Case, Goal
from bench.harness import Sandbox, clean_env, median, run
from bench.report import ms, table, yes

REGIONS = ("DFW", "ORD", "IAD")
CHECK = ["openstack", "server", "image", "schedule", "check"]
LIST = ["openstack", "server", "image", "schedule", "list", "--long"]
COMMANDS = (("check", CHECK), ("list --long -f json", [*LIST, "-f", "json"]))
GOAL_RATIO = 1.3
LATENCY_MS = 20


def _region(path: str) -> str:
    """The region a logged request went to; "identity" for the login."""
    parts = [part for part in path.split("/") if part]
    if not parts or parts[0] == "identity":
        return "identity"
    if parts[0] == "region" and len(parts) > 1:
        return parts[1]
    return REGIONS[0]


class _Stamps:
    """When the sandbox answered each API request (the login left out),
    so the API phase can be told from the process's start-up."""

    def __init__(self, cloud: Any) -> None:
        self.seen: list[float] = []
        original = cloud.log_request

        def log_request(method: str, path: str, *args: Any) -> None:
            if _region(path) != "identity":
                self.seen.append(time.perf_counter())
            original(method, path, *args)

        cloud.log_request = log_request

    def phase(self, latency_ms: int) -> float:
        """First request's start (its latency before the log) to the
        last answer."""
        if not self.seen:
            return 0.0
        return max(self.seen) - min(self.seen) + latency_ms / 1000


def _once(
    cloud: Any, stamps: _Stamps, env: dict[str, str], argv: list[str]
) -> Any:
    cloud.clear_requests()
    stamps.seen.clear()
    ran = run(argv, env)
    by_region = Counter(_region(e["path"]) for e in cloud.requests)
    return ran, dict(by_region), stamps.phase(LATENCY_MS)


def _summary(tries: list[Any]) -> dict[str, Any]:
    return {
        "wall_s": round(median(t[0].wall for t in tries), 3),
        "api_s": round(median(t[2] for t in tries), 3),
        "exit": tries[0][0].code,
        "requests": tries[0][1],
    }


def _measure_command(
    cloud: Any,
    stamps: _Stamps,
    base: dict[str, str],
    argv: list[str],
    repeats: int,
) -> dict[str, Any]:
    """Each region alone, then all three at once, in rounds of four
    runs (so that a busy moment of the shared machine falls on all of
    them alike), ``repeats`` rounds; the median of each is kept (the
    requests are the same every time)."""
    runs: dict[str, list[Any]] = {name: [] for name in (*REGIONS, "all")}
    for _ in range(repeats):
        for region in REGIONS:
            env = {**base, "OS_REGION_NAME": region}
            runs[region].append(_once(cloud, stamps, env, argv))
        runs["all"].append(
            _once(cloud, stamps, base, [*argv, "--all-regions"])
        )
    alone = {region: _summary(runs[region]) for region in REGIONS}
    every = _summary(runs["all"])
    slowest = max(found["wall_s"] for found in alone.values())
    slowest_api = max(found["api_s"] for found in alone.values())
    same = all(
        every["requests"].get(region) == alone[region]["requests"].get(region)
        for region in REGIONS
    )
    return {
        "alone": alone,
        "all_regions": every,
        "ratio_to_slowest": round(every["wall_s"] / slowest, 2),
        "api_ratio_to_slowest": round(every["api_s"] / slowest_api, 2),
        "sum_alone_s": round(sum(a["wall_s"] for a in alone.values()), 3),
        "requests_per_region_equal": same,
        "logins_all_regions": every["requests"].get("identity", 0),
    }


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    servers, scheduled, images = (
        (300, 100, 2000) if opts.quick else (2000, 500, 20000)
    )
    latency = LATENCY_MS
    result: dict[str, Any] = {
        "regions": list(REGIONS),
        "servers_per_region": servers,
        "scheduled_per_region": scheduled,
        "images_per_region": images,
        "latency_ms": latency,
        "repeats": 1 if opts.quick else 3,
        "commands": {},
    }
    with Sandbox(
        regions=list(REGIONS),
        servers=servers,
        scheduled=scheduled,
        images=images,
        latency_ms=latency,
        seed=16,
    ) as cloud:
        base = clean_env({**cloud.env(), **cloud.now_env()})
        stamps = _Stamps(cloud)
        for label, argv in COMMANDS:
            result["commands"][label] = _measure_command(
                cloud, stamps, base, argv, result["repeats"]
            )
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    return result


def goals(case: dict[str, Any]) -> list[Goal]:
    found: list[Goal] = []
    for label, command in case["commands"].items():
        found.append(
            (
                f"{label} --all-regions: at most {GOAL_RATIO}x the slowest "
                "region alone",
                f"{command['ratio_to_slowest']}x",
                yes(command["ratio_to_slowest"] <= GOAL_RATIO),
            )
        )
        found.append(
            (
                f"{label} --all-regions: each region's requests = its "
                "single-region read's",
                str(command["requests_per_region_equal"]),
                yes(command["requests_per_region_equal"]),
            )
        )
    return found


def render(case: dict[str, Any]) -> list[str]:
    lines = [
        f"{len(case['regions'])} regions ({', '.join(case['regions'])}), "
        f"each {case['servers_per_region']:,} servers, "
        f"{case['scheduled_per_region']:,} scheduled, "
        f"{case['images_per_region']:,} images; {case['latency_ms']} ms per "
        "request; median of "
        f"{case['repeats']} run(s). Requests by region, from the sandbox's "
        "log (identity: the login).",
        "",
    ]
    for label, command in case["commands"].items():
        rows = [
            (
                f"{region} alone",
                ms(alone["wall_s"]),
                ms(alone["api_s"]),
                alone["exit"],
                _requests(alone["requests"]),
            )
            for region, alone in command["alone"].items()
        ]
        every = command["all_regions"]
        rows.append(
            (
                "--all-regions",
                ms(every["wall_s"]),
                ms(every["api_s"]),
                every["exit"],
                _requests(every["requests"]),
            )
        )
        lines += [
            f"`openstack server image schedule {label}`:",
            "",
            table(["read", "wall", "API phase", "exit", "requests"], rows),
            "",
            f"All regions at once: {command['ratio_to_slowest']}x the "
            "wall time of the slowest region alone, "
            f"{command['api_ratio_to_slowest']}x its API phase (first "
            "request to last answer, start-up and login left out; the "
            "three alone, one after the other: "
            f"{ms(command['sum_alone_s'])}); each region's requests equal "
            f"its own read's: {command['requests_per_region_equal']}.",
            "",
        ]
    return lines[:-1]


def _requests(by_region: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(by_region.items()))


CASE = Case(
    name="regions",
    title="Every region",
    measure=measure,
    render=render,
    goals=goals,
)

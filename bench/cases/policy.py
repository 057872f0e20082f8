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
"""Case: schedules as code, `plan` at fleet scale and `apply` in bulk.

`plan` of an exported policy with a few retentions lowered, over 10,000
servers of which 2,000 have a schedule: the requests must be the server
list's pages and, for each lowered retention only, that server's image
pages (the forecast); no request per server. `apply` of 500 changes at
concurrency 8 with 50 ms per request: each change needs a schedule GET
(the re-read that skips a server changed since the plan) and a POST, so
the floor is (server pages + 2 x changes / concurrency) x latency.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
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

PLAN = ("openstack", "server", "image", "schedule", "plan")
APPLY = ("openstack", "server", "image", "schedule", "apply")
EXPORT = ("openstack", "server", "image", "schedule", "export")
APPLY_RETENTION = 15  # above the generated fleet's 1..14: every one changes


def _lowered(exported: str, count: int) -> tuple[str, int]:
    """``exported`` with the first ``count`` retentions above 1 lowered
    by one; and how many were."""
    lines, done = [], 0
    for line in exported.splitlines(keepends=True):
        marker = "retention: "
        if done < count and marker in line:
            value = int(line.split(marker)[1].rstrip("}\n"))
            if value > 1:
                line = line.replace(
                    f"{marker}{value}}}", f"{marker}{value - 1}}}"
                )
                done += 1
        lines.append(line)
    return "".join(lines), done


def _api(counts: dict[str, int]) -> int:
    return sum(n for c, n in counts.items() if c not in PROCESS_REQUESTS)


def measure_plan(
    opts: argparse.Namespace, work: pathlib.Path
) -> dict[str, Any]:
    servers, scheduled = (1000, 200) if opts.quick else (10000, 2000)
    lowered_wanted = 20
    with Sandbox(
        servers=servers, scheduled=scheduled, images=scheduled * 5, seed=8
    ) as cloud:
        env = clean_env(cloud.env())
        exported = run([*EXPORT], env)
        text, lowered = _lowered(exported.stdout, lowered_wanted)
        path = work / "fleet.yaml"
        path.write_text(text)
        cloud.clear_requests()
        done = run(
            [*PLAN, str(path), "--detailed-exitcode", "-f", "json"], env
        )
        counts = dict(count_requests(cloud.requests, DEFAULT_ALIAS))
    log(f"policy plan over {servers} servers: {done.wall:.2f}s")
    pages = counts.get("server-page", 0)
    image_pages = counts.get("image-page", 0)
    return {
        "servers": servers + 4,  # and the demo project's seeded four
        "scheduled": scheduled + 1,
        "lowered": lowered,
        "exit": done.code,
        "api_requests": _api(counts),
        "server_pages": pages,
        "image_pages": image_pages,
        "by_category": counts,
        "pages_only": _api(counts) == pages + image_pages,
        "wall_s": round(done.wall, 2),
        "cpu_s": round(done.cpu, 2),
    }


def _right(cloud: Sandbox) -> int:
    """How many fleet servers have the retention the policy wants."""
    with cloud.lock:
        found = [
            cloud.state.servers[sid]
            for sid in cloud.state.servers_of(DEMO)
            if cloud.state.servers[sid].name.startswith("fleet-")
        ]
        return sum(
            1
            for server in found
            if server.schedule is not None
            and server.schedule.retention == APPLY_RETENTION
        )


def measure_apply(
    opts: argparse.Namespace, work: pathlib.Path
) -> dict[str, Any]:
    changes = 100 if opts.quick else 500
    latency, concurrency = 50, 8
    with Sandbox(
        servers=changes, scheduled=changes // 2, latency_ms=latency, seed=9
    ) as cloud:
        path = work / "apply.yaml"
        path.write_text(
            "rules:\n"
            "  - match: {name: 'fleet-*'}\n"
            f"    schedule: {{daily: true, retention: {APPLY_RETENTION}}}\n"
            "default: unmanaged\n"
        )
        env = clean_env(cloud.env())
        clock = Clock(cloud)
        cloud.clear_requests()
        clock.clear()
        done = run(
            [*APPLY, str(path), "--yes", "--concurrency", str(concurrency)],
            env,
            timeout=600,
        )
        phase = clock.phase(latency, PROCESS_REQUESTS)
        counts = dict(count_requests(cloud.requests, DEFAULT_ALIAS))
        right = _right(cloud)
    pages = counts.get("server-page", 0)
    needed = pages + 2 * changes
    floor = (pages + 2 * changes / concurrency) * latency / 1000
    log(f"policy apply of {changes} changes: {done.wall:.2f}s")
    return {
        "changes": changes,
        "latency_ms": latency,
        "concurrency": concurrency,
        "exit": done.code,
        "api_requests": _api(counts),
        "requests_needed": needed,
        "by_category": counts,
        "floor_s": round(floor, 3),
        "api_phase_s": round(phase, 2),
        "wall_s": round(done.wall, 2),
        "ratio_api_phase_to_floor": round(phase / floor, 2),
        "ratio_wall_to_floor": round(done.wall / floor, 2),
        "schedules_right": right,
    }


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
        work = pathlib.Path(tmp)
        return {
            "plan": measure_plan(opts, work),
            "apply": measure_apply(opts, work),
        }


def goals(case: dict[str, Any]) -> list[Goal]:
    plan, apply = case["plan"], case["apply"]
    return [
        (
            f"plan over {plan['servers']} servers reads pages only",
            f"{plan['api_requests']} requests: {plan['server_pages']} "
            f"server pages, {plan['image_pages']} image pages for "
            f"{plan['lowered']} lowered retentions; {ms(plan['wall_s'])}",
            yes(plan["pages_only"] and plan["exit"] == 2),
        ),
        (
            f"apply of {apply['changes']} changes at concurrency "
            f"{apply['concurrency']}: within 1.3x of the floor",
            f"{apply['ratio_api_phase_to_floor']}x for the API phase; "
            f"{apply['ratio_wall_to_floor']}x for the whole process",
            yes(apply["ratio_api_phase_to_floor"] <= 1.3)
            + (
                ""
                if apply["ratio_wall_to_floor"] <= 1.3
                else "; whole process: not met"
            ),
        ),  # fmt: skip
        (
            "apply: every schedule right afterwards",
            f"{apply['schedules_right']} of {apply['changes']}",
            yes(apply["schedules_right"] == apply["changes"]),
        ),
    ]


def render(case: dict[str, Any]) -> list[str]:
    return [*_render_plan(case["plan"]), "", *_render_apply(case["apply"])]


def _render_plan(plan: dict[str, Any]) -> list[str]:
    return [
        f"`openstack server image schedule plan --detailed-exitcode -f "
        f"json` of an exported policy with {plan['lowered']} retentions "
        f"lowered by one, over {plan['servers']} servers "
        f"({plan['scheduled']} with a schedule): the server list's pages, "
        "and the image pages of the lowered servers only (the forecast of "
        "the images the next run deletes). No latency added.",
        "",
        table(
            [
                "API requests",
                "server pages",
                "image pages",
                "other",
                "whole",
                "CPU",
                "exit",
            ],
            [
                [
                    plan["api_requests"],
                    plan["server_pages"],
                    plan["image_pages"],
                    plan["api_requests"]
                    - plan["server_pages"]
                    - plan["image_pages"],
                    ms(plan["wall_s"]),
                    ms(plan["cpu_s"]),
                    plan["exit"],
                ]
            ],
        ),  # fmt: skip
    ]


def _render_apply(apply: dict[str, Any]) -> list[str]:
    return [
        f"`openstack server image schedule apply --yes --concurrency "
        f"{apply['concurrency']}` of {apply['changes']} changes, "
        f"{apply['latency_ms']} ms per request. Each change re-reads the "
        "server's schedule (a server changed since the plan is skipped) "
        "and POSTs the new one. Floor = (server pages + 2 x changes / "
        "concurrency) x latency.",
        "",
        table(
            [
                "API requests",
                "floor",
                "API phase",
                "phase / floor",
                "whole",
                "whole / floor",
                "schedules right",
            ],
            [
                [
                    f"{apply['api_requests']} ({apply['requests_needed']} "
                    "needed)",
                    ms(apply["floor_s"]),
                    ms(apply["api_phase_s"]),
                    f"{apply['ratio_api_phase_to_floor']}x",
                    ms(apply["wall_s"]),
                    f"{apply['ratio_wall_to_floor']}x",
                    f"{apply['schedules_right']}/{apply['changes']}",
                ]
            ],
        ),  # fmt: skip
    ]


CASE = Case(
    name="policy",
    title="Schedules as code",
    measure=measure,
    render=render,
    goals=goals,
)

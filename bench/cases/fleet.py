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
"""Case 2: the fleet view, against the naive way (one show per server).

`list_schedules()` reads the server pages once; a script asking for each
server's schedule sends one request (or one nova process) per server.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.cases import Case, Goal
from bench.harness import (
    DEFAULT_ALIAS,
    DEMO,
    PROCESS_REQUESTS,
    Clock,
    Sandbox,
    clean_env,
    count,
    median,
    run,
)
from bench.report import ms, table, yes


def _nova_api(cloud: Sandbox) -> Any:
    """A logged-in python-novaclient Client, as a Python program has it."""
    from keystoneauth1 import loading, session
    from novaclient import client

    env = cloud.env()
    auth: Any = loading.get_plugin_loader("password").load_from_options(
        auth_url=env["OS_AUTH_URL"],
        username=env["OS_USERNAME"],
        password=env["OS_PASSWORD"],
        project_name=env["OS_PROJECT_NAME"],
        user_domain_id="default",
        project_domain_id="default",
    )
    sess = session.Session(auth=auth)
    nova = client.Client("2.0", session=sess, region_name="RegionOne")
    sess.get_token()
    sess.get_endpoint(service_type="compute", interface="public")
    return nova


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    from rax_scheduled_images_python_novaclient_ext.manager import (
        ScheduleManager,
    )

    servers, scheduled, latency = 1000, 200, 20
    result: dict[str, Any] = {
        "servers_generated": servers,
        "scheduled_generated": scheduled,
        "latency_ms": latency,
    }
    with Sandbox(
        servers=servers,
        scheduled=scheduled,
        latency_ms=latency,
        fault_identity=True,
        seed=6,
    ) as cloud:
        with cloud.lock:
            ids = list(cloud.state.servers_of(DEMO))
            expected = {
                sid
                for sid in ids
                if cloud.state.servers[sid].schedule is not None
            }
        page_max = cloud.settings.server_page_max
        pages_needed = len(ids) // page_max + 1
        result.update(
            servers_in_project=len(ids),
            scheduled_in_project=len(expected),
            page_size=page_max,
            pages_needed=pages_needed,
        )
        env = clean_env(cloud.env())
        result["cli_list"] = _cli_list(cloud, env, latency)
        nova = _nova_api(cloud)
        manager = ScheduleManager(nova)
        result["api_list"] = _api_list(
            cloud, manager, expected, pages_needed * latency / 1000
        )
        result["api_naive"] = _api_naive(cloud, nova, manager, ids, opts.quick)
        result["cli_naive_estimate"] = _cli_naive(
            cloud, env, sorted(expected)[:5], len(ids)
        )
    result["ratios"] = _ratios(result)
    return result


def _cli_list(cloud: Sandbox, env: dict[str, str], latency: int) -> Any:
    """The nova command, whole: start-up, login, the listing."""
    clock = Clock(cloud)
    walls, phases = [], []
    for _ in range(3):
        cloud.clear_requests()
        clock.clear()
        done = run(["nova", "scheduled-images-list"], env)
        walls.append(done.wall)
        phases.append(clock.phase(latency, PROCESS_REQUESTS))
    rows_shown = sum(
        1 for line in done.stdout.splitlines() if line.startswith("| ")
    )
    cli_counts = count(cloud.requests, DEFAULT_ALIAS)
    return {
        "exit": done.code,
        "rows": rows_shown - 1,
        "requests": sum(cli_counts.values()),
        "by_category": dict(cli_counts),
        "wall_s_median": round(median(walls), 3),
        "listing_phase_s_median": round(median(phases), 4),
    }


def _api_list(
    cloud: Sandbox, manager: Any, expected: set[str], floor_time: float
) -> Any:
    """The same listing through the Python API, timed alone."""
    times = []
    for _ in range(5):
        cloud.clear_requests()
        start = time.perf_counter()
        listed = manager.list_schedules()
        times.append(time.perf_counter() - start)
    api_counts = count(cloud.requests, DEFAULT_ALIAS)
    api_time = median(times)
    return {
        "rows": len(listed),
        "correct": {r.server_id for r in listed} == expected,
        "requests": sum(api_counts.values()),
        "pages": api_counts["server-page"],
        "wall_s_median": round(api_time, 4),
        "floor_s": floor_time,
        "ratio_to_floor": round(api_time / floor_time, 2),
    }


def _api_naive(
    cloud: Sandbox, nova: Any, manager: Any, ids: list[str], quick: bool
) -> Any:
    """The naive way: every server's schedule on its own, one after the
    other, as a script over `nova scheduled-images-show` would."""
    from novaclient import exceptions

    sample = ids if not quick else ids[:200]
    cloud.clear_requests()
    start = time.perf_counter()
    listed_ids = [s.id for s in nova.servers.list(limit=-1)]
    found = 0
    for sid in sample:
        try:
            manager.get(sid)
        except exceptions.NotFound:
            continue
        found += 1
    naive_time = time.perf_counter() - start
    naive_counts = count(cloud.requests, DEFAULT_ALIAS)
    scale = len(ids) / len(sample)
    naive_requests = naive_counts["server-page"] + round(
        naive_counts["schedule-GET"] * scale
    )
    naive_wall = naive_time * scale if quick else naive_time
    return {
        "servers_asked": len(sample),
        "extrapolated": quick,
        "listed": len(listed_ids),
        "schedules_found": found,
        "requests": naive_requests,
        "wall_s": round(naive_wall, 2),
    }


def _cli_naive(
    cloud: Sandbox, env: dict[str, str], sample_ids: list[str], servers: int
) -> Any:
    """The naive way as a user scripts it: one nova process per server."""
    per = []
    counts = []
    for sid in sample_ids:
        cloud.clear_requests()
        done = run(["nova", "scheduled-images-show", sid], env)
        per.append(done.wall)
        counts.append(len(cloud.requests))
    per_process = median(per)
    return {
        "sampled_processes": len(sample_ids),
        "wall_s_per_process": round(per_process, 3),
        "requests_per_process": median(counts),
        "requests": round(median(counts) * servers),
        "wall_s": round(per_process * servers, 1),
    }


def _ratios(result: dict[str, Any]) -> dict[str, float]:
    api, cli = result["api_list"], result["cli_list"]
    return {
        "requests_naive_api_vs_api_list": round(
            result["api_naive"]["requests"] / api["requests"], 1
        ),
        "requests_naive_cli_vs_cli_list": round(
            result["cli_naive_estimate"]["requests"] / cli["requests"], 1
        ),
        "wall_naive_api_vs_api_list": round(
            result["api_naive"]["wall_s"] / api["wall_s_median"], 1
        ),
        "wall_naive_cli_vs_cli_list": round(
            result["cli_naive_estimate"]["wall_s"] / cli["wall_s_median"], 1
        ),
    }


def goals(fleet: dict[str, Any]) -> list[Goal]:
    ratios = fleet["ratios"]
    api = fleet["api_list"]
    worst = min(
        ratios["requests_naive_api_vs_api_list"],
        ratios["requests_naive_cli_vs_cli_list"],
    )
    return [
        (
            "≥ 50x fewer requests than one show per server",
            f"{ratios['requests_naive_api_vs_api_list']}x (Python "
            f"API), {ratios['requests_naive_cli_vs_cli_list']}x "
            "(nova processes)",
            yes(worst >= 50),
        ),
        (
            "listing within 2x of pages x latency",
            f"{ms(api['wall_s_median'])} for {api['pages']} pages x "
            f"{fleet['latency_ms']} ms = {api['ratio_to_floor']}x",
            yes(api["ratio_to_floor"] <= 2),
        ),
    ]


def render(case: dict[str, Any]) -> list[str]:
    api, ratios = case["api_list"], case["ratios"]
    return [
        f"{case['servers_in_project']} servers in the project "
        f"({case['scheduled_in_project']} with a schedule; the sandbox's "
        f"seeded servers included), {case['latency_ms']} ms per request, "
        f"pages of {case['page_size']} servers: "
        f"{case['pages_needed']} pages to read.",
        "",
        table(["way", "requests", "wall", "rows"], _ways(case)),
        "",
        f"Requests: {ratios['requests_naive_api_vs_api_list']}x fewer "
        "than the naive Python API loop, "
        f"{ratios['requests_naive_cli_vs_cli_list']}x fewer than one "
        "nova process per server. Wall: "
        f"{ratios['wall_naive_api_vs_api_list']}x and "
        f"{ratios['wall_naive_cli_vs_cli_list']}x faster. The listing "
        f"took {ms(api['wall_s_median'])} for {api['pages']} pages x "
        f"{case['latency_ms']} ms = {ms(api['floor_s'])}: "
        f"{api['ratio_to_floor']}x the floor; its rows match the "
        f"sandbox's state: {api['correct']}.",
    ]


def _ways(case: dict[str, Any]) -> list[list[Any]]:
    """(way, requests, wall, rows) of each way to list the fleet."""
    cli, api = case["cli_list"], case["api_list"]
    naive, est = case["api_naive"], case["cli_naive_estimate"]
    naive_note = (
        f"{naive['servers_asked']} servers asked, scaled to all"
        if naive["extrapolated"]
        else f"all {naive['servers_asked']} servers asked"
    )
    return [
        [
            "`nova scheduled-images-list` (whole process)",
            cli["requests"],
            ms(cli["wall_s_median"]),
            cli["rows"],
        ],
        [
            "the same, its listing phase only",
            cli["by_category"].get("server-page", 0),
            ms(cli["listing_phase_s_median"]),
            cli["rows"],
        ],
        [
            "`list_schedules()` (Python API, logged in)",
            api["requests"],
            ms(api["wall_s_median"]),
            api["rows"],
        ],
        [
            f"naive, Python API: list + one `get` per server ({naive_note})",
            naive["requests"],
            ms(naive["wall_s"]),
            naive["schedules_found"],
        ],
        [
            "naive, one `nova scheduled-images-show` per server "
            f"(estimated from {est['sampled_processes']} "
            f"processes: {est['requests_per_process']} requests, "
            f"{ms(est['wall_s_per_process'])} each)",
            est["requests"],
            ms(est["wall_s"]),
            "-",
        ],
    ]


CASE = Case(
    name="fleet",
    title="Fleet view",
    measure=measure,
    render=render,
    goals=goals,
)

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
"""Case 5: the sandbox itself, started as a user starts it.

Start-up time and memory at 10,000 servers and 100,000 images, the
latency of the requests the client tools send (the 5 ms goal), and
throughput from a few threads.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import resource
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bench.cases import Case, Goal
from bench.harness import DEFAULT_ALIAS, DEMO, Served
from bench.report import table, yes


class Http:
    """One keep-alive connection; JSON in and out."""

    def __init__(self, host: str, port: int, token: str = "") -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, Any, Any]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["X-Auth-Token"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        parsed = json.loads(payload) if payload else None
        return resp.status, parsed, resp.headers


def _token(host: str, port: int) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "demo",
                        "domain": {"id": "default"},
                        "password": "secret",
                    }
                },
            },
            "scope": {
                "project": {"name": "demo", "domain": {"id": "default"}}
            },
        }
    }
    status, _, headers = Http(host, port).call(
        "POST", "/identity/v3/auth/tokens", body
    )
    if status != 201:
        raise RuntimeError(f"no token: HTTP {status}")
    return str(headers["X-Subject-Token"])


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


Kinds = dict[str, tuple[bool, Callable[[], str]]]


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    servers = 1000 if opts.quick else 10000
    images = 10000 if opts.quick else 100000
    scheduled = servers // 5
    result: dict[str, Any] = {
        "servers": servers,
        "scheduled": scheduled,
        "images": images,
    }
    idle = Served(["--servers", "0"])
    result["memory_mb_empty"] = idle.memory_mb()
    idle.stop()
    cloud = Served(
        [
            *("--servers", str(servers), "--scheduled", str(scheduled)),
            *("--images", str(images), "--seed", "5"),
        ]
    )
    try:
        result["startup_s"] = round(cloud.startup_s, 2)
        result["memory_mb_loaded"] = cloud.memory_mb()
        token = _token(cloud.host, cloud.port)
        client = Http(cloud.host, cloud.port, token)
        kinds = _kinds(client)
        serial = 50 if opts.quick else 200
        result["latency_serial"] = _latency(client, kinds, serial)
        per_thread = 250 if opts.quick else 1500
        result.update(_throughput(cloud, token, kinds, 4, per_thread))
        result["memory_mb_after_load"] = cloud.memory_mb()
    finally:
        cloud.stop()
    return result


def _kinds(client: Http) -> Kinds:
    """The requests timed: (a goal of 5 ms?, a maker of random paths)."""
    compute = f"/compute/v2/{DEMO}"
    alias = DEFAULT_ALIAS
    ids: list[str] = []
    path: str | None = f"{compute}/servers/detail?limit=1000"
    with_schedule: list[str] = []
    while path:
        _, body, _ = client.call("GET", path)
        for server in body["servers"]:
            ids.append(server["id"])
            if "OS-SI:image_schedule" in server:
                with_schedule.append(server["id"])
        links = body.get("servers_links") or []
        path = None
        if links:
            split = urlsplit(links[0]["href"])
            path = f"{split.path}?{split.query}"
    rng = random.Random(5)

    def pick(pool: list[str]) -> str:
        return pool[rng.randrange(len(pool))]

    return {
        "GET /servers/detail?limit=100&marker=<random>": (
            True,
            lambda: f"{compute}/servers/detail?limit=100&marker={pick(ids)}",
        ),
        "GET /image/v2/images?instance_uuid=<scheduled server>": (
            True,
            lambda: f"/image/v2/images?instance_uuid={pick(with_schedule)}",
        ),
        "GET /servers/{id}": (
            True,
            lambda: f"{compute}/servers/{pick(ids)}",
        ),
        "GET /servers/{id}/os-si-image-schedule": (
            True,
            lambda: f"{compute}/servers/{pick(with_schedule)}/{alias}",
        ),
        "GET /servers/detail?limit=1000 (context)": (
            False,
            lambda: f"{compute}/servers/detail?limit=1000&marker={pick(ids)}",
        ),
        "GET /servers/detail?OS-SI:image_schedule=True (context)": (
            False,
            lambda: f"{compute}/servers/detail?OS-SI:image_schedule=True",
        ),
    }


def _latency(client: Http, kinds: Kinds, serial: int) -> dict[str, Any]:
    """Each kind of request, one at a time on one connection."""
    latencies: dict[str, Any] = {}
    for name, (goal, make) in kinds.items():
        for _ in range(10):  # warm-up
            client.call("GET", make())
        times = []
        for _ in range(serial):
            path = make()
            start = time.perf_counter()
            status, _, _ = client.call("GET", path)
            times.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"{path}: HTTP {status}")
        latencies[name] = {
            "goal_5ms": goal,
            "p50_ms": round(_percentile(times, 50) * 1000, 2),
            "p95_ms": round(_percentile(times, 95) * 1000, 2),
            "p99_ms": round(_percentile(times, 99) * 1000, 2),
            "max_ms": round(max(times) * 1000, 2),
            "requests": serial,
        }
    return latencies


def _throughput(
    cloud: Served, token: str, kinds: Kinds, threads: int, per_thread: int
) -> dict[str, Any]:
    """A fixed load from a few threads, each on its own keep-alive
    connection, the four goal requests in turn."""
    goal_kinds = [make for goal, make in kinds.values() if goal]
    errors: list[str] = []

    def worker(seed: int) -> None:
        conn = Http(cloud.host, cloud.port, token)
        for n in range(per_thread):
            status, _, _ = conn.call("GET", goal_kinds[n % 4]())
            if status != 200:
                errors.append(str(status))

    rss_before = cloud.memory_mb().get("VmRSS", 0.0)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    total = threads * per_thread
    rss_after = cloud.memory_mb().get("VmRSS", 0.0)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {
        "throughput": {
            "threads": threads,
            "requests": total,
            "errors": len(errors),
            "wall_s": round(wall, 2),
            "requests_per_s": round(total / wall),
            "client_cpu_s": round(cpu, 2),
        },
        # The sandbox logs every API request (for `requests` and the
        # request-count cases); that is what grows with the load.
        "log_bytes_per_request": round(
            (rss_after - rss_before) * 1024 * 1024 / total
        ),
    }


def goals(sandbox: dict[str, Any]) -> list[Goal]:
    worst_p99 = max(
        v["p99_ms"]
        for v in sandbox["latency_serial"].values()
        if v["goal_5ms"]
    )
    return [
        (
            f"list and show < 5 ms at {sandbox['servers']:,} servers, "
            f"{sandbox['images']:,} images",
            f"worst p99 {worst_p99} ms",
            yes(worst_p99 < 5),
        )
    ]


def render(case: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"`{name}`",
            v["p50_ms"],
            v["p95_ms"],
            v["p99_ms"],
            v["max_ms"],
            "yes" if v["goal_5ms"] else "context",
        ]
        for name, v in case["latency_serial"].items()
    ]
    tput = case["throughput"]
    mem = case["memory_mb_loaded"]
    return [
        f"`scheduled-images-sandbox --servers {case['servers']} "
        f"--scheduled {case['scheduled']} --images {case['images']}` in "
        f"its own process: ready in {case['startup_s']} s, resident "
        f"memory {mem.get('VmRSS')} MB (peak {mem.get('VmHWM')} MB; "
        f"{case['memory_mb_empty'].get('VmRSS')} MB empty). Latency "
        "measured by a client on loopback, one keep-alive connection, "
        "one request at a time (ms):",
        "",
        table(["request", "p50", "p95", "p99", "max", "5 ms goal"], rows),
        "",
        f"Throughput: {tput['threads']} client threads, each on its own "
        f"connection, {tput['requests']} requests (the four goal requests "
        f"in turn): {tput['requests_per_s']} requests/s, "
        f"{tput['errors']} errors (client CPU {tput['client_cpu_s']} s of "
        f"{tput['wall_s']} s: client and sandbox share the machine). "
        "The request log grows by about "
        f"{case['log_bytes_per_request']} bytes per request "
        "(`scheduled-images-sandbox requests --clear` empties it).",
    ]


CASE = Case(
    name="sandbox",
    title="The sandbox",
    measure=measure,
    render=render,
    goals=goals,
)

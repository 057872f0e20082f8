"""The benchmark: cost per command, fleet scale, start-up, the sandbox.

Run by ``bench/run`` inside its own virtualenv (``.tox/bench``), where
``nova``, ``openstack`` and ``scheduled-images-sandbox`` are the installed
commands; ``--bare-venv`` names a second virtualenv holding the very same
packages without this one, for the start-up comparison.

Every figure is a count or a ratio measured side by side in this one run
(absolute times are given for context only; the machine may be noisy).
Results go to ``bench/results.md`` and ``bench/results.json``. No figure
here is an assertion: a missed goal is reported, not raised.

    python bench/run.py [--quick] [--only fleet,bulk] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.metadata
import json
import os
import pathlib
import platform
import random
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rax_scheduled_images_python_novaclient_ext.sandbox import (
    Sandbox,
    subprocess_environ,
)
from rax_scheduled_images_python_novaclient_ext.sandbox import (
    state as sandbox_state,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
PKG = "rax_scheduled_images_python_novaclient_ext"
CASES = ("commands", "fleet", "bulk", "startup", "sandbox")
DEMO = sandbox_state.DEMO_PROJECT_ID
DB_ID = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"  # seeded: "db", daily, 3
DEFAULT_ALIAS = sandbox_state.OS_SI_ALIAS
MARK = sandbox_state.CREATED_BY


# Every child runs from here: `python -c` puts its working directory first
# on sys.path, and the repository's own source tree would shadow the
# installed package being measured.
NEUTRAL_CWD = tempfile.gettempdir()


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


# ----- running commands ------------------------------------------------------


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = subprocess_environ(extra)
    env["NOVACLIENT_UUID_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-")
    return env


@dataclass
class Ran:
    argv: list[str]
    code: int
    wall: float
    cpu: float
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    bin_dir: pathlib.Path = BIN,
    timeout: float = 300,
) -> Ran:
    """Run an installed command; wall and CPU (user+sys) seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=NEUTRAL_CWD,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    return Ran(
        list(argv), done.returncode, wall, cpu, done.stdout, done.stderr
    )


def last_line(text: str) -> str:
    lines = [
        line
        for line in text.strip().splitlines()
        if "nova CLI is deprecated" not in line
    ]
    return lines[-1] if lines else ""


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def ms(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


# ----- classifying the sandbox's request log --------------------------------

# What each kind of request is for, and whether it is the command's own
# doing: "process" costs come with every nova/openstack process (outside
# this project's code), "needed" ones the API or the output requires,
# "avoidable" ones this project could save.
EXPLAIN: dict[str, tuple[str, str]] = {
    "keystone-discovery": (
        "process",
        "keystoneauth reads the Keystone version document at OS_AUTH_URL "
        "before asking for a token (the generic `password` auth type "
        "discovers the version; `OS_AUTH_TYPE=v3password` skips it)",
    ),
    "keystone-token": (
        "process",
        "the Keystone token: nova and openstack keep no token between "
        "runs, so every command logs in once",
    ),
    "compute-version": (
        "process",
        "nova's version document at start-up: python-novaclient's shell "
        "runs discover_version on every command, even with "
        "OS_COMPUTE_API_VERSION=2.0 (the openstack plugin pins 2.0 and "
        "skips it)",
    ),
    "resolve-list": (
        "needed",
        "the name lookup: GET /servers?name=<name>, exact names kept "
        "(novaclient's find_resource would also GET /servers/{id})",
    ),
    "server-get": (
        "avoidable",
        "GET /servers/{id} beyond what the command needs",
    ),
    "schedule-GET": (
        "needed",
        "the server's current schedule",
    ),
    "alias-probe": (
        "needed",
        "the other API alias, tried once when the default one gets "
        "Nova's generic 404 (pin it with SCHEDULED_IMAGES_API_ALIAS)",
    ),
    "server-page": ("needed", "a page of the server list"),
    "image-page": ("needed", "a page of the server's images"),
    "image-find": ("needed", "the image looked up by name"),
    "image-get": (
        "avoidable",
        "GET /v2/images/{id} before the PATCH: the command prints the "
        "image's name and leaves an image already in the wanted state "
        "alone; a blind PATCH (409 meaning 'already so') would save it",
    ),
    "image-version": ("process", "the Image API version document"),
    "other": ("avoidable", "not expected"),
}


def classify(entry: dict[str, Any], alias: str) -> str:
    method, path = entry["method"], entry["path"]
    query = entry.get("query") or ""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "other"
    if parts[0] == "identity":
        if parts[-1] == "tokens" and method == "POST":
            return "keystone-token"
        return "keystone-discovery"
    if parts[0] == "compute":
        rest = parts[3:]  # after compute/v2/<project>
        if not rest:
            return "compute-version"
        if rest == ["servers"] and "name=" in query:
            return "resolve-list"
        if rest == ["servers", "detail"]:
            return "server-page"
        if len(rest) == 2 and rest[0] == "servers":
            return "server-get"
        if len(rest) == 3 and rest[0] == "servers":
            if rest[2] != alias:
                return "alias-probe"
            return f"schedule-{method}"
        return "other"
    if parts[0] == "image":
        rest = parts[1:]
        if rest in ([], ["versions"], ["v2"]):
            return "image-version"
        if rest == ["v2", "images"]:
            return "image-find" if "name=" in query else "image-page"
        if len(rest) == 3 and rest[:2] == ["v2", "images"]:
            return "image-patch" if method == "PATCH" else "image-get"
    return "other"


RESOLVE = frozenset({"resolve-list", "server-get"})


def one(category: str) -> frozenset[str]:
    return frozenset({category})


@dataclass
class Accounting:
    total: int
    floor: int
    extra: list[tuple[str, str, str]]  # (category, kind, why)
    by_category: dict[str, int]

    def extra_by_kind(self) -> dict[str, int]:
        return dict(Counter(kind for _, kind, _ in self.extra))


def account(
    entries: list[dict[str, Any]],
    floor: Sequence[frozenset[str]],
    alias: str,
    why: dict[str, tuple[str, str]] | None = None,
) -> Accounting:
    """Match requests to the floor's slots; explain every one left over."""
    cats = [classify(e, alias) for e in entries]
    pool = list(cats)
    matched = 0
    for slot in floor:
        for index, cat in enumerate(pool):
            if cat in slot:
                del pool[index]
                matched += 1
                break
    explain = {**EXPLAIN, **(why or {})}
    extra = [(cat, *explain.get(cat, EXPLAIN["other"])) for cat in pool]
    return Accounting(len(cats), len(floor), extra, dict(Counter(cats)))


# ----- case 1: requests per command -----------------------------------------


@dataclass
class CommandCase:
    front: str
    label: str
    argv: Callable[[str], list[str]]
    floor: Callable[[bool], list[frozenset[str]]]
    by: str = "server"  # what the argument is: server, image or none
    why: dict[str, tuple[str, str]] = field(default_factory=dict)


def _server_floor(*api: str) -> Callable[[bool], list[frozenset[str]]]:
    def floor(by_name: bool) -> list[frozenset[str]]:
        return ([RESOLVE] if by_name else []) + [one(c) for c in api]

    return floor


def _image_floor(by_name: bool) -> list[frozenset[str]]:
    return ([one("image-find")] if by_name else []) + [one("image-patch")]


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
        "whole schedule, so `set --retention` reads the day it must keep "
        "(skipped when --retention and --day-of-week/--daily are both "
        "given)",
    )
}
DAILY_WHY = {
    "schedule-GET": (
        "avoidable",
        "the current schedule, read although --retention and --daily "
        "already give the whole schedule to POST",
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


def command_cases(scheduled_here: int) -> list[CommandCase]:
    def fleet_floor(by_name: bool) -> list[frozenset[str]]:
        return [one("server-page")] + [one("image-page")] * scheduled_here

    return [
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
        ),
        CommandCase(
            "nova",
            "scheduled-images-disable <server>",
            lambda s: ["nova", "scheduled-images-disable", s],
            _server_floor("schedule-DELETE"),
        ),
        CommandCase(
            "nova",
            "scheduled-images-list",
            lambda s: ["nova", "scheduled-images-list"],
            lambda by_name: [one("server-page")],
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
            why=DAILY_WHY,
        ),
        CommandCase(
            "openstack",
            "server image schedule unset <server>",
            lambda s: ["openstack", "server", "image", "schedule", "unset", s],
            _server_floor("schedule-DELETE"),
        ),
        CommandCase(
            "openstack",
            "server image schedule list",
            lambda s: ["openstack", "server", "image", "schedule", "list"],
            lambda by_name: [one("server-page")],
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
            fleet_floor,
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


def case_commands(opts: argparse.Namespace) -> dict[str, Any]:
    latency = 20
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
        for case in command_cases(scheduled_here):
            for variant, target in targets[case.by]:
                cloud.reset()
                cloud.clear_requests()
                done = run(case.argv(target), env)
                rows.append(
                    _command_row(cloud, case, variant, done, DEFAULT_ALIAS)
                )
                log(f"{rows[-1]['command']} [{variant}]: {rows[-1]['total']}")
        # Two more rows: the cost of the alias probe, and a saving a user
        # can make without any change to the code.
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
    rax = sandbox_state.RAX_SI_ALIAS
    with Sandbox(alias=rax, latency_ms=latency, fault_identity=True) as cloud:
        env = clean_env(cloud.env())
        with cloud.lock:
            cloud.state.servers[DB_ID].schedule = sandbox_state.Schedule(3)
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
    return {"latency_ms": latency, "rows": rows}


def _command_row(
    cloud: Sandbox,
    case: CommandCase,
    variant: str,
    done: Ran,
    alias: str,
) -> dict[str, Any]:
    entries = cloud.requests
    floor = case.floor(variant == "name")
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


# ----- case 2: the fleet view ------------------------------------------------


def _nova_api(cloud: Sandbox) -> Any:
    """A logged-in python-novaclient Client, as a Python program has it."""
    from keystoneauth1 import loading, session
    from novaclient import client

    env = cloud.env()
    auth = loading.get_plugin_loader("password").load_from_options(
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


def _count(entries: list[dict[str, Any]], alias: str) -> Counter[str]:
    return Counter(classify(e, alias) for e in entries)


def case_fleet(opts: argparse.Namespace) -> dict[str, Any]:
    from novaclient import exceptions

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

        # The nova command, whole: start-up, login, the listing.
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
        cli_counts = _count(cloud.requests, DEFAULT_ALIAS)
        result["cli_list"] = {
            "exit": done.code,
            "rows": rows_shown - 1,
            "requests": sum(cli_counts.values()),
            "by_category": dict(cli_counts),
            "wall_s_median": round(median(walls), 3),
            "listing_phase_s_median": round(median(phases), 4),
        }

        # The same listing through the Python API, timed alone.
        nova = _nova_api(cloud)
        manager = ScheduleManager(nova)
        times = []
        for _ in range(5):
            cloud.clear_requests()
            start = time.perf_counter()
            listed = manager.list_schedules()
            times.append(time.perf_counter() - start)
        api_counts = _count(cloud.requests, DEFAULT_ALIAS)
        api_time = median(times)
        floor_time = pages_needed * latency / 1000
        result["api_list"] = {
            "rows": len(listed),
            "correct": {r.server_id for r in listed} == expected,
            "requests": sum(api_counts.values()),
            "pages": api_counts["server-page"],
            "wall_s_median": round(api_time, 4),
            "floor_s": floor_time,
            "ratio_to_floor": round(api_time / floor_time, 2),
        }

        # The naive way: every server's schedule on its own, one after
        # the other, as a script over `nova scheduled-images-show` would.
        sample = ids if not opts.quick else ids[:200]
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
        naive_counts = _count(cloud.requests, DEFAULT_ALIAS)
        scale = len(ids) / len(sample)
        naive_requests = naive_counts["server-page"] + round(
            naive_counts["schedule-GET"] * scale
        )
        naive_wall = naive_time * scale if opts.quick else naive_time
        result["api_naive"] = {
            "servers_asked": len(sample),
            "extrapolated": opts.quick,
            "listed": len(listed_ids),
            "schedules_found": found,
            "requests": naive_requests,
            "wall_s": round(naive_wall, 2),
        }

        # The naive way as a user scripts it: one nova process per server.
        sample_ids = sorted(expected)[:5]
        per = []
        counts = []
        for sid in sample_ids:
            cloud.clear_requests()
            done = run(["nova", "scheduled-images-show", sid], env)
            per.append(done.wall)
            counts.append(len(cloud.requests))
        per_process = median(per)
        result["cli_naive_estimate"] = {
            "sampled_processes": len(sample_ids),
            "wall_s_per_process": round(per_process, 3),
            "requests_per_process": median(counts),
            "requests": round(median(counts) * len(ids)),
            "wall_s": round(per_process * len(ids), 1),
        }
    api, cli = result["api_list"], result["cli_list"]
    result["ratios"] = {
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
    return result


# ----- case 3: bulk change ---------------------------------------------------


class Clock:
    """When each API request was answered, as the sandbox saw it.

    Wraps the sandbox's `log_request` (called once a request has been
    handled, injected latency included, just before the answer is
    written), so the API phase of a command can be told apart from its
    process start-up and login.
    """

    def __init__(self, cloud: Sandbox) -> None:
        self.seen: list[tuple[float, str]] = []
        original = cloud.log_request

        def log_request(
            method: str, path: str, query: str, status: int, body: Any = None
        ) -> None:
            entry = {"method": method, "path": path, "query": query}
            self.seen.append((time.perf_counter(), classify(entry, alias)))
            original(method, path, query, status, body)

        alias = cloud.alias
        cloud.log_request = log_request  # type: ignore[method-assign]

    def clear(self) -> None:
        self.seen.clear()

    def phase(self, latency_ms: int, skip: Iterable[str]) -> float:
        """Seconds from the start of the first request not in `skip` to
        the answer of the last one (a request starts `latency` before
        the sandbox logs it, at the least)."""
        skipped = set(skip)
        times = [t for t, cat in self.seen if cat not in skipped]
        return max(times) - min(times) + latency_ms / 1000


PROCESS_REQUESTS = ("keystone-discovery", "keystone-token", "compute-version")


def _schedules(cloud: Sandbox, ids: Iterable[str]) -> dict[str, Any]:
    with cloud.lock:
        return {
            sid: (
                None
                if cloud.state.servers[sid].schedule is None
                else (
                    cloud.state.servers[sid].schedule.retention,
                    cloud.state.servers[sid].schedule.day_of_week,
                )
            )
            for sid in ids
        }


def case_bulk(opts: argparse.Namespace) -> dict[str, Any]:
    count = 20 if opts.quick else 100
    latency = 50
    retention = 9
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
        base = ["openstack", "server", "image", "schedule", "set"]
        base += ["--retention", str(retention)]
        clock = Clock(cloud)
        runs = []
        for concurrency in (1, 8):
            cloud.reset()
            cloud.clear_requests()
            clock.clear()
            done = run([*base, "--concurrency", str(concurrency), *ids], env)
            phase = clock.phase(latency, PROCESS_REQUESTS)
            after = _schedules(cloud, ids)
            wrong = [
                sid
                for sid in ids
                if after[sid]
                != (retention, before[sid][1] if before[sid] else None)
            ]
            counts = _count(cloud.requests, DEFAULT_ALIAS)
            api = sum(
                n
                for cat, n in counts.items()
                if not cat.startswith("keystone")
            )
            needed = 2 * count  # GET (no PUT: keep the day) + POST
            floor = needed / concurrency * latency / 1000
            runs.append(
                {
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
            )
            log(f"bulk concurrency {concurrency}: {done.wall:.2f}s")
        result["runs"] = runs
    return result


# ----- case 4: start-up ------------------------------------------------------


def parse_importtime(text: str) -> list[tuple[int, int, int, str]]:
    """(self_us, cumulative_us, depth, module) per `-X importtime` line."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            depth = (len(match.group(3)) - 1) // 2
            rows.append(
                (
                    int(match.group(1)),
                    int(match.group(2)),
                    depth,
                    match.group(4),
                )
            )
    return rows


def ours(name: str) -> bool:
    return name == PKG or name.startswith(PKG + ".")


def attribute(
    rows: list[tuple[int, int, int, str]],
) -> tuple[float, dict[str, float], dict[str, float]]:
    """What importing this package costs inside a process.

    Returns the cumulative microseconds of this package's outermost
    modules (those not imported by another of its modules), the self
    time of each of its modules, and the cumulative time of each other
    module its modules imported directly (these are what made it slow).
    """
    parents: list[int | None] = []
    for index, (_, _, depth, _) in enumerate(rows):
        parent = None
        for later in range(index + 1, len(rows)):
            if rows[later][2] < depth:
                parent = later
                break
        parents.append(parent)

    def inside_ours(index: int) -> bool:
        parent = parents[index]
        while parent is not None:
            if ours(rows[parent][3]):
                return True
            parent = parents[parent]
        return False

    total = 0.0
    own: dict[str, float] = {}
    pulled: dict[str, float] = {}
    for index, (self_us, cum_us, _, name) in enumerate(rows):
        parent = parents[index]
        if ours(name):
            own[name] = own.get(name, 0) + self_us
            if not inside_ours(index):
                total += cum_us
        elif parent is not None and ours(rows[parent][3]):
            pulled[name] = pulled.get(name, 0) + cum_us
    return total, own, pulled


def importtime(python: pathlib.Path, code: str, reps: int) -> dict[str, Any]:
    totals, owns = [], []
    own_by: dict[str, list[float]] = {}
    pulled_by: dict[str, list[float]] = {}
    for _ in range(reps):
        done = subprocess.run(
            [str(python), "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=NEUTRAL_CWD,
        )
        total, own, pulled = attribute(parse_importtime(done.stderr))
        totals.append(total)
        owns.append(sum(own.values()))
        for name, value in own.items():
            own_by.setdefault(name, []).append(value)
        for name, value in pulled.items():
            pulled_by.setdefault(name, []).append(value)
    pulled_ms = {
        name: round(median(values) / 1000, 2)
        for name, values in pulled_by.items()
    }
    return {
        "cumulative_ms": round(median(totals) / 1000, 2),
        "own_self_ms": round(median(owns) / 1000, 2),
        "own_modules_ms": {
            name: round(median(values) / 1000, 2)
            for name, values in sorted(own_by.items())
        },
        "pulled_in_ms": dict(
            sorted(pulled_ms.items(), key=lambda kv: -kv[1])[:10]
        ),
    }


def timed_pair(
    argv: list[str],
    bins: dict[str, pathlib.Path],
    reps: int,
    measure: Callable[[Ran], float] = lambda done: done.wall,
    label: str = "",
) -> dict[str, Any]:
    """Interleaved runs of the same command in each environment.

    `measure` picks the figure (the process's wall time by default);
    the CPU time is always the process's own.
    """
    walls: dict[str, list[float]] = {name: [] for name in bins}
    cpus: dict[str, list[float]] = {name: [] for name in bins}
    env = clean_env({})
    for path in bins.values():  # warm the page cache, not counted
        run(argv, env, path)
    for rep in range(reps):
        order = list(bins.items())
        if rep % 2:
            order.reverse()
        for name, path in order:
            done = run(argv, env, path)
            if done.code != 0:
                raise RuntimeError(f"{argv} failed in {path}: {done.stderr}")
            walls[name].append(measure(done))
            cpus[name].append(done.cpu)
    out: dict[str, Any] = {
        "command": label or shlex.join(argv),
        "reps": reps,
    }
    for name in bins:
        out[name] = {
            "wall_s_median": round(median(walls[name]), 4),
            "wall_s_min": round(min(walls[name]), 4),
            "cpu_s_median": round(median(cpus[name]), 4),
        }
    base, with_ = out["without"], out["with"]
    out["added_wall_pct"] = round(
        100 * (with_["wall_s_median"] / base["wall_s_median"] - 1), 1
    )
    out["added_wall_min_pct"] = round(
        100 * (with_["wall_s_min"] / base["wall_s_min"] - 1), 1
    )
    out["added_cpu_pct"] = round(
        100 * (with_["cpu_s_median"] / base["cpu_s_median"] - 1), 1
    )
    # Each repetition ran both back to back: the median of the pairs'
    # ratios is the least sensitive to load that drifts during the run.
    pairs = list(zip(walls["with"], walls["without"], strict=True))
    out["added_wall_paired_pct"] = round(
        100 * (median(w / b for w, b in pairs) - 1), 1
    )
    out["added_ms_paired"] = round(1000 * median(w - b for w, b in pairs), 2)
    return out


# `nova help` inside one process, the interpreter's start and nova's own
# imports left out: what remains differs by this package's work alone.
NOVA_HELP_IN_PROCESS = (
    "import contextlib, io, sys, time\n"
    "from novaclient import shell\n"
    "start = time.perf_counter()\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    with contextlib.redirect_stderr(io.StringIO()):\n"
    "        try:\n"
    "            shell.main(['help'])\n"
    "        except SystemExit:\n"
    "            pass\n"
    "print(time.perf_counter() - start)\n"
)


def printed_seconds(done: Ran) -> float:
    return float(done.stdout.strip().splitlines()[-1])


# Entry points are loaded with importlib.import_module, which -X importtime
# does not time (only the imports made by the loaded module are shown):
# route it through __import__ so that the loaded module's line is there.
TIMED_IMPORT_MODULE = (
    "import importlib, importlib.metadata, sys\n"
    "def _timed(name, package=None):\n"
    "    if package or name.startswith('.'):\n"
    "        return _plain(name, package)\n"
    "    __import__(name)\n"
    "    return sys.modules[name]\n"
    "_plain = importlib.import_module\n"
    "importlib.import_module = importlib.metadata.import_module = _timed\n"
)
NOVA_HELP = (
    TIMED_IMPORT_MODULE + "from novaclient.shell import main\n"
    "sys.argv = ['nova', 'help']\n"
    "main()\n"
)
OSC_VERSION = (
    TIMED_IMPORT_MODULE + "from openstackclient.shell import main\n"
    "main(['--version'])\n"
)


def case_startup(opts: argparse.Namespace) -> dict[str, Any]:
    reps = 7 if opts.quick else 21
    result: dict[str, Any] = {}
    python = pathlib.Path(sys.executable)
    result["import_cold"] = importtime(
        python, f"import {PKG}.novaclient_ext", 3 if opts.quick else 7
    )
    result["import_in_nova_help"] = importtime(
        python, NOVA_HELP, 3 if opts.quick else 7
    )
    result["import_in_openstack"] = importtime(
        python, OSC_VERSION, 3 if opts.quick else 7
    )
    if not opts.bare_venv:
        result["skipped"] = "no --bare-venv: no with/without comparison"
        return result
    bins = {"with": BIN, "without": pathlib.Path(opts.bare_venv) / "bin"}
    result["nova_help"] = timed_pair(["nova", "help"], bins, reps)
    log(f"nova help: {result['nova_help']['added_wall_pct']}%")
    result["nova_help_in_process"] = timed_pair(
        ["python", "-c", NOVA_HELP_IN_PROCESS],
        bins,
        reps,
        measure=printed_seconds,
        label="nova help, in process (novaclient.shell.main(['help']))",
    )
    result["openstack_version"] = timed_pair(
        ["openstack", "--version"], bins, reps
    )
    added = result["openstack_version"]["added_wall_pct"]
    log(f"openstack --version: {added}%")
    return result


# ----- case 5: the sandbox itself --------------------------------------------


class Served:
    """The sandbox as a user starts it: the console script, its own
    process (so its memory is its own)."""

    def __init__(self, args: list[str]) -> None:
        start = time.perf_counter()
        self.process = subprocess.Popen(
            [str(BIN / "scheduled-images-sandbox"), "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=NEUTRAL_CWD,
        )
        self.url = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("export SCHEDULED_IMAGES_SANDBOX_URL="):
                self.url = line.strip().split("=", 1)[1]
            if line.strip() == "# ready":
                break
        if not self.url:
            raise RuntimeError("the sandbox did not start")
        self.startup_s = time.perf_counter() - start
        split = urlsplit(self.url)
        self.host, self.port = split.hostname or "", split.port or 0

    def memory_mb(self) -> dict[str, float]:
        status = pathlib.Path(f"/proc/{self.process.pid}/status").read_text()
        found = {}
        for key in ("VmRSS", "VmHWM"):
            match = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
            if match:
                found[key] = round(int(match.group(1)) / 1024, 1)
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


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


def case_sandbox(opts: argparse.Namespace) -> dict[str, Any]:
    servers = 1000 if opts.quick else 10000
    images = 10000 if opts.quick else 100000
    scheduled = servers // 5
    serial = 50 if opts.quick else 200
    threads, per_thread = 4, (250 if opts.quick else 1500)
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

        kinds: dict[str, tuple[bool, Callable[[], str]]] = {
            "GET /servers/detail?limit=100&marker=<random>": (
                True,
                lambda: (
                    f"{compute}/servers/detail?limit=100&marker={pick(ids)}"
                ),
            ),
            "GET /image/v2/images?instance_uuid=<scheduled server>": (
                True,
                lambda: (
                    f"/image/v2/images?instance_uuid={pick(with_schedule)}"
                ),
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
                lambda: (
                    f"{compute}/servers/detail?limit=1000&marker={pick(ids)}"
                ),
            ),
            "GET /servers/detail?OS-SI:image_schedule=True (context)": (
                False,
                lambda: f"{compute}/servers/detail?OS-SI:image_schedule=True",
            ),
        }
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
        result["latency_serial"] = latencies

        # Throughput: a fixed load from a few threads, each on its own
        # keep-alive connection, the four goal requests in turn.
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
        pool = [
            threading.Thread(target=worker, args=(n,)) for n in range(threads)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        total = threads * per_thread
        result["throughput"] = {
            "threads": threads,
            "requests": total,
            "errors": len(errors),
            "wall_s": round(wall, 2),
            "requests_per_s": round(total / wall),
            "client_cpu_s": round(
                after.ru_utime
                - before.ru_utime
                + after.ru_stime
                - before.ru_stime,
                2,
            ),
        }
        rss_after = cloud.memory_mb().get("VmRSS", 0.0)
        # The sandbox logs every API request (for `requests` and the
        # request-count cases); that is what grows with the load.
        result["log_bytes_per_request"] = round(
            (rss_after - rss_before) * 1024 * 1024 / total
        )
        result["memory_mb_after_load"] = cloud.memory_mb()
    finally:
        cloud.stop()
    return result


# ----- the machine, and the report -------------------------------------------


def machine(opts: argparse.Namespace) -> dict[str, Any]:
    model = ""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    versions = {}
    for dist in (
        PKG,
        "python-novaclient",
        "python-openstackclient",
        "osc-lib",
        "cliff",
        "keystoneauth1",
        "requests",
    ):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    bare_python = None
    if opts.bare_venv:
        bare = pathlib.Path(opts.bare_venv) / "bin" / "python"
        bare_python = subprocess.run(
            [
                str(bare),
                "-c",
                "import platform; print(platform.python_version())",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_bare_venv": bare_python,
        "packages": versions,
        "commit": commit,
        "load_average_at_start": list(os.getloadavg()),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
    }


def write_reports(results: dict[str, Any], out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(render(results))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def yes(met: bool) -> str:
    return "**met**" if met else "**not met**"


def goals(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(case, goal, measured, verdict) for every goal the issue sets."""
    out = []
    fleet = results.get("fleet")
    if fleet:
        ratios = fleet["ratios"]
        api = fleet["api_list"]
        worst = min(
            ratios["requests_naive_api_vs_api_list"],
            ratios["requests_naive_cli_vs_cli_list"],
        )
        out.append(
            (
                "2 fleet",
                "≥ 50x fewer requests than one show per server",
                f"{ratios['requests_naive_api_vs_api_list']}x (Python "
                f"API), {ratios['requests_naive_cli_vs_cli_list']}x "
                "(nova processes)",
                yes(worst >= 50),
            )
        )
        out.append(
            (
                "2 fleet",
                "listing within 2x of pages x latency",
                f"{ms(api['wall_s_median'])} for {api['pages']} pages x "
                f"{fleet['latency_ms']} ms = {api['ratio_to_floor']}x",
                yes(api["ratio_to_floor"] <= 2),
            )
        )
    bulk = results.get("bulk")
    if bulk:
        for one_run in bulk["runs"]:
            phase, whole = (
                one_run["ratio_api_phase_to_floor"],
                one_run["ratio_wall_to_floor"],
            )
            out.append(
                (
                    "3 bulk",
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
                    "3 bulk",
                    f"concurrency {one_run['concurrency']}: every "
                    "schedule right afterwards",
                    f"{one_run['schedules_right']} of {bulk['servers']}",
                    yes(one_run["schedules_right"] == bulk["servers"]),
                )
            )
    startup = results.get("startup")
    if startup:
        marginal = startup["import_in_nova_help"]["cumulative_ms"]
        if "nova_help" in startup:
            nova = startup["nova_help"]
            base = nova["without"]["wall_s_median"] * 1000
            out.append(
                (
                    "4 start-up",
                    "< 3% added to `nova help`",
                    f"{nova['added_wall_paired_pct']}% paired "
                    f"({nova['added_ms_paired']} ms), "
                    f"{nova['added_wall_pct']}% between medians, "
                    f"{nova['added_cpu_pct']}% CPU; imports alone "
                    f"{marginal} ms = {100 * marginal / base:.1f}%",
                    yes(nova["added_wall_paired_pct"] < 3),
                )
            )
        out.append(
            (
                "4 start-up",
                "< 10 ms own import time",
                f"{marginal} ms inside nova, "
                f"{startup['import_cold']['own_self_ms']} ms own modules "
                "cold",
                yes(marginal < 10),
            )
        )
    sandbox = results.get("sandbox")
    if sandbox:
        worst_p99 = max(
            v["p99_ms"]
            for v in sandbox["latency_serial"].values()
            if v["goal_5ms"]
        )
        out.append(
            (
                "5 sandbox",
                f"list and show < 5 ms at {sandbox['servers']:,} servers, "
                f"{sandbox['images']:,} images",
                f"worst p99 {worst_p99} ms",
                yes(worst_p99 < 5),
            )
        )
    return out


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    parts = [
        "# Benchmark results",
        "",
        "Written by `bench/run` (`bench/run.py`); every ratio was measured "
        "side by side in this one run. Absolute times are for context: "
        "they depend on the machine.",
        "",
        table(
            ["machine", ""],
            [
                ["CPU", m["cpu_model"]],
                ["cores", f"{m['cores']} ({m['cores_usable']} usable)"],
                ["OS", m["platform"]],
                ["Python (bench venv)", m["python"]],
                ["Python (bare venv)", m["python_bare_venv"] or "-"],
                *(
                    [name, version or "not installed"]
                    for name, version in m["packages"].items()
                ),
                ["commit", m["commit"]],
                [
                    "load average (1, 5, 15 min) at start / end",
                    " / ".join(
                        ", ".join(f"{x:.2f}" for x in m.get(key, []))
                        for key in (
                            "load_average_at_start",
                            "load_average_at_end",
                        )
                    ),
                ],
                ["date (UTC)", m["date"]],
                [
                    "mode",
                    ("--quick" if results["quick"] else "full")
                    + f", whole run {results['run_wall_s']} s",
                ],
            ],
        ),
        "",
        "## Goals",
        "",
        table(["case", "goal", "measured", "verdict"], goals(results)),
    ]
    if "commands" in results:
        parts += render_commands(results["commands"])
    if "fleet" in results:
        parts += render_fleet(results["fleet"])
    if "bulk" in results:
        parts += render_bulk(results["bulk"])
    if "startup" in results:
        parts += render_startup(results["startup"])
    if "sandbox" in results:
        parts += render_sandbox(results["sandbox"])
    return "\n".join(parts) + "\n"


def render_commands(case: dict[str, Any]) -> list[str]:
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
        "",
        "## 1. HTTP requests per command",
        "",
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


def render_fleet(case: dict[str, Any]) -> list[str]:
    cli, api = case["cli_list"], case["api_list"]
    naive, est = case["api_naive"], case["cli_naive_estimate"]
    ratios = case["ratios"]
    naive_note = (
        f"{naive['servers_asked']} servers asked, scaled to all"
        if naive["extrapolated"]
        else f"all {naive['servers_asked']} servers asked"
    )
    return [
        "",
        "## 2. Fleet view",
        "",
        f"{case['servers_in_project']} servers in the project "
        f"({case['scheduled_in_project']} with a schedule; the sandbox's "
        f"seeded servers included), {case['latency_ms']} ms per request, "
        f"pages of {case['page_size']} servers: "
        f"{case['pages_needed']} pages to read.",
        "",
        table(
            ["way", "requests", "wall", "rows"],
            [
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
                    "naive, Python API: list + one `get` per server "
                    f"({naive_note})",
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
            ],
        ),
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


def render_bulk(case: dict[str, Any]) -> list[str]:
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
        "",
        "## 3. Bulk change",
        "",
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


def render_startup(case: dict[str, Any]) -> list[str]:
    parts = ["", "## 4. Start-up", ""]
    pairs = [
        case[k]
        for k in ("nova_help", "nova_help_in_process", "openstack_version")
        if k in case
    ]
    if pairs:
        parts += [
            f"Interleaved runs, {pairs[0]['reps']} of each, in two "
            "virtualenvs holding the same packages at the same versions, "
            "one without this package. 'paired': the median of each "
            "repetition's with/without ratio (and difference), the figure "
            "least moved by load that drifts during the run. The in-process "
            "row times `novaclient.shell.main(['help'])` alone: the "
            "interpreter's start and nova's own imports are left out, so "
            "what differs is this package's work (its imports, and the "
            "parsers of its commands).",
            "",
            table(
                [
                    "command",
                    "with (median)",
                    "without (median)",
                    "added (medians)",
                    "added (paired)",
                    "added (mins)",
                    "added CPU (process)",
                ],
                [
                    [
                        f"`{p['command']}`",
                        ms(p["with"]["wall_s_median"]),
                        ms(p["without"]["wall_s_median"]),
                        f"{p['added_wall_pct']}%",
                        f"{p['added_wall_paired_pct']}% "
                        f"({p['added_ms_paired']} ms)",
                        f"{p['added_wall_min_pct']}%",
                        f"{p['added_cpu_pct']}%",
                    ]
                    for p in pairs
                ],
            ),
            "",
        ]
    labels = {
        "import_cold": f"`python -c 'import {PKG}.novaclient_ext'` (cold)",
        "import_in_nova_help": "inside `nova help`",
        "import_in_openstack": "inside `openstack --version` (osc plugin)",
    }
    rows = []
    for key, label in labels.items():
        found = case[key]
        pulled = ", ".join(
            f"{name} {value}" for name, value in found["pulled_in_ms"].items()
        )
        rows.append(
            [
                label,
                f"{found['cumulative_ms']} ms",
                f"{found['own_self_ms']} ms",
                pulled or "nothing new",
            ]
        )
    own = case["import_in_nova_help"]["own_modules_ms"]
    parts += [
        "Import time (`-X importtime`, median of runs): 'ours' is the "
        "cumulative time of this package's outermost modules, 'own "
        "code' the self time of its modules; the last column, what its "
        "modules import that was not loaded yet (ms).",
        "",
        table(["where", "ours", "own code", "pulled in (ms)"], rows),
        "",
        "Own code inside `nova help`, by module (ms): "
        + ", ".join(
            f"{name.removeprefix(PKG + '.')} {value}"
            for name, value in sorted(own.items(), key=lambda kv: -kv[1])
        )
        + ".",
    ]
    return parts


def render_sandbox(case: dict[str, Any]) -> list[str]:
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
        "",
        "## 5. The sandbox",
        "",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--only", default=",".join(CASES), help=f"of {', '.join(CASES)}"
    )
    parser.add_argument("--bare-venv", help="the venv without this package")
    parser.add_argument(
        "--out", default=str(ROOT / "bench"), help="where results go"
    )
    opts = parser.parse_args(argv)
    if opts.bare_venv:
        opts.bare_venv = str(pathlib.Path(opts.bare_venv).resolve())
    wanted = [c.strip() for c in opts.only.split(",") if c.strip()]
    unknown = set(wanted) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    runners = {
        "commands": case_commands,
        "fleet": case_fleet,
        "bulk": case_bulk,
        "startup": case_startup,
        "sandbox": case_sandbox,
    }
    results: dict[str, Any] = {
        "machine": machine(opts),
        "quick": opts.quick,
    }
    started = time.perf_counter()
    for name in CASES:
        if name not in wanted:
            continue
        log(f"case {name} ...")
        case_start = time.perf_counter()
        results[name] = runners[name](opts)
        results[name]["case_wall_s"] = round(
            time.perf_counter() - case_start, 1
        )
    results["run_wall_s"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    write_reports(results, pathlib.Path(opts.out))
    log(f"done in {results['run_wall_s']} s; results in {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

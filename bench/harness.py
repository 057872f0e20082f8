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
"""What every case uses: running commands, reading the sandbox's request
log, timing a command's API phase, and the machine the run is on.

A count is a count of requests the sandbox logged; a time is a median of
repeated runs on this one machine (see ``bench/__init__.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import pathlib
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rax_scheduled_images_python_novaclient_ext.sandbox import (
    Sandbox,
    subprocess_environ,
)
from rax_scheduled_images_python_novaclient_ext.sandbox import (
    model as sandbox_model,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.launch import launch
from rax_scheduled_images_python_novaclient_ext.sandbox.seed import (
    DEMO_PROJECT_ID,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
PKG = "rax_scheduled_images_python_novaclient_ext"
DEMO = DEMO_PROJECT_ID
DB_ID = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"  # seeded: "db", daily, 3
DEFAULT_ALIAS = sandbox_model.OS_SI_ALIAS
MARK = sandbox_model.CREATED_BY


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


def count(entries: list[dict[str, Any]], alias: str) -> Counter[str]:
    return Counter(classify(e, alias) for e in entries)


# ----- timing a command's API phase ------------------------------------------


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


# ----- the sandbox as a user starts it ---------------------------------------


class Served:
    """The sandbox as a user starts it: the console script, its own
    process (so its memory is its own)."""

    def __init__(self, args: list[str]) -> None:
        start = time.perf_counter()
        self.launched = launch(
            *args,
            command=[str(BIN / "scheduled-images-sandbox")],
            cwd=NEUTRAL_CWD,
        )
        self.startup_s = time.perf_counter() - start
        self.process = self.launched.process
        split = urlsplit(self.launched.url)
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
        self.launched.stop()


# ----- the machine -----------------------------------------------------------


def machine(opts: argparse.Namespace) -> dict[str, Any]:
    model = ""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    versions: dict[str, str | None] = {}
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

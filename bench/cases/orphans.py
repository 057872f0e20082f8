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
"""Case 6: the images of deleted servers on a big fleet.

10,000 servers, 100,000 images, some servers deleted (their images stay,
as the real service leaves them). Counts what ``orphan_list`` (the
engine of ``nova scheduled-images-orphan-list`` and ``openstack
scheduled image list --orphaned``) asks: image pages and server pages,
not one request per image; and a ``GET /servers/{id}`` for each server
the list does not show (a second one after a 404), run concurrently.
Times are for context: the same scan with one check at a time and with
the default eight.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

import requests

from bench.cases import Case, Goal
from bench.cases.fleet import _nova_api
from bench.harness import DEMO, MARK, Sandbox
from bench.report import ms, table, yes
from rax_scheduled_images_python_novaclient_ext.sandbox import (
    model as sandbox_model,
)


def _classify(entry: dict[str, Any]) -> str:
    parts = [p for p in entry["path"].split("/") if p]
    if not parts or parts[0] == "identity":
        return "keystone"
    if parts[0] == "image":
        return "image-page" if parts[1:] == ["v2", "images"] else "image-other"
    rest = parts[3:]  # after compute/v2/<project>
    if not rest:
        return "compute-version"
    if rest == ["servers"]:
        return "server-page"
    if len(rest) == 2 and rest[0] == "servers":
        return "server-check"
    return "other"


def _truth(cloud: Sandbox, deleted: set[str]) -> tuple[int, int]:
    """(images, bytes) of the deleted servers' marked images."""
    with cloud.lock:
        found = [
            image
            for image in cloud.state.images.values()
            if image.owner == DEMO
            and image.properties.get(MARK) == sandbox_model.SERVICE_MARK
            and image.properties.get("instance_uuid") in deleted
        ]
    return len(found), sum(image.size for image in found)


def _scan_once(
    cloud: Sandbox,
    nova: Any,
    doomed: list[str],
    concurrency: int,
    expected_images: int,
    expected_bytes: int,
) -> dict[str, Any]:
    """One orphan scan at ``concurrency``: its requests, by kind, and
    whether it found exactly the images of the deleted servers."""
    from rax_scheduled_images_python_novaclient_ext import (
        deleted_servers,
        images,
        orphans,
    )

    manager = images.ImageManager(nova)
    cloud.clear_requests()
    start = time.perf_counter()
    scan = deleted_servers.scan(nova, manager, concurrency=concurrency)
    wall = time.perf_counter() - start
    counts = Counter(_classify(e) for e in cloud.requests)
    rows = orphans.orphan_rows(scan.groups, scan.existence)
    # The checks alone, timed apart from the (sequential) pages.
    start = time.perf_counter()
    deleted_servers.check_servers(
        nova, doomed, manager.retry_policy, concurrency
    )
    checks_wall = time.perf_counter() - start
    return {
        "requests": sum(v for k, v in counts.items() if k != "keystone"),
        "by_category": dict(counts),
        "checks_counted": scan.checks,
        "images_read": len(scan.images),
        "servers_listed": scan.listed_servers,
        "correct": len(rows) == expected_images
        and sum(r.size_bytes or 0 for r in rows) == expected_bytes,
        "wall_s": round(wall, 3),
        "checks_wall_s": round(checks_wall, 3),
    }


def measure(opts: argparse.Namespace) -> dict[str, Any]:
    """Run the case; a dict of counts (and times, for context)."""
    quick = getattr(opts, "quick", False)
    servers, scheduled, made = (
        (2_000, 400, 20_000) if quick else (10_000, 2_000, 100_000)
    )
    delete_count, latency = (20, 20) if quick else (100, 20)
    result: dict[str, Any] = {
        "servers_generated": servers,
        "scheduled_generated": scheduled,
        "images_generated": made,
        "latency_ms": latency,
    }
    with Sandbox(
        servers=servers,
        scheduled=scheduled,
        images=made,
        seed=12,
        latency_ms=latency,
    ) as cloud:
        with cloud.lock:
            with_images = sorted(cloud.state.instance_images)
            fleet = set(cloud.state.servers_of(DEMO))
        doomed = [sid for sid in with_images if sid in fleet][:delete_count]
        for sid in doomed:
            answer = requests.delete(
                f"{cloud.url}/sandbox/servers/{sid}", timeout=30
            )
            answer.raise_for_status()
        expected_images, expected_bytes = _truth(cloud, set(doomed))
        result.update(
            servers_deleted=len(doomed),
            orphaned_marked_images=expected_images,
        )
        nova = _nova_api(cloud)
        for concurrency in (1, 8):
            result[f"concurrency_{concurrency}"] = _scan_once(
                cloud,
                nova,
                doomed,
                concurrency,
                expected_images,
                expected_bytes,
            )
    one, eight = result["concurrency_1"], result["concurrency_8"]
    result["per_image_naive_requests"] = one["images_read"]
    result["images_per_request"] = round(
        one["images_read"] / max(1, one["requests"]), 1
    )
    result["check_speedup_8_vs_1"] = round(
        one["checks_wall_s"] / max(eight["checks_wall_s"], 1e-9), 1
    )
    result["correct"] = one["correct"] and eight["correct"]
    return result


def goals(case: dict[str, Any]) -> list[Goal]:
    eight = case["concurrency_8"]
    pages = eight["by_category"].get("image-page", 0)
    return [
        (
            "orphan list: requests per page, not per image",
            f"{eight['requests']} requests for {eight['images_read']:,} "
            f"images ({pages} image pages)",
            yes(eight["requests"] * 100 < eight["images_read"]),
        ),
        (
            "existence checks concurrent (8 vs 1)",
            f"{case['check_speedup_8_vs_1']}x faster, "
            f"{eight['checks_counted']} checks counted",
            yes(case["check_speedup_8_vs_1"] >= 3),
        ),
        ("list and total correct", str(case["correct"]), yes(case["correct"])),
    ]


def render(case: dict[str, Any]) -> list[str]:
    one, eight = case["concurrency_1"], case["concurrency_8"]
    return [
        f"{case['servers_generated']:,} servers, "
        f"{case['images_generated']:,} images, "
        f"{case['servers_deleted']} servers deleted "
        f"({case['orphaned_marked_images']:,} marked images left behind), "
        f"{case['latency_ms']} ms per request; the Python API "
        "(`deleted_servers.scan`) with the checks one at a time and eight "
        "at a time.",
        "",
        table(
            [
                "concurrency",
                "requests",
                "image pages",
                "server pages",
                "server checks (counted)",
                "whole scan",
                "the checks alone",
            ],
            [
                (
                    n,
                    c["requests"],
                    c["by_category"].get("image-page", 0),
                    c["by_category"].get("server-page", 0),
                    f"{c['by_category'].get('server-check', 0)} "
                    f"({c['checks_counted']})",
                    ms(c["wall_s"]),
                    ms(c["checks_wall_s"]),
                )
                for n, c in ((1, one), (8, eight))
            ],
        ),
        "",
        f"{one['images_read']:,} marked images read in "
        f"{one['by_category'].get('image-page', 0)} pages: "
        f"{case['images_per_request']} images per request (one request "
        f"per image would be {case['per_image_naive_requests']:,}). Each "
        "deleted server costs two checks (a 404 is read twice). List and "
        f"total match the sandbox's state: {case['correct']}.",
        *(
            [
                "",
                f"Measured on its own at {case['run_separately_utc']}, on "
                "the same machine, after the run above.",
            ]
            if case.get("run_separately_utc")
            else []
        ),
    ]


CASE = Case(
    name="orphans",
    title="Images of deleted servers",
    measure=measure,
    render=render,
    goals=goals,
)

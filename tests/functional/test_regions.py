"""Every region, with the installed ``openstack`` against a sandbox of
three regions (DFW, ORD, IAD), one of which can be made to fail.

The sandbox seeds each region apart: DFW has the usual seed; ORD and
IAD each a scheduled ``<r>-web``, an unscheduled ``<r>-db`` and the
images of a deleted ``<r>-old``.
"""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    format_time,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.regionset import (
    region_servers,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import clean_env, run_command

pytestmark = pytest.mark.functional

REGIONS = ["DFW", "ORD", "IAD"]


def admin(cloud, method, path, body=None):
    answer = requests.request(
        method, f"{cloud.url}/sandbox/{path}", json=body, timeout=10
    )
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def web(region):
    return region_servers(region)[0][0]


def old(region):
    return region_servers(region)[2][0]


@pytest.fixture
def cloud():
    """Three regions; IAD's web server has missed its last three runs
    (so the check has a line to print there)."""
    with Sandbox(regions=REGIONS) as sandbox:
        admin(
            sandbox,
            "POST",
            "outcome",
            {"server_id": web("IAD"), "outcome": "skip"},
        )
        admin(sandbox, "POST", "tick", {"days": 3})
        yield sandbox


@pytest.fixture
def run(cloud, cache_dir):
    def run(*argv):
        env = clean_env(**cloud.env(), NOVACLIENT_UUID_CACHE_DIR=cache_dir)
        env["SCHEDULED_IMAGES_NOW"] = format_time(cloud.state.clock)
        # A failing region answers 503: once is enough here.
        env["SCHEDULED_IMAGES_RETRIES"] = "0"
        return run_command(["openstack", *argv], env)

    return run


def fail(cloud, region, status=503):
    admin(cloud, "PUT", f"regions/{region}/fail", {"status": status})


def logins(cloud):
    return [r for r in cloud.requests if r["path"].endswith("/auth/tokens")]


def test_check_with_a_failing_region_is_unknown_and_prints_the_others(
    run, cloud
):
    fail(cloud, "ORD")
    result = run("server", "image", "schedule", "check", "--all-regions")
    assert result.code == 3, result
    first, *rest = result.out.splitlines()
    assert first.startswith(
        "SCHEDULED IMAGES UNKNOWN - region ORD could not be read: "
    )
    assert "HTTP 503" in first
    assert [line.split(":")[0] for line in rest] == ["missed"]
    assert f"iad-web ({web('IAD')}) in region IAD:" in rest[0]
    assert len(logins(cloud)) == 1


def test_check_every_region_read_is_critical_for_the_missed_one(run, cloud):
    result = run("server", "image", "schedule", "check", "--all-regions")
    assert result.code == 2, result
    assert result.out.startswith("SCHEDULED IMAGES CRITICAL - 3 scheduled")
    # Each region's own compute and image endpoints were read.
    paths = {r["path"].split("/v2")[0] for r in cloud.requests}
    assert {"/compute", "/image", "/region/ORD/compute"} <= paths
    assert {"/region/ORD/image", "/region/IAD/compute"} <= paths


def test_list_with_a_failing_region_prints_the_others_and_exits_1(run, cloud):
    fail(cloud, "IAD")
    result = run(
        "server", "image", "schedule", "list", "--all-regions", "-f", "json"
    )
    assert result.code == 1, result
    rows = json.loads(result.out)
    assert [(row["region"], row["Name"]) for row in rows] == [
        ("DFW", "db"),
        ("ORD", "ord-web"),
    ]
    (line,) = result.error_lines
    assert line.startswith("Region IAD could not be read: ")


def test_list_long_yaml_has_a_region_key(run, cloud):
    result = run(
        "server", "image", "schedule", "list", "--long",
        "--region", "IAD", "--region", "ORD", "-f", "yaml",
    )  # fmt: skip
    assert result.code == 0, result
    rows = yaml.safe_load(result.out)
    assert [(r["region"], r["server_name"], r["state"]) for r in rows] == [
        ("IAD", "iad-web", "missed"),
        ("ORD", "ord-web", "ok"),
    ]


def test_image_list_of_one_region_has_no_region_column(run, cloud):
    result = run("scheduled", "image", "list", "--region", "ORD", "-f", "json")
    assert result.code == 0, result
    rows = json.loads(result.out)
    assert rows and all("region" not in row for row in rows)
    assert {row["Server"] for row in rows} == {web("ORD")}


def test_an_unknown_region_names_the_catalogs(run, cloud):
    result = run("server", "image", "schedule", "list", "--region", "LON")
    assert result.code == 1
    assert result.error_lines == [
        "No region LON in the catalog; its regions with a compute "
        "endpoint: DFW, ORD, IAD."
    ]


def images_of(cloud, region, server_id):
    with cloud.lock:
        state = cloud.regions[region]
        return sorted(
            (image.created_at, image.id)
            for image in state.images.values()
            if image.properties.get("instance_uuid") == server_id
        )


def every_image(cloud):
    with cloud.lock:
        return {
            (region, image_id)
            for region, state in cloud.regions.items()
            for image_id in state.images
        }


def test_purge_across_regions_deletes_only_per_region_proven_orphans(
    run, cloud
):
    before = every_image(cloud)
    doomed = {
        ("ORD", images_of(cloud, "ORD", old("ORD"))[0][1]),
        ("IAD", images_of(cloud, "IAD", old("IAD"))[0][1]),
    }
    dry = run("scheduled", "image", "purge", "--all-regions")
    assert dry.code == 0, dry
    assert every_image(cloud) == before
    cloud.clear_requests()
    result = run("scheduled", "image", "purge", "--all-regions", "--yes")
    assert result.code == 0, result
    assert every_image(cloud) == before - doomed
    # Each old server was found gone by its own region's compute, and
    # its image deleted through its own region's Image API.
    for region in ("ORD", "IAD"):
        gets = [
            r["path"]
            for r in cloud.requests
            if r["method"] == "GET" and r["path"].endswith(old(region))
        ]
        assert gets and all(
            p.startswith(f"/region/{region}/compute/") for p in gets
        )
    deletes = sorted(
        r["path"] for r in cloud.requests if r["method"] == "DELETE"
    )
    assert deletes == sorted(
        f"/region/{region}/image/v2/images/{image_id}"
        for region, image_id in doomed
    )
    assert "DFW: No images of deleted servers to delete." in result.out


def test_purge_with_a_failing_region_deletes_nothing_there(run, cloud):
    fail(cloud, "ORD")
    before = every_image(cloud)
    result = run("scheduled", "image", "purge", "--all-regions", "--yes")
    assert result.code == 1, result
    gone = before - every_image(cloud)
    assert {region for region, _ in gone} == {"IAD"}
    assert "Region ORD could not be read: " in result.err
    assert result.error_lines[-1] == (
        "1 of 3 regions could not be read; nothing was deleted there."
    )

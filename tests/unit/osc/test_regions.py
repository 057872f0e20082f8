"""``--all-regions`` and ``--region``: the ``openstack`` commands in
process against a mocked catalog of two regions (RegionOne, the
session's default, and ORD), each with its own compute and image hosts.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from keystoneauth1 import fixture as ks_fixture

from rax_scheduled_images_python_novaclient_ext import schedule as domain

from ..conftest import AUTH_URL, COMPUTE, IMAGE, TOKEN, server
from ..orphan_cloud import GONE, LIVE, NOT_FOUND, orphan

ORD_COMPUTE = "http://ord-compute.test/v2/p1"
ORD_IMAGE = "http://ord-image.test"
WEB = "11111111-0000-4000-8000-000000000001"
ORD_WEB = "22222222-0000-4000-8000-000000000002"
SCHEDULED = "/servers/detail?OS-SI:image_schedule=True"
UNAVAILABLE = {"status_code": 503, "json": {"serviceUnavailable": {}}}


@pytest.fixture(autouse=True)
def _no_retries(monkeypatch):
    # A failing region answers 503, which is retried: not here.
    monkeypatch.setenv("SCHEDULED_IMAGES_RETRIES", "0")


@pytest.fixture
def regions(openstack, mock):
    """The catalog of two regions (registered after the one-region
    catalog of the ``openstack`` fixture, so it wins)."""
    token = ks_fixture.V3Token(project_id="p1", project_name="demo")
    compute = token.add_service("compute")
    compute.add_endpoint("public", COMPUTE, region="RegionOne")
    compute.add_endpoint("public", ORD_COMPUTE, region="ORD")
    image = token.add_service("image")
    image.add_endpoint("public", IMAGE, region="RegionOne")
    image.add_endpoint("public", ORD_IMAGE, region="ORD")
    mock.post(
        AUTH_URL + "/auth/tokens",
        json=token,
        headers={"X-Subject-Token": TOKEN},
        status_code=201,
    )
    return openstack


def listed(id_: str, name: str, retention: int | None = None) -> Any:
    found = server(id_, name)
    if retention is not None:
        found["OS-SI:image_schedule"] = {"retention": retention}
    return found


def schedules(mock, ord_answer: dict[str, Any] | None = None) -> None:
    mock.get(
        f"{COMPUTE}{SCHEDULED}", json={"servers": [listed(WEB, "web", 7)]}
    )
    mock.get(
        f"{ORD_COMPUTE}{SCHEDULED}",
        **(ord_answer or {"json": {"servers": [listed(ORD_WEB, "ord", 2)]}}),
    )


def hosts(mock) -> list[tuple[str, str]]:
    """(method, host) of every request to a compute or image host."""
    return [
        (r.method, r.netloc)
        for r in mock.request_history
        if r.netloc != "identity.test" and r.path != "/v2/p1"
    ]


def test_list_all_regions_adds_a_region_key_to_every_row(regions, mock):
    schedules(mock)
    result = regions(
        "server", "image", "schedule", "list", "--all-regions", "-f", "json"
    )
    assert result.code == 0, result.err
    assert json.loads(result.out) == [
        {"region": "RegionOne", "ID": WEB, "Name": "web", "Type": "Daily",
         "Day": None, "Retention": 7},
        {"region": "ORD", "ID": ORD_WEB, "Name": "ord", "Type": "Daily",
         "Day": None, "Retention": 2},
    ]  # fmt: skip
    # One login; each region's list from its own compute host, once.
    logins = [r for r in mock.request_history if r.path == "/v3/auth/tokens"]
    assert len(logins) == 1
    assert sorted(hosts(mock)) == [
        ("GET", "compute.test"),
        ("GET", "ord-compute.test"),
    ]


def test_list_of_one_region_named_has_no_region_column(regions, mock):
    schedules(mock)
    result = regions("server", "image", "schedule", "list", "--region", "ORD")
    assert result.code == 0, result.err
    assert "Region" not in result.out and "| ord " in result.out
    assert hosts(mock) == [("GET", "ord-compute.test")]


def test_a_table_gets_a_region_title(regions, mock):
    schedules(mock)
    result = regions(
        "server", "image", "schedule", "list",
        "--region", "ORD", "--region", "RegionOne",
    )  # fmt: skip
    assert result.code == 0, result.err
    header = result.out.splitlines()[1]
    assert header.split("|")[1].strip() == "Region"
    # As named: ORD first.
    assert result.out.index("| ORD ") < result.out.index("| RegionOne ")


def test_an_unknown_region_is_one_line_naming_the_catalogs(regions, mock):
    schedules(mock)
    result = regions("server", "image", "schedule", "list", "--region", "LON")
    assert result.code == 1
    assert result.error_lines == [
        "No region LON in the catalog; its regions with a compute "
        "endpoint: RegionOne, ORD."
    ]
    assert hosts(mock) == []


def test_both_region_options_are_refused(regions, mock):
    result = regions(
        "server", "image", "schedule", "list",
        "--all-regions", "--region", "ORD",
    )  # fmt: skip
    assert result.code == 2
    assert "not allowed with argument" in result.err


def test_a_failed_region_is_a_line_and_exit_1_the_others_print(regions, mock):
    schedules(mock, UNAVAILABLE)
    result = regions(
        "server", "image", "schedule", "list", "--all-regions", "-f", "value"
    )
    assert result.code == 1
    assert result.out.split() == [
        "RegionOne", WEB, "web", "Daily", "7"
    ]  # fmt: skip
    (line,) = result.error_lines
    assert line.startswith("Region ORD could not be read: ")
    assert "HTTP 503" in line


def test_without_region_options_only_the_sessions_region_is_read(
    regions, mock
):
    schedules(mock)
    result = regions("server", "image", "schedule", "list", "-f", "json")
    assert result.code == 0
    assert [row["ID"] for row in json.loads(result.out)] == [WEB]
    assert hosts(mock) == [("GET", "compute.test")]


def _images(mock) -> None:
    def one(server_id: str, image_id: str) -> dict[str, Any]:
        return {
            "id": image_id,
            "name": f"Daily-{image_id}",
            "status": "active",
            "created_at": "2026-11-02T03:00:00Z",
            "instance_uuid": server_id,
            domain.CREATED_BY_KEY: domain.CREATED_BY_VALUE,
        }

    mock.get(f"{IMAGE}/v2/images", json={"images": [one(WEB, "i-one")]})
    mock.get(
        f"{ORD_IMAGE}/v2/images", json={"images": [one(ORD_WEB, "i-ord")]}
    )


def test_image_list_all_regions_reads_each_regions_images(regions, mock):
    schedules(mock)
    _images(mock)
    result = regions(
        "scheduled", "image", "list", "--all-regions", "-f", "json"
    )
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["region"], r["Server"], r["ID"]) for r in rows] == [
        ("RegionOne", WEB, "i-one"),
        ("ORD", ORD_WEB, "i-ord"),
    ]


def test_image_list_with_server_and_regions_is_refused(regions, mock):
    result = regions(
        "scheduled", "image", "list", "--server", "web", "--all-regions"
    )
    assert result.code == 1
    assert result.error_lines[0].startswith("--server lists one server")
    assert hosts(mock) == []


def _orphans(mock) -> None:
    """RegionOne: an image of LIVE (listed there). ORD: an image of
    ORD_WEB, a live ORD server RegionOne knows nothing of, and two of
    GONE, which ORD's compute answers 404 for."""
    mock.get(f"{IMAGE}/v2/images", json={"images": [orphan("i-1", 1, LIVE)]})
    mock.get(f"{COMPUTE}/servers", json={"servers": [{"id": LIVE}]})
    mock.get(f"{COMPUTE}/servers/{ORD_WEB}", **NOT_FOUND)
    mock.get(f"{COMPUTE}/servers/{GONE}", **NOT_FOUND)
    mock.get(
        f"{ORD_IMAGE}/v2/images",
        json={
            "images": [
                orphan("o-1", 1, ORD_WEB),
                orphan("o-2", 2, GONE),
                orphan("o-3", 3, GONE),
            ]
        },
    )
    mock.get(f"{ORD_COMPUTE}/servers", json={"servers": []})
    mock.get(f"{ORD_COMPUTE}/servers/{ORD_WEB}", json={"server": {}})
    mock.get(f"{ORD_COMPUTE}/servers/{GONE}", **NOT_FOUND)
    for host in (IMAGE, ORD_IMAGE):
        for image_id in ("i-1", "o-1", "o-2", "o-3"):
            mock.delete(f"{host}/v2/images/{image_id}", status_code=204)


def test_purge_across_regions_deletes_only_what_each_region_proves(
    regions, mock
):
    _orphans(mock)
    result = regions(
        "scheduled", "image", "purge", "--all-regions", "--yes",
        "--keep", "0",
    )  # fmt: skip
    assert result.code == 0, result.err
    deleted = sorted(
        (r.netloc, r.path) for r in mock.request_history
        if r.method == "DELETE"
    )  # fmt: skip
    # GONE's images, in ORD, deleted by ORD's Image API; ORD_WEB's image
    # stays: ORD's compute knows the server (RegionOne's answers 404).
    assert deleted == [
        ("ord-image.test", "/v2/images/o-2"),
        ("ord-image.test", "/v2/images/o-3"),
    ]
    # Each server judged by its own region's compute service only.
    asked = {
        (r.netloc, r.path) for r in mock.request_history
        if r.method == "GET" and "/servers/" in r.path
    }  # fmt: skip
    assert asked == {
        ("ord-compute.test", f"/v2/p1/servers/{ORD_WEB}"),
        ("ord-compute.test", f"/v2/p1/servers/{GONE}"),
    }
    assert "RegionOne: No images of deleted servers to delete." in result.out
    assert "ORD: Deleted image o-2 (Daily-gone-2)." in result.out
    assert "o-1" not in result.out


def test_purge_with_a_failed_region_deletes_nothing_there_and_fails(
    regions, mock
):
    _orphans(mock)
    mock.get(f"{ORD_IMAGE}/v2/images", **UNAVAILABLE)
    result = regions("scheduled", "image", "purge", "--all-regions", "--yes")
    assert result.code == 1
    assert [r for r in mock.request_history if r.method == "DELETE"] == []
    assert any(
        line.startswith("Region ORD could not be read: ")
        for line in result.error_lines
    )
    assert result.error_lines[-1] == (
        "1 of 2 regions could not be read; nothing was deleted there."
    )


def test_orphan_list_across_regions(regions, mock):
    _orphans(mock)
    result = regions(
        "scheduled", "image", "list", "--orphaned", "--all-regions",
        "-f", "json",
    )  # fmt: skip
    # ORD's second server gave no clear answer: the list is incomplete.
    assert result.code == 1, result.err
    rows = json.loads(result.out)
    assert [(r["region"], r["id"]) for r in rows] == [
        ("ORD", "o-2"),
        ("ORD", "o-3"),
    ]
    assert "Total: 2 images" in result.err
    assert result.error_lines[-1] == (
        "1 server skipped (could not tell whether it exists): its images "
        "are not in this list."
    )


def test_check_all_regions_unknown_names_the_failed_region(regions, mock):
    schedules(mock, UNAVAILABLE)
    mock.get(
        f"{COMPUTE}/servers/detail", json={"servers": [listed(WEB, "web", 7)]}
    )
    mock.get(f"{ORD_COMPUTE}/servers/detail", **UNAVAILABLE)
    mock.get(f"{IMAGE}/v2/images", json={"images": []})
    result = regions("server", "image", "schedule", "check", "--all-regions")
    assert result.code == 3, result.out
    first, *rest = result.out.splitlines()
    assert first.startswith("SCHEDULED IMAGES UNKNOWN - region ORD could ")
    # RegionOne's server, with no image, still has its line.
    assert rest and all("in region RegionOne" in line for line in rest)
    assert any(WEB in line for line in rest)


def test_check_server_with_several_regions_is_unknown(regions, mock):
    result = regions(
        "server", "image", "schedule", "check", "--all-regions",
        "--server", "web",
    )  # fmt: skip
    assert result.code == 3
    assert result.out.startswith(
        "SCHEDULED IMAGES UNKNOWN - --server names servers of one region"
    )


def test_a_region_past_the_timeout_is_a_failed_region(regions, mock):
    released = threading.Event()

    def slow(request, context):
        released.wait(10)
        return {"servers": []}

    schedules(mock, {"json": slow})
    try:
        result = regions(
            "server", "image", "schedule", "list", "--all-regions",
            "--region-timeout", "0.5", "-f", "value",
        )  # fmt: skip
    finally:
        released.set()
    assert result.code == 1
    assert result.out.split() == ["RegionOne", WEB, "web", "Daily", "7"]
    assert result.error_lines == [
        "Region ORD could not be read: no answer within 0.5 s"
    ]


def test_check_of_one_region_named_takes_server(regions, mock):
    mock.get(
        f"{ORD_COMPUTE}/servers/{ORD_WEB}",
        json={"server": listed(ORD_WEB, "ord", 2)},
    )
    mock.get(f"{ORD_IMAGE}/v2/images", json={"images": []})
    result = regions(
        "server", "image", "schedule", "check", "--region", "ORD",
        "--server", ORD_WEB,
    )  # fmt: skip
    assert result.out.startswith("SCHEDULED IMAGES WARNING - 1 scheduled")
    assert result.code == 1
    assert {h for _, h in hosts(mock)} == {
        "ord-compute.test",
        "ord-image.test",
    }


def test_a_region_without_the_service_on_either_alias_is_named(regions, mock):
    # ORD's Nova ignores the filters and serves no schedule route at all.
    schedules(mock, {"json": {"servers": [server(ORD_WEB, "ord")]}})
    mock.get(
        f"{ORD_COMPUTE}/servers/detail?RAX-SI:image_schedule=True",
        json={"servers": [server(ORD_WEB, "ord")]},
    )
    for alias in ("os-si-image-schedule", "rax-si-image-schedule"):
        mock.get(
            f"{ORD_COMPUTE}/servers/{ORD_WEB}/{alias}",
            status_code=404,
            json={"itemNotFound": {"code": 404, "message": "Not found"}},
        )
    result = regions(
        "server", "image", "schedule", "list", "--all-regions", "-f", "value"
    )
    assert result.code == 1
    assert result.out.split() == ["RegionOne", WEB, "web", "Daily", "7"]
    assert result.error_lines == [
        "Region ORD could not be read: no Scheduled Images service under "
        "either alias (HTTP 404)"
    ]

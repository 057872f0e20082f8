"""Several regions (`--regions DFW,ORD,IAD`): each its own servers,
schedules and images and its own endpoints; one login everywhere; one
region can be made to fail; the daily job runs in each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox
from rax_scheduled_images_python_novaclient_ext.sandbox.cli import (
    build_parser,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.regionset import (
    region_servers,
)

from .conftest import DB, DEMO_PROJECT, Client, v3_body

REGIONS = ["DFW", "ORD", "IAD"]


@pytest.fixture
def three() -> Iterator[Sandbox]:
    with Sandbox(regions=REGIONS) as sandbox:
        yield sandbox


def endpoints(cloud: Sandbox, kind: str, v3: bool = True) -> dict[str, str]:
    """Region -> public URL of service `kind` in a fresh login's catalog."""
    if v3:
        answer = requests.post(
            cloud.auth_url("v3") + "/auth/tokens", json=v3_body("demo")
        )
        catalog = answer.json()["token"]["catalog"]
        return {
            e["region"]: e["url"]
            for s in catalog
            if s["type"] == kind
            for e in s["endpoints"]
            if e["interface"] == "public"
        }
    answer = requests.post(
        cloud.auth_url("v2.0") + "/tokens",
        json={
            "auth": {
                "passwordCredentials": {
                    "username": "demo",
                    "password": "secret",
                }
            }
        },
    )
    catalog = answer.json()["access"]["serviceCatalog"]
    return {
        e["region"]: e["publicURL"]
        for s in catalog
        if s["type"] == kind
        for e in s["endpoints"]
    }


def names(client: Client, compute: str) -> list[str]:
    answer = client.get(f"{compute}/servers")
    assert answer.status_code == 200, answer.text
    return sorted(s["name"] for s in answer.json()["servers"])


@pytest.mark.parametrize("v3", [True, False])
def test_every_region_has_its_compute_and_image_endpoints(three, v3):
    for kind in ("compute", "image"):
        found = endpoints(three, kind, v3)
        assert list(found) == REGIONS
        assert found["ORD"].startswith(f"{three.url}/region/ORD/{kind}")


def test_each_region_serves_its_own_servers_with_one_token(three):
    demo = Client(three, "demo")
    urls = endpoints(three, "compute")
    assert names(demo, urls["DFW"]) == ["db", "myserver", "web", "web"]
    assert names(demo, urls["ORD"]) == ["ord-db", "ord-web"]
    assert names(demo, urls["IAD"]) == ["iad-db", "iad-web"]
    # A server of one region is unknown to another's compute service.
    assert demo.get(f"{urls['ORD']}/servers/{DB}").status_code == 404
    (web_id, _), _, _ = region_servers("ORD")
    assert demo.get(f"{urls['ORD']}/servers/{web_id}").status_code == 200
    assert demo.get(f"{urls['IAD']}/servers/{web_id}").status_code == 404


def test_each_region_has_its_own_images(three):
    demo = Client(three, "demo")
    ord_images = endpoints(three, "image")["ORD"]
    found = demo.get(f"{ord_images}/v2/images").json()["images"]
    assert sorted(i["name"][:13] for i in found) == [
        "Daily-ord-old",
        "Daily-ord-old",
        "Daily-ord-web",
        "Daily-ord-web",
    ]
    # The deleted server's images stay; the server does not.
    (_, _), (_, _), (old_id, _) = region_servers("ORD")
    compute = endpoints(three, "compute")["ORD"]
    assert demo.get(f"{compute}/servers/{old_id}").status_code == 404


def test_a_next_page_link_stays_in_its_region(three):
    demo = Client(three, "demo")
    compute = endpoints(three, "compute")["IAD"]
    answer = demo.get(f"{compute}/servers?limit=1").json()
    (link,) = answer["servers_links"]
    assert link["href"].startswith(f"{three.url}/region/IAD/compute/")
    rest = demo.get(link["href"]).json()["servers"]
    first = answer["servers"][0]["name"]
    assert {first, *[s["name"] for s in rest]} == {"iad-db", "iad-web"}


def fail(cloud: Sandbox, region: str, status: int) -> requests.Response:
    return requests.put(
        f"{cloud.url}/sandbox/regions/{region}/fail", json={"status": status}
    )


def test_a_failing_region_answers_its_status_and_the_others_do_not(three):
    demo = Client(three, "demo")
    urls = endpoints(three, "compute")
    images = endpoints(three, "image")
    assert fail(three, "ORD", 503).status_code == 204
    assert demo.get(f"{urls['ORD']}/servers").status_code == 503
    assert demo.get(f"{images['ORD']}/v2/images").status_code == 503
    assert demo.get(f"{urls['IAD']}/servers").status_code == 200
    assert demo.get(f"{urls['DFW']}/servers").status_code == 200
    assert fail(three, "ORD", 0).status_code == 204
    assert demo.get(f"{urls['ORD']}/servers").status_code == 200
    log = [(e["path"], e["status"]) for e in three.requests]
    assert (f"/region/ORD/compute/v2/{DEMO_PROJECT}/servers", 503) in log


def test_failing_an_unknown_region_or_with_a_bad_status_is_refused(three):
    assert fail(three, "LON", 503).status_code == 404
    assert fail(three, "ORD", 200).status_code == 400


def test_the_daily_job_runs_in_every_region(three):
    demo = Client(three, "demo")
    images = endpoints(three, "image")
    before = {
        region: len(demo.get(f"{url}/v2/images").json()["images"])
        for region, url in images.items()
    }
    report = three.tick()
    after = {
        region: len(demo.get(f"{url}/v2/images").json()["images"])
        for region, url in images.items()
    }
    # DFW: db (retention 3, its 3 images, so one made and one pruned);
    # ORD and IAD: web (retention 2: one made, one pruned).
    assert len(report.created) == 3
    assert after == before
    assert {r: s.clock for r, s in three.regions.items()} == {
        r: three.state.clock for r in REGIONS
    }


def admin(cloud: Sandbox, path: str, body: dict[str, Any]) -> Any:
    return requests.post(f"{cloud.url}/sandbox/{path}", json=body)


def test_admin_adds_servers_and_images_in_the_region_named(three):
    demo = Client(three, "demo")
    answer = admin(three, "servers", {"name": "iad-new", "region": "IAD"})
    assert answer.status_code == 201, answer.text
    new_id = answer.json()["server"]["id"]
    urls = endpoints(three, "compute")
    assert "iad-new" in names(demo, urls["IAD"])
    assert "iad-new" not in names(demo, urls["DFW"])
    # The image goes to the region of its server, named or not.
    answer = admin(three, "images", {"server_id": new_id})
    assert answer.status_code == 201, answer.text
    assert new_id in three.regions["IAD"].instance_images
    assert (
        admin(three, "servers", {"name": "x", "region": "LON"}).status_code
        == 400
    )
    # Deleting finds the server in its region.
    gone = requests.delete(f"{three.url}/sandbox/servers/{new_id}")
    assert gone.status_code == 204
    assert "iad-new" not in names(demo, urls["IAD"])


def test_summary_counts_each_region(three):
    fail(three, "IAD", 500)
    summary = requests.get(f"{three.url}/sandbox").json()
    assert list(summary["regions"]) == REGIONS
    assert summary["regions"]["ORD"]["servers"] == 2
    assert summary["failing_regions"] == {"IAD": 500}


def test_a_client_choosing_no_region_gets_compute_and_image_of_the_first(
    three,
):
    # The first endpoint of each service is the first region's: the
    # single-region behaviour of 1.1.0 is unchanged.
    for kind in ("compute", "image"):
        assert next(iter(endpoints(three, kind))) == "DFW"
    assert three.env()["OS_REGION_NAME"] == "DFW"


def test_the_second_region_trap_still_works_beside_regions():
    with Sandbox(regions=["DFW", "ORD"], second_region="TRAP") as cloud:
        compute = endpoints(cloud, "compute")
        assert list(compute)[0] == "TRAP"
        image = endpoints(cloud, "image")
        assert list(image) == ["DFW", "TRAP", "ORD"]


def test_bad_region_lists_are_refused():
    with pytest.raises(ValueError):
        Sandbox(regions=["DFW", "DFW"])
    with pytest.raises(ValueError):
        Sandbox(regions=["DFW", "a/b"])
    with pytest.raises(ValueError):
        Sandbox(regions=["DFW"], failing_region="ORD")


def test_cli_reads_regions_and_a_failing_region():
    args = build_parser().parse_args(
        ["serve", "--regions", "DFW,ORD,IAD", "--failing-region", "ORD"]
    )
    assert args.regions == REGIONS and args.failing_region == "ORD"
    with Sandbox(regions=args.regions, failing_region="ORD") as cloud:
        demo = Client(cloud, "demo")
        urls = endpoints(cloud, "compute")
        assert demo.get(f"{urls['ORD']}/servers").status_code == 503

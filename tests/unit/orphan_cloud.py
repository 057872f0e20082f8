"""A mocked cloud with images of a deleted server, for both shells."""

from __future__ import annotations

from keystoneauth1 import fixture as ks_fixture

from rax_scheduled_images_python_novaclient_ext import schedule as domain

from .conftest import AUTH_URL, COMPUTE, IMAGE, TOKEN

GONE = "aaaaaaaa-0000-4000-8000-000000000001"
LIVE = "bbbbbbbb-0000-4000-8000-000000000002"
NOT_FOUND = {"status_code": 404, "json": {"itemNotFound": {"code": 404}}}
MARKED_QUERY = (
    "/v2/images?owner=p1&limit=1000&"
    "org.openstack__1__created_by=scheduled_images_service"
)


def orphan(
    id_, day, server=GONE, size=1073741824, marked=True, owner="p1", name=None
):
    """An image of ``server`` made on day ``day`` of the month."""
    image = {
        "id": id_,
        "name": name or f"Daily-gone-{day}",
        "status": "active",
        "owner": owner,
        "size": size,
        "created_at": f"2026-11-{day:02d}T03:00:00Z",
        "instance_uuid": server,
    }
    if marked:
        image[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
    return image


def serve(mock, images, listed=(LIVE,), gone=(GONE,)):
    mock.get(f"{IMAGE}/v2/images", json={"images": images})
    mock.get(
        f"{COMPUTE}/servers",
        json={"servers": [{"id": sid} for sid in listed]},
    )
    for sid in gone:
        mock.get(f"{COMPUTE}/servers/{sid}", **NOT_FOUND)


def two_regions(mock):
    """A catalog whose first compute endpoint is in RegionTwo and whose
    first image endpoint is in RegionOne: with no region chosen, the
    session picks endpoints in different regions."""
    token = ks_fixture.V3Token(project_id="p1", project_name="demo")
    compute = token.add_service("compute")
    compute.add_endpoint("public", COMPUTE, region="RegionTwo")
    compute.add_endpoint("public", "http://c1.test/v2/p1", region="RegionOne")
    image = token.add_service("image")
    image.add_endpoint("public", IMAGE, region="RegionOne")
    image.add_endpoint("public", "http://i2.test", region="RegionTwo")
    mock.post(
        AUTH_URL + "/auth/tokens",
        json=token,
        headers={"X-Subject-Token": TOKEN},
        status_code=201,
    )


def deletes(mock):
    return [r.path for r in mock.request_history if r.method == "DELETE"]

"""Images: Glance v2 list, show, patch and delete."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import ALT_APP, DB, MARK, Client, fault

PATCH = "application/openstack-images-v2.1-json-patch"
BASE_IMAGE = "0f5c4a7e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"


def patch(client: Client, image: str, ops: Any, **kw: Any) -> Any:
    headers = {"Content-Type": kw.pop("content_type", PATCH)}
    return client.patch(
        f"{client.image}/v2/images/{image}", json=ops, headers=headers
    )


def db_images(client: Client) -> list[dict[str, Any]]:
    return client.images(instance_uuid=DB)


def test_versions_document(cloud: Sandbox) -> None:
    for path in ("/image", "/image/"):
        answer = requests.get(cloud.url + path)
        assert answer.status_code == 300
        assert answer.json()["versions"][0]["id"] == "v2.9"


def test_images_need_a_token(cloud: Sandbox) -> None:
    answer = requests.get(f"{cloud.url}/image/v2/images")
    assert fault(answer)[:2] == (401, "unauthorized")


def test_image_records_look_like_glance(demo: Client) -> None:
    (image,) = demo.images(instance_uuid=DB, name="db-before-upgrade")
    for key in (
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "owner",
        "visibility",
        "container_format",
        "disk_format",
        "size",
        "min_disk",
        "min_ram",
        "tags",
        "self",
        "file",
        "schema",
    ):
        assert key in image
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["instance_uuid"] == DB
    assert image["image_type"] == "snapshot"
    assert MARK not in image


def test_filter_by_server_and_marker(demo: Client) -> None:
    marked = demo.images(
        instance_uuid=DB, **{MARK: "scheduled_images_service"}
    )
    assert [i["name"] for i in marked] == [
        "Daily-db-1735874220",
        "Daily-db-1735787820",
        "Daily-db-1735701420",
    ]
    assert len(db_images(demo)) == 4


def test_default_order_is_newest_first(demo: Client) -> None:
    images = demo.images()
    stamps = [(i["created_at"], i["id"]) for i in images]
    assert stamps == sorted(stamps, reverse=True)


def test_paging_with_next_link_covers_all(demo: Client) -> None:
    everything = demo.images()
    paged = demo.images(limit="2")
    assert [i["id"] for i in paged] == [i["id"] for i in everything]
    first = demo.get(f"{demo.image}/v2/images", params={"limit": "2"}).json()
    assert first["next"].startswith("/v2/images?")
    assert "limit=2" in first["next"]


def test_sort_by_name_ascending(demo: Client) -> None:
    images = demo.images(sort_key="name", sort_dir="asc", limit="2")
    names = [i["name"] for i in images]
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "x"}, "limit param must be an integer"),
        ({"limit": "-2"}, "limit param must be positive"),
        (
            {"sort_dir": "up"},
            "Invalid sort direction: up. It must be one "
            "of the following: asc, desc.",
        ),
        ({"marker": "nope"}, "Marker nope could not be found."),
    ],
)
def test_bad_list_params_are_400(
    demo: Client, params: dict[str, str], message: str
) -> None:
    answer = demo.get(f"{demo.image}/v2/images", params=params)
    assert fault(answer) == (400, "badRequest", message)


def test_status_filter(demo: Client) -> None:
    assert len(demo.images(instance_uuid=DB, status="active")) == 4
    assert len(demo.images(instance_uuid=DB, status="ACTIVE")) == 4
    assert demo.images(instance_uuid=DB, status="queued") == []


def test_remove_marker_exempts_the_image(demo: Client) -> None:
    image = db_images(demo)[0]
    answer = patch(demo, image["id"], [{"op": "remove", "path": f"/{MARK}"}])
    assert answer.status_code == 200
    assert MARK not in answer.json()
    shown = demo.get(f"{demo.image}/v2/images/{image['id']}").json()
    assert MARK not in shown
    again = patch(demo, image["id"], [{"op": "remove", "path": f"/{MARK}"}])
    assert fault(again) == (
        409,
        "conflictingRequest",
        f"Property {MARK} does not exist.",
    )


def test_add_and_replace_properties(demo: Client) -> None:
    image = db_images(demo)[0]["id"]
    answer = patch(
        demo,
        image,
        [
            {"op": "add", "path": "/keep", "value": "forever"},
            {"op": "replace", "path": "/keep", "value": "for now"},
            {"op": "replace", "path": "/name", "value": "renamed"},
        ],
    )
    assert answer.status_code == 200
    assert answer.json()["keep"] == "for now"
    assert answer.json()["name"] == "renamed"


def test_failed_patch_changes_nothing(demo: Client) -> None:
    image = db_images(demo)[0]
    answer = patch(
        demo,
        image["id"],
        [
            {"op": "remove", "path": f"/{MARK}"},
            {"op": "replace", "path": "/missing", "value": "x"},
        ],
    )
    assert fault(answer)[0] == 409
    shown = demo.get(f"{demo.image}/v2/images/{image['id']}").json()
    assert shown.get(MARK) == image.get(MARK)


@pytest.mark.parametrize(
    ("ops", "status"),
    [
        ([{"op": "replace", "path": "/status", "value": "x"}], 403),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "move", "path": "/a"}], 400),
        ([{"op": "add", "path": "a", "value": "x"}], 400),
        ([{"op": "add", "path": "/a/b", "value": "x"}], 400),
        ([{"op": "add", "path": "/a", "value": 5}], 400),
        ([{"op": "add", "path": "/a"}], 400),
        ({"op": "add", "path": "/a", "value": "x"}, 400),
        (["add"], 400),
    ],
)
def test_bad_patches(demo: Client, ops: Any, status: int) -> None:
    image = db_images(demo)[0]["id"]
    assert fault(patch(demo, image, ops))[0] == status


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", ""]
)
def test_patch_needs_json_patch_media_type(
    demo: Client, content_type: str
) -> None:
    image = db_images(demo)[0]["id"]
    answer = patch(
        demo,
        image,
        [{"op": "remove", "path": f"/{MARK}"}],
        content_type=content_type,
    )
    assert fault(answer)[:2] == (415, "badMediaType")


def test_delete_image(demo: Client) -> None:
    image = db_images(demo)[0]["id"]
    answer = demo.delete(f"{demo.image}/v2/images/{image}")
    assert answer.status_code == 204
    assert answer.content == b""
    gone = demo.get(f"{demo.image}/v2/images/{image}")
    assert fault(gone) == (
        404,
        "itemNotFound",
        f"No image found with ID {image}",
    )
    assert image not in {i["id"] for i in db_images(demo)}


def test_public_image_is_visible_but_not_deletable(demo: Client) -> None:
    assert demo.get(f"{demo.image}/v2/images/{BASE_IMAGE}").status_code == 200
    answer = demo.delete(f"{demo.image}/v2/images/{BASE_IMAGE}")
    assert fault(answer) == (
        403,
        "forbidden",
        "You are not permitted to delete this image.",
    )


def test_projects_see_only_their_own_images(demo: Client, alt: Client) -> None:
    alt_images = alt.images(instance_uuid=ALT_APP)
    assert len(alt_images) == 2
    assert demo.images(instance_uuid=ALT_APP) == []
    assert {i["owner"] for i in demo.images()} <= {"100001", "100000"}
    foreign = alt_images[0]["id"]
    url = f"{demo.image}/v2/images/{foreign}"
    assert fault(demo.get(url))[0] == 404
    assert fault(demo.delete(url))[0] == 404
    ops = [{"op": "remove", "path": f"/{MARK}"}]
    assert fault(patch(demo, foreign, ops))[0] == 404
    marker = demo.get(f"{demo.image}/v2/images", params={"marker": foreign})
    assert fault(marker)[0] == 400
    assert len(alt.images(instance_uuid=ALT_APP)) == 2
    assert MARK in alt.get(f"{alt.image}/v2/images/{foreign}").json()


def test_changing_instance_uuid_moves_image_in_index(demo: Client) -> None:
    image = db_images(demo)[0]["id"]
    patch(
        demo,
        image,
        [{"op": "replace", "path": "/instance_uuid", "value": "elsewhere"}],
    )
    assert image not in {i["id"] for i in db_images(demo)}
    assert [i["id"] for i in demo.images(instance_uuid="elsewhere")] == [image]

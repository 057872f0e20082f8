"""``ImageManager.find``, ``keep`` and ``release``: the requests they
send, and a patch repeated after its answer was lost.

Against a mocked Image API reached through a real Keystone v3 catalog.
"""

from __future__ import annotations

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import images as i
from rax_scheduled_images_python_novaclient_ext import schedule as s

from .conftest import (
    IMAGE,
    IMG1,
    IMG2,
    IMG3,
    PATCH_ADD,
    PATCH_REMOVE,
    glance_image,
    image_calls,
)

pytestmark = pytest.mark.usefixtures("no_alias_env")


# --- find ------------------------------------------------------------------


def test_find_by_id_is_one_get(images, mock):
    mock.get(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    assert images.find(IMG1)["id"] == IMG1
    assert image_calls(mock) == [("GET", f"/v2/images/{IMG1}")]


def test_find_by_name_is_one_list(images, mock):
    mock.get(
        f"{IMAGE}/v2/images?name=Daily-myserver-1701",
        json={"images": [glance_image(IMG1, 1)]},
    )
    assert images.find("Daily-myserver-1701")["id"] == IMG1
    assert image_calls(mock) == [
        ("GET", "/v2/images?name=Daily-myserver-1701")
    ]


def test_find_quotes_the_name(images, mock):
    name = "first of month & more/1"
    mock.get(
        f"{IMAGE}/v2/images",
        json={"images": [glance_image(IMG1, 1, name=name)]},
    )
    assert images.find(name)["id"] == IMG1
    assert mock.last_request.qs == {"name": [name]}
    assert mock.last_request.path == "/v2/images"


def test_find_uuid_like_name_falls_back_to_the_name(images, mock):
    mock.get(f"{IMAGE}/v2/images/{IMG3}", status_code=404, text="Not Found")
    mock.get(
        f"{IMAGE}/v2/images?name={IMG3}",
        json={"images": [glance_image(IMG1, 1, name=IMG3)]},
    )
    assert images.find(IMG3)["id"] == IMG1
    assert image_calls(mock) == [
        ("GET", f"/v2/images/{IMG3}"),
        ("GET", f"/v2/images?name={IMG3}"),
    ]


def test_find_unknown(images, mock):
    mock.get(f"{IMAGE}/v2/images?name=nosuch", json={"images": []})
    with pytest.raises(exceptions.NotFound) as raised:
        images.find("nosuch")
    assert raised.value.message == (
        "No image with a name or ID of 'nosuch' exists."
    )


def test_find_ambiguous(images, mock):
    mock.get(
        f"{IMAGE}/v2/images?name=keep-me",
        json={
            "images": [
                glance_image(IMG1, 1, name="keep-me"),
                glance_image(IMG2, 2, name="keep-me"),
            ]
        },
    )
    with pytest.raises(exceptions.NoUniqueMatch) as raised:
        images.find("keep-me")
    assert str(raised.value) == (
        "Multiple image matches found for 'keep-me', use an ID to be more "
        "specific."
    )


def test_find_counts_only_exact_names(images, mock):
    # Glance reads "in:a,b" as a list of names.
    mock.get(
        f"{IMAGE}/v2/images",
        json={
            "images": [
                glance_image(IMG1, 1, name="a"),
                glance_image(IMG2, 2, name="in:a,b"),
            ]
        },
    )
    assert images.find("in:a,b")["id"] == IMG2


def test_find_empty_sends_nothing(images, mock):
    with pytest.raises(exceptions.NotFound):
        images.find("  ")
    assert image_calls(mock) == []


def test_find_other_errors_are_not_hidden(images, mock):
    mock.get(f"{IMAGE}/v2/images/{IMG1}", status_code=403, text="Forbidden")
    with pytest.raises(exceptions.Forbidden):
        images.find(IMG1)


# --- keep and release ------------------------------------------------------


def test_keep_removes_only_the_marker(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    assert images.keep(glance_image(IMG1, 1)) is True
    assert image_calls(mock) == [("PATCH", f"/v2/images/{IMG1}")]
    request = mock.last_request
    assert request.headers["Content-Type"] == (
        "application/openstack-images-v2.1-json-patch"
    )
    assert request.json() == PATCH_REMOVE


@pytest.mark.parametrize(
    "image",
    [
        glance_image(IMG1, 1, marked=False),
        {**glance_image(IMG1, 1, marked=False), s.CREATED_BY_KEY: "someone"},
    ],
)
def test_keep_an_unmarked_image_sends_nothing(images, mock, image):
    assert images.keep(image) is False
    assert image_calls(mock) == []


def test_release_adds_the_marker(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    assert images.release(glance_image(IMG1, 1, marked=False)) is True
    request = mock.last_request
    assert (request.method, request.path) == ("PATCH", f"/v2/images/{IMG1}")
    assert request.headers["Content-Type"] == i.JSON_PATCH
    assert request.json() == PATCH_ADD


def test_keep_replaces_a_kept_record_of_another_value(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    image = {**glance_image(IMG1, 1), "scheduled_images_kept": "x"}
    assert images.keep(image) is True
    assert mock.last_request.json() == [
        PATCH_REMOVE[0],
        {**PATCH_REMOVE[1], "op": "replace"},
    ]


def test_release_removes_keeps_record_in_the_same_patch(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    kept = {
        **glance_image(IMG1, 1, marked=False),
        "scheduled_images_kept": "scheduled_images_service",
    }
    assert images.release(kept) is True
    assert image_calls(mock) == [("PATCH", f"/v2/images/{IMG1}")]
    assert mock.last_request.json() == [
        *PATCH_ADD,
        {"op": "remove", "path": "/scheduled_images_kept"},
    ]


def test_release_replaces_a_marker_with_another_value(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    image = {**glance_image(IMG1, 1, marked=False), s.CREATED_BY_KEY: "me"}
    assert images.release(image) is True
    assert mock.last_request.json() == [{**PATCH_ADD[0], "op": "replace"}]


def test_release_a_marked_image_sends_nothing(images, mock):
    assert images.release(glance_image(IMG1, 1)) is False
    assert image_calls(mock) == []


def test_release_refuses_an_image_of_no_server(images, mock):
    orphan = glance_image(IMG1, 1, marked=False, server=None)
    with pytest.raises(s.ScheduleError, match="belongs to no server"):
        images.release(orphan)
    assert image_calls(mock) == []


def test_keep_error_from_the_image_api(images, mock):
    mock.patch(
        f"{IMAGE}/v2/images/{IMG1}",
        status_code=403,
        json={"message": "You are not permitted to modify this image."},
    )
    with pytest.raises(exceptions.Forbidden) as raised:
        images.keep(glance_image(IMG1, 1))
    assert str(raised.value) == (
        "You are not permitted to modify this image. (HTTP 403)"
    )


def test_image_ids_are_one_quoted_path_segment(images, mock):
    mock.patch(f"{IMAGE}/v2/images/a%2Fb", json={})
    images.keep({**glance_image("a/b", 1)})
    assert mock.last_request.path == "/v2/images/a%2fb"


# --- a patch repeated after its answer was lost ------------------------------

CONFLICT = {"status_code": 409, "text": "Property does not exist."}


def lost_then_conflict():
    """The first PATCH is applied but its answer never arrives; the
    retry's repeat is refused with 409."""
    return [
        {"exc": ks_exceptions.ConnectFailure("connection reset")},
        CONFLICT,
    ]


def test_keep_repeated_after_a_lost_answer_is_kept(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", lost_then_conflict())
    mock.get(
        f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1, marked=False)
    )
    assert images.keep(glance_image(IMG1, 1)) is True
    assert image_calls(mock) == [
        ("PATCH", f"/v2/images/{IMG1}"),
        ("PATCH", f"/v2/images/{IMG1}"),
        ("GET", f"/v2/images/{IMG1}"),
    ]


def test_release_repeated_after_a_lost_answer_is_released(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", lost_then_conflict())
    mock.get(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    assert images.release(glance_image(IMG1, 1, marked=False)) is True


def test_a_conflict_that_is_not_the_change_made_is_raised(images, mock):
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", **CONFLICT)
    # Read again, the image still carries the marker: keep did not happen.
    mock.get(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    with pytest.raises(exceptions.Conflict):
        images.keep(glance_image(IMG1, 1))

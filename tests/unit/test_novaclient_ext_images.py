"""The image commands (``scheduled-images-image-*``), in the ``nova`` shell.

Each test checks what a user sees (stdout, stderr, exit code) and the
requests the command sent to Nova and to the Image API.
"""

from __future__ import annotations

import re

import pytest

from .conftest import (
    COMPUTE,
    IMAGE,
    IMG1,
    IMG2,
    IMG3,
    IMG4,
    LIST_PATH,
    LIST_URL,
    NEXT_PATH,
    NO_SCHEDULE_404,
    PATCH_ADD,
    PATCH_REMOVE,
    SCHED_PATH,
    SCHED_URL,
    SERVER_ID,
    SERVER_URL,
    cloud_calls,
    glance_image,
    register_unknown_server,
)

pytestmark = pytest.mark.usefixtures("no_alias_env")

JSON_PATCH = "application/openstack-images-v2.1-json-patch"


def patches(mock):
    return [
        (req.path, req.headers["Content-Type"], req.json())
        for req in mock.request_history
        if req.method == "PATCH"
    ]


@pytest.fixture
def four_images(mock):
    """Four images of the server: one kept (no marker), three counted."""
    mock.get(
        LIST_URL,
        json={
            "images": [glance_image(IMG4, 4), glance_image(IMG3, 3)],
            "next": f"/v2/images?instance_uuid={SERVER_ID}&marker={IMG3}",
        },
    )
    mock.get(
        f"{LIST_URL}&marker={IMG3}",
        json={
            "images": [
                glance_image(IMG2, 2, marked=False, name="first-of-month"),
                glance_image(IMG1, 1),
            ]
        },
    )


# --- scheduled-images-image-list -------------------------------------------


def test_image_list_table_oldest_first_with_forecast(nova, mock, four_images):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 2}})
    result = nova("scheduled-images-image-list", SERVER_ID)
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        "+--------------------------------------+---------------------+"
        "----------------------+--------+---------+---------------------+\n"
        "| ID                                   | Name                |"
        " Created              | Status | Counted | Deleted at next run |\n"
        "+--------------------------------------+---------------------+"
        "----------------------+--------+---------+---------------------+\n"
        f"| {IMG1} | Daily-myserver-1701 |"
        " 2026-11-01T03:04:05Z | active | yes     | yes                 |\n"
        f"| {IMG2} | first-of-month      |"
        " 2026-11-02T03:04:05Z | active | no      | no                  |\n"
        f"| {IMG3} | Daily-myserver-1703 |"
        " 2026-11-03T03:04:05Z | active | yes     | yes                 |\n"
        f"| {IMG4} | Daily-myserver-1704 |"
        " 2026-11-04T03:04:05Z | active | yes     | no                  |\n"
        "+--------------------------------------+---------------------+"
        "----------------------+--------+---------+---------------------+\n"
    )
    assert cloud_calls(mock) == [
        ("GET", SCHED_PATH),
        ("GET", LIST_PATH),
        ("GET", f"{NEXT_PATH}&marker={IMG3}"),
    ]


def test_image_list_by_server_name(nova, mock, four_images):
    mock.get(
        f"{COMPUTE}/servers?name=myserver",
        json={"servers": [{"id": SERVER_ID, "name": "myserver"}]},
    )
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}",
        json={"server": {"id": SERVER_ID, "name": "myserver"}},
    )
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 9}})
    result = nova("scheduled-images-image-list", "myserver")
    assert result.code == 0
    assert result.out.count("| yes     | no                  |") == 3
    assert cloud_calls(mock)[-3:] == [
        ("GET", SCHED_PATH),
        ("GET", LIST_PATH),
        ("GET", f"{NEXT_PATH}&marker={IMG3}"),
    ]


def test_image_list_without_schedule_says_so(nova, mock, four_images):
    mock.get(SCHED_URL, status_code=404, json=NO_SCHEDULE_404)
    mock.get(SERVER_URL, json={"server": {"id": SERVER_ID}})
    result = nova("scheduled-images-image-list", SERVER_ID)
    assert result.code == 0
    assert result.error_lines == [
        f"Server {SERVER_ID} has no image schedule: the scheduled images "
        "service will delete none of its images."
    ]
    assert "| yes     | yes" not in result.out
    assert result.out.count(" | no                  |\n") == 4


def test_image_list_of_a_server_without_images(nova, mock):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 2}})
    mock.get(LIST_URL, json={"images": []})
    result = nova("scheduled-images-image-list", SERVER_ID)
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        "+----+------+---------+--------+---------+---------------------+\n"
        "| ID | Name | Created | Status | Counted | Deleted at next run |\n"
        "+----+------+---------+--------+---------+---------------------+\n"
        "+----+------+---------+--------+---------+---------------------+\n"
    )


def test_image_list_unknown_server(nova, mock):
    unknown = "99999999-9999-4999-8999-999999999999"
    register_unknown_server(mock, unknown)
    result = nova("scheduled-images-image-list", unknown)
    assert result.code == 1
    assert result.error_lines == [
        f"ERROR (CommandError): No server with a name or ID of '{unknown}' "
        "exists."
    ]
    assert not any(
        path.startswith("/v2/images") for _, path in cloud_calls(mock)
    )


def test_image_list_image_api_error_is_one_line(nova, mock):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 2}})
    mock.get(
        LIST_URL,
        status_code=403,
        json={"message": "You are not authorized to list images."},
    )
    result = nova("scheduled-images-image-list", SERVER_ID)
    assert result.code == 1
    assert result.out == ""
    assert result.error_lines == [
        "ERROR (Forbidden): You are not authorized to list images. (HTTP 403)"
    ]


def test_image_list_empty_server_sends_nothing(nova, mock):
    result = nova("scheduled-images-image-list", "")
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (CommandError): A server name or ID is required, not an "
        "empty string."
    ]
    assert cloud_calls(mock) == []


# --- scheduled-images-image-keep -------------------------------------------


def test_keep_by_id_removes_the_marker(nova, mock):
    mock.get(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    result = nova("scheduled-images-image-keep", IMG1)
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        f"Kept image {IMG1} (Daily-myserver-1701): the service will no "
        "longer count or delete it.\n"
    )
    assert cloud_calls(mock) == [
        ("GET", f"/v2/images/{IMG1}"),
        ("PATCH", f"/v2/images/{IMG1}"),
    ]
    assert patches(mock) == [(f"/v2/images/{IMG1}", JSON_PATCH, PATCH_REMOVE)]


def test_keep_by_name_and_already_kept(nova, mock):
    mock.get(
        f"{IMAGE}/v2/images?name=first-of-month",
        json={
            "images": [
                glance_image(IMG2, 2, marked=False, name="first-of-month")
            ]
        },
    )
    mock.get(f"{IMAGE}/v2/images/{IMG3}", json=glance_image(IMG3, 3))
    mock.patch(f"{IMAGE}/v2/images/{IMG3}", json={})
    result = nova("scheduled-images-image-keep", "first-of-month", IMG3)
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        f"Image {IMG2} (first-of-month) is already kept: nothing to do.\n"
        f"Kept image {IMG3} (Daily-myserver-1703): the service will no "
        "longer count or delete it.\n"
    )
    # Nothing is sent for the image already kept.
    assert patches(mock) == [(f"/v2/images/{IMG3}", JSON_PATCH, PATCH_REMOVE)]


def test_keep_the_same_image_twice_changes_it_once(nova, mock):
    mock.get(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    mock.patch(f"{IMAGE}/v2/images/{IMG1}", json={})
    result = nova("scheduled-images-image-keep", IMG1, IMG1)
    assert result.code == 0
    assert len(result.out.splitlines()) == 1
    assert len(patches(mock)) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["nosuch"],
            "ERROR (CommandError): No image with a name or ID of 'nosuch' "
            "exists.",
        ),
        (
            ["twin"],
            "ERROR (CommandError): Multiple image matches found for 'twin', "
            "use an ID to be more specific.",
        ),
        (
            [IMG1, "nosuch"],
            "ERROR (CommandError): No image with a name or ID of 'nosuch' "
            "exists.",
        ),
        (
            [IMG1, ""],
            "ERROR (CommandError): An image name or ID is required, not an "
            "empty string.",
        ),
    ],
)
@pytest.mark.parametrize(
    "command",
    ["scheduled-images-image-keep", "scheduled-images-image-release"],
)
def test_unknown_or_ambiguous_image_changes_nothing(
    nova, mock, command, argv, message
):
    mock.get(f"{IMAGE}/v2/images?name=nosuch", json={"images": []})
    mock.get(
        f"{IMAGE}/v2/images?name=twin",
        json={
            "images": [
                glance_image(IMG3, 3, name="twin"),
                glance_image(IMG4, 4, name="twin"),
            ]
        },
    )
    mock.get(
        f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1, marked=False)
    )
    result = nova(command, *argv)
    assert result.code == 1
    assert result.out == ""
    assert result.error_lines == [message]
    assert patches(mock) == []


def test_keep_image_api_refusal(nova, mock):
    mock.get(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    mock.patch(
        f"{IMAGE}/v2/images/{IMG1}",
        status_code=403,
        json={"message": "You are not permitted to modify this image."},
    )
    result = nova("scheduled-images-image-keep", IMG1)
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (Forbidden): You are not permitted to modify this image. "
        "(HTTP 403)"
    ]


# --- scheduled-images-image-release ----------------------------------------


def test_release_prints_what_the_next_run_deletes(nova, mock, four_images):
    mock.get(
        f"{IMAGE}/v2/images?name=first-of-month",
        json={
            "images": [
                glance_image(IMG2, 2, marked=False, name="first-of-month")
            ]
        },
    )
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 3}})
    mock.patch(f"{IMAGE}/v2/images/{IMG2}", json={})
    result = nova("scheduled-images-image-release", "first-of-month")
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        f"At its next run for server {SERVER_ID} (retention 3), the "
        "scheduled images service will delete 2 images:\n"
        f"  {IMG1}  Daily-myserver-1701\n"
        f"  {IMG2}  first-of-month  (released now)\n"
        f"Released image {IMG2} (first-of-month): the service counts it "
        "again.\n"
    )
    assert cloud_calls(mock) == [
        ("GET", "/v2/images?name=first-of-month"),
        ("GET", SCHED_PATH),
        ("GET", LIST_PATH),
        ("GET", f"{NEXT_PATH}&marker={IMG3}"),
        ("PATCH", f"/v2/images/{IMG2}"),
    ]
    assert patches(mock) == [(f"/v2/images/{IMG2}", JSON_PATCH, PATCH_ADD)]


def test_release_when_nothing_will_be_deleted(nova, mock, four_images):
    mock.get(
        f"{IMAGE}/v2/images/{IMG2}",
        json=glance_image(IMG2, 2, marked=False, name="first-of-month"),
    )
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 30}})
    mock.patch(f"{IMAGE}/v2/images/{IMG2}", json={})
    result = nova("scheduled-images-image-release", IMG2)
    assert result.code == 0
    assert result.out.splitlines()[0] == (
        f"At its next run for server {SERVER_ID} (retention 30), the "
        "scheduled images service will delete no images."
    )


def test_release_on_a_server_without_schedule(nova, mock):
    mock.get(
        f"{IMAGE}/v2/images/{IMG2}", json=glance_image(IMG2, 2, marked=False)
    )
    mock.get(SCHED_URL, status_code=404, json=NO_SCHEDULE_404)
    mock.get(SERVER_URL, json={"server": {"id": SERVER_ID}})
    mock.patch(f"{IMAGE}/v2/images/{IMG2}", json={})
    result = nova("scheduled-images-image-release", IMG2)
    assert result.code == 0
    assert result.out == (
        f"Server {SERVER_ID} has no image schedule: the scheduled images "
        "service will delete none of its images.\n"
        f"Released image {IMG2} (Daily-myserver-1702): the service counts "
        "it again.\n"
    )
    # No image list is needed when nothing can be deleted.
    assert cloud_calls(mock) == [
        ("GET", f"/v2/images/{IMG2}"),
        ("GET", SCHED_PATH),
        # The 404 fits a server that does not exist too: it is read.
        ("GET", f"/v2/p1/servers/{SERVER_ID}"),
        ("PATCH", f"/v2/images/{IMG2}"),
    ]


def test_release_already_counted_sends_nothing(nova, mock):
    mock.get(f"{IMAGE}/v2/images/{IMG1}", json=glance_image(IMG1, 1))
    result = nova("scheduled-images-image-release", IMG1)
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        f"Image {IMG1} (Daily-myserver-1701) is already counted: nothing "
        "to do.\n"
    )
    assert cloud_calls(mock) == [("GET", f"/v2/images/{IMG1}")]


def test_release_refuses_an_image_of_no_server(nova, mock):
    mock.get(
        f"{IMAGE}/v2/images/{IMG2}", json=glance_image(IMG2, 2, marked=False)
    )
    mock.get(
        f"{IMAGE}/v2/images/{IMG3}",
        json=glance_image(IMG3, 3, marked=False, server=None, name="upload"),
    )
    result = nova("scheduled-images-image-release", IMG2, IMG3)
    assert result.code == 1
    assert result.out == ""
    assert result.error_lines == [
        f"ERROR (CommandError): Image {IMG3} belongs to no server (it has no "
        "instance_uuid): the scheduled images service would never count "
        "it, so it cannot be released."
    ]
    assert patches(mock) == []
    assert cloud_calls(mock) == [
        ("GET", f"/v2/images/{IMG2}"),
        ("GET", f"/v2/images/{IMG3}"),
    ]


# --- help --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "usage", "explains"),
    [
        (
            "scheduled-images-image-list",
            "usage: nova scheduled-images-image-list <server>",
            "Deleted at next run",
        ),
        (
            "scheduled-images-image-keep",
            "usage: nova scheduled-images-image-keep <image> [<image> ...]",
            "Removes only the org.openstack__1__created_by marker",
        ),
        (
            "scheduled-images-image-release",
            "usage: nova scheduled-images-image-release <image> [<image> ...]",
            "which images the service will then delete at its next run",
        ),
        (
            "scheduled-images-list",
            "usage: nova scheduled-images-list [--all-servers]",
            "Retention: how many scheduled images the service keeps",
        ),
    ],
)
def test_help_explains_each_command(nova, command, usage, explains):
    result = nova("help", command)
    assert result.code == 0
    text = " ".join(result.out.split())
    assert usage in text
    assert explains in text


def test_nova_help_lists_the_new_commands_once(nova):
    result = nova("help")
    for command in (
        "scheduled-images-image-list",
        "scheduled-images-image-keep",
        "scheduled-images-image-release",
        "scheduled-images-list",
    ):
        found = re.findall(rf"^    {command}\s", result.out, re.MULTILINE)
        assert len(found) == 1

"""``openstack scheduled image list|keep|release``, end to end.

The real ``openstack`` shell in-process; Keystone, Nova and the Image
API mocked. Exact output, exit codes and requests (method, path, body).
"""

from __future__ import annotations

import json

import pytest

from rax_scheduled_images_python_novaclient_ext import schedule as domain

from ..conftest import IMAGE
from .conftest import (
    COMPUTE,
    SCHED_PATH,
    SCHED_URL,
    SERVER_ID,
    WEB1,
    api_calls,
    no_schedule_404,
    sched_path,
    sched_url,
    server,
)

IMG1 = "aaaaaaaa-0000-4000-8000-000000000001"
IMG2 = "aaaaaaaa-0000-4000-8000-000000000002"
IMG3 = "aaaaaaaa-0000-4000-8000-000000000003"
IMG4 = "aaaaaaaa-0000-4000-8000-000000000004"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def image(id_, name, day, marked=True, server_id=SERVER_ID):
    found = {
        "id": id_,
        "name": name,
        "created_at": f"2024-05-0{day}T10:00:00Z",
        "status": "active",
    }
    if server_id is not None:
        found["instance_uuid"] = server_id
    if marked:
        found[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
    return found


# Three counted images and one kept (marker removed), newest last.
IMAGES = [
    image(IMG3, "Daily-myserver-3", 3),
    image(IMG1, "Daily-myserver-1", 1),
    image(IMG2, "Daily-myserver-2", 2, marked=False),
    image(IMG4, "Daily-myserver-4", 4),
]


def images_of(mock, server_id, found):
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={server_id}",
        json={"images": found},
    )


def image_rows_path(server_id):
    return f"/v2/images?instance_uuid={server_id}&limit=1000"


# -- list -----------------------------------------------------------------


def test_list_for_a_server_forecasts_the_prune(openstack, mock):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 2}})
    images_of(mock, SERVER_ID, IMAGES)
    result = openstack(
        "scheduled", "image", "list", "--server", SERVER_ID, "-f", "json"
    )
    assert result.code == 0
    assert result.error_lines == []
    # Retention 2: after the next image, the newest counted one survives
    # with it; the two older counted ones go; the kept one is not counted.
    assert json.loads(result.out) == [
        {
            "ID": IMG1,
            "Name": "Daily-myserver-1",
            "Created": "2024-05-01T10:00:00Z",
            "Status": "active",
            "Counted": "yes",
            "Deleted at next run": "yes",
        },
        {
            "ID": IMG2,
            "Name": "Daily-myserver-2",
            "Created": "2024-05-02T10:00:00Z",
            "Status": "active",
            "Counted": "no",
            "Deleted at next run": "no",
        },
        {
            "ID": IMG3,
            "Name": "Daily-myserver-3",
            "Created": "2024-05-03T10:00:00Z",
            "Status": "active",
            "Counted": "yes",
            "Deleted at next run": "yes",
        },
        {
            "ID": IMG4,
            "Name": "Daily-myserver-4",
            "Created": "2024-05-04T10:00:00Z",
            "Status": "active",
            "Counted": "yes",
            "Deleted at next run": "no",
        },
    ]
    assert api_calls(mock) == [
        ("GET", SCHED_PATH),
        ("GET", image_rows_path(SERVER_ID)),
    ]


def test_list_for_a_server_without_schedule_notes_it(
    openstack, mock, myserver
):
    mock.get(SCHED_URL, status_code=404, json=no_schedule_404(SERVER_ID))
    images_of(mock, SERVER_ID, [image(IMG1, "Daily-myserver-1", 1)])
    result = openstack(
        "scheduled", "image", "list", "--server", "myserver",
        "-f", "value", "-c", "ID", "-c", "Deleted at next run",
    )  # fmt: skip
    assert (result.code, result.out) == (0, f"{IMG1} no\n")
    assert result.error_lines == [
        f"Server {SERVER_ID} has no image schedule: the scheduled images "
        "service will delete none of its images."
    ]


def test_list_without_server_covers_every_scheduled_server(openstack, mock):
    mock.get(
        f"{COMPUTE}/servers/detail?OS-SI:image_schedule=True",
        json={
            "servers": [
                dict(
                    server(SERVER_ID, "myserver"),
                    **{"OS-SI:image_schedule": {"retention": 2}},
                ),
                dict(
                    server(WEB1, "web1"),
                    **{
                        "OS-SI:image_schedule": {
                            "retention": 5,
                            "day_of_week": "MONDAY",
                        }
                    },
                ),
            ]
        },
    )
    images_of(mock, SERVER_ID, IMAGES[:2])
    images_of(mock, WEB1, [image(IMG4, "Weekly-web1-4", 4, server_id=WEB1)])
    result = openstack(
        "scheduled", "image", "list", "-f", "csv",
        "-c", "Server", "-c", "ID", "-c", "Deleted at next run",
    )  # fmt: skip
    assert (result.code, result.out) == (
        0,
        '"Server","ID","Deleted at next run"\n'
        f'"{SERVER_ID}","{IMG1}","yes"\n'
        f'"{SERVER_ID}","{IMG3}","no"\n'
        f'"{WEB1}","{IMG4}","no"\n',
    )
    # (requests-mock shows queries lower-cased.)
    assert sorted(api_calls(mock)) == sorted(
        [
            ("GET", "/v2/p1/servers/detail?os-si:image_schedule=true"),
            ("GET", image_rows_path(SERVER_ID)),
            ("GET", image_rows_path(WEB1)),
        ]
    )


# -- keep -----------------------------------------------------------------


def by_id(mock, *found):
    for one in found:
        mock.get(f"{IMAGE}/v2/images/{one['id']}", json=one)
        mock.patch(f"{IMAGE}/v2/images/{one['id']}", json=one)


def patches(mock):
    return [
        (req.path, req.headers["Content-Type"], req.json())
        for req in mock.request_history
        if req.method == "PATCH"
    ]


def test_keep_removes_the_marker_and_leaves_kept_images_alone(openstack, mock):
    by_id(mock, IMAGES[1], IMAGES[2])
    result = openstack("scheduled", "image", "keep", IMG1, IMG2)
    assert (result.code, result.out) == (
        0,
        f"{IMG1} (Daily-myserver-1): kept: the service will no longer "
        "count or delete it\n"
        f"{IMG2} (Daily-myserver-2): already kept: nothing to do\n",
    )
    assert patches(mock) == [
        (
            f"/v2/images/{IMG1}",
            PATCH_TYPE,
            [
                {"op": "remove", "path": "/org.openstack__1__created_by"},
                {
                    "op": "add",
                    "path": "/scheduled_images_kept",
                    "value": "scheduled_images_service",
                },
            ],
        )
    ]


def test_keep_unknown_image_changes_nothing(openstack, mock):
    by_id(mock, IMAGES[1])
    mock.get(f"{IMAGE}/v2/images?name=nope", json={"images": []})
    result = openstack("scheduled", "image", "keep", IMG1, "nope")
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        "No image with a name or ID of 'nope' exists."
    ]
    assert patches(mock) == []


def test_keep_one_refused_the_others_done(openstack, mock):
    by_id(mock, IMAGES[0], IMAGES[1])
    mock.patch(
        f"{IMAGE}/v2/images/{IMG3}",
        status_code=403,
        json={"message": "You are not permitted to modify this image."},
    )
    result = openstack("scheduled", "image", "keep", IMG3, IMG1)
    assert result.code == 1
    assert result.out == (
        f"{IMG1} (Daily-myserver-1): kept: the service will no longer "
        "count or delete it\n"
    )
    assert result.error_lines == [
        f"{IMG3} (Daily-myserver-3): You are not permitted to modify this "
        "image. (HTTP 403)",
        "1 of 2 images failed.",
    ]
    assert [path for path, _, _ in patches(mock)].count(
        f"/v2/images/{IMG1}"
    ) == 1


@pytest.mark.parametrize("name", ["", "  "])
def test_keep_empty_name_sends_nothing(openstack, mock, name):
    result = openstack("scheduled", "image", "keep", name)
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        "An image name or ID is required, not an empty string."
    ]
    assert api_calls(mock) == []


# -- release --------------------------------------------------------------


def test_release_prints_the_plan_then_marks_the_image(openstack, mock):
    by_id(mock, IMAGES[2])
    mock.get(sched_url(SERVER_ID), json={"image_schedule": {"retention": 3}})
    images_of(mock, SERVER_ID, IMAGES)
    result = openstack("scheduled", "image", "release", IMG2)
    assert (result.code, result.out) == (
        0,
        f"At its next run for server {SERVER_ID} (retention 3), the "
        "scheduled images service will delete 2 images:\n"
        f"  {IMG1}  Daily-myserver-1\n"
        f"  {IMG2}  Daily-myserver-2  (released now)\n"
        f"{IMG2} (Daily-myserver-2): released: the service counts it again\n",
    )
    assert patches(mock) == [
        (
            f"/v2/images/{IMG2}",
            PATCH_TYPE,
            [
                {
                    "op": "add",
                    "path": "/org.openstack__1__created_by",
                    "value": "scheduled_images_service",
                }
            ],
        )
    ]
    assert api_calls(mock) == [
        ("GET", f"/v2/images/{IMG2}"),
        ("GET", sched_path(SERVER_ID)),
        ("GET", image_rows_path(SERVER_ID)),
        ("PATCH", f"/v2/images/{IMG2}"),
    ]


def test_release_image_of_no_server_changes_nothing(openstack, mock):
    orphan = image(IMG2, "manual", 2, marked=False, server_id=None)
    by_id(mock, IMAGES[2], orphan | {"id": IMG3})
    result = openstack("scheduled", "image", "release", IMG2, IMG3)
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        f"Image {IMG3} belongs to no server (it has no instance_uuid): the "
        "scheduled images service would never count it, so it cannot be "
        "released."
    ]
    assert patches(mock) == []


@pytest.mark.parametrize("command", ["keep", "release"])
def test_keep_and_release_take_a_concurrency(command):
    from osc_lib.test import fakes

    from rax_scheduled_images_python_novaclient_ext.osc import images

    app = fakes.FakeApp(fakes.FakeStdout(), fakes.FakeLog())
    cls = {
        "keep": images.KeepScheduledImages,
        "release": images.ReleaseScheduledImages,
    }[command]
    parser = cls(app, None).get_parser(f"openstack scheduled image {command}")
    parsed = parser.parse_args(["--concurrency", "3", "img-a", "img-b"])
    assert (parsed.image, parsed.concurrency) == (["img-a", "img-b"], 3)
    assert parser.parse_args(["img-a"]).concurrency == 8
    with pytest.raises(SystemExit):
        parser.parse_args(["--concurrency", "0", "img-a"])

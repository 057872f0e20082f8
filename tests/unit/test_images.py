"""The Image API as ``ImageManager`` reaches it: where it is, listing a
server's images, its errors, and the project's own images in one scan.

Against a mocked Image API reached through a real Keystone v3 catalog,
as the nova shell reaches it.
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
    LIST_PATH,
    LIST_URL,
    NEXT_PATH,
    SERVER_ID,
    TOKEN,
    calls,
    glance_image,
    image_calls,
    nova_on_catalog,
    password_session,
    register_cloud,
)

pytestmark = pytest.mark.usefixtures("no_alias_env")


# --- where the Image API is ------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "root"),
    [
        ("http://image.test", "http://image.test"),
        ("http://image.test/", "http://image.test"),
        ("https://iad.images.example/v2", "https://iad.images.example"),
        ("https://iad.images.example/v2/", "https://iad.images.example"),
        ("http://cloud.test/image/v2.1", "http://cloud.test/image"),
        ("http://cloud.test/image", "http://cloud.test/image"),
        ("http://cloud.test/v20images", "http://cloud.test/v20images"),
    ],
)
def test_image_root_drops_only_a_trailing_version(endpoint, root):
    assert i.image_root(endpoint) == root


def test_versionless_catalog_endpoint_costs_no_discovery(images, mock):
    mock.get(LIST_URL, json={"images": []})
    assert images.list_for_server(SERVER_ID) == []
    # Only the token request and the list: no version document fetched.
    assert calls(mock) == [("POST", "/v3/auth/tokens"), ("GET", LIST_PATH)]


def test_versioned_catalog_endpoint_is_not_doubled(mock):
    manager = i.ImageManager(
        nova_on_catalog(mock, image_endpoint="http://image.test/v2")
    )
    mock.get(LIST_URL, json={"images": []})
    manager.list_for_server(SERVER_ID)
    assert image_calls(mock) == [("GET", LIST_PATH)]


def test_no_image_service_in_the_catalog(mock):
    manager = i.ImageManager(nova_on_catalog(mock, with_image=False))
    with pytest.raises(
        ks_exceptions.EndpointNotFound,
        match="endpoint for image service not found",
    ):
        manager.list_for_server(SERVER_ID)
    assert image_calls(mock) == []


def test_endpoint_override_and_a_bare_session(mock):
    register_cloud(mock)
    sess = password_session()
    manager = i.ImageManager(
        session=sess, endpoint_override="http://other.test/v2"
    )
    mock.get(
        f"http://other.test/v2/images?instance_uuid={SERVER_ID}",
        json={"images": []},
    )
    assert manager.list_for_server(SERVER_ID) == []
    assert mock.last_request.headers["X-Auth-Token"] == TOKEN


def test_a_manager_needs_a_session():
    with pytest.raises(TypeError, match="keystoneauth session"):
        i.ImageManager()


# --- list_for_server -------------------------------------------------------


def test_list_for_server_follows_every_next_link(images, mock):
    mock.get(
        LIST_URL,
        json={
            "images": [glance_image(IMG3, 3), glance_image(IMG2, 2)],
            "next": f"/v2/images?instance_uuid={SERVER_ID}&marker={IMG2}",
        },
    )
    # An empty page that still links on.
    mock.get(
        f"{LIST_URL}&marker={IMG2}",
        json={
            "images": [],
            "next": f"/v2/images?instance_uuid={SERVER_ID}&marker=zz",
        },
    )
    mock.get(
        f"{LIST_URL}&marker=zz",
        json={"images": [glance_image(IMG1, 1, marked=False)]},
    )
    found = images.list_for_server(SERVER_ID)
    assert [img["id"] for img in found] == [IMG3, IMG2, IMG1]
    assert found[2].get(s.CREATED_BY_KEY) is None  # kept images are listed
    assert image_calls(mock) == [
        ("GET", LIST_PATH),
        ("GET", f"{NEXT_PATH}&marker={IMG2}"),
        ("GET", f"{NEXT_PATH}&marker=zz"),
    ]


def test_list_for_server_asks_for_every_image_not_only_marked(images, mock):
    mock.get(LIST_URL, json={"images": []})
    images.list_for_server(SERVER_ID)
    # No marker filter (kept images are listed too), and the largest page.
    assert mock.last_request.qs == {
        "instance_uuid": [SERVER_ID],
        "limit": ["1000"],
    }


def test_list_next_link_with_a_foreign_host_or_prefix(images, mock):
    mock.get(
        LIST_URL,
        json={
            "images": [glance_image(IMG2, 2)],
            "next": "http://internal:9292/v2/images?instance_uuid="
            f"{SERVER_ID}&marker={IMG2}",
        },
    )
    mock.get(f"{LIST_URL}&marker={IMG2}", json={"images": []})
    assert len(images.list_for_server(SERVER_ID)) == 1
    assert image_calls(mock)[-1] == ("GET", f"{NEXT_PATH}&marker={IMG2}")


def test_list_next_link_back_to_the_same_page_stops(images, mock):
    mock.get(
        LIST_URL,
        json={
            "images": [glance_image(IMG1, 1)],
            "next": LIST_PATH,
        },
    )
    assert len(images.list_for_server(SERVER_ID)) == 1
    assert len(image_calls(mock)) == 1


# --- errors from the image endpoint ----------------------------------------


@pytest.mark.parametrize(
    ("status", "kwargs", "error", "text"),
    [
        (
            404,
            {
                "json": {
                    "code": "404 Not Found",
                    "title": "Not Found",
                    "message": "The resource could not be found.<br /><br />"
                    "\nNo image found with ID x\n\n",
                }
            },
            exceptions.NotFound,
            "No image found with ID x (HTTP 404)",
        ),
        (
            403,
            {
                "text": "<html><head><title>403 Forbidden</title></head>"
                "<body><h1>403 Forbidden</h1>You are not authorized to "
                "complete this action.</body></html>",
                "headers": {"Content-Type": "text/html"},
            },
            exceptions.Forbidden,
            "403 Forbidden 403 Forbidden You are not authorized to complete "
            "this action. (HTTP 403)",
        ),
        (
            401,
            {"text": "", "headers": {}},
            exceptions.Unauthorized,
            "Unauthorized (HTTP 401)",
        ),
        (
            500,
            {"json": {"error": {"message": "Backend gone", "code": 500}}},
            exceptions.ClientException,
            "Backend gone (HTTP 500)",
        ),
        (
            503,
            {"text": "Service Unavailable"},
            exceptions.ClientException,
            "Service Unavailable (HTTP 503)",
        ),
    ],
)
def test_image_api_errors_become_novaclient_errors(
    images, mock, status, kwargs, error, text
):
    mock.get(LIST_URL, status_code=status, **kwargs)
    with pytest.raises(error) as raised:
        images.list_for_server(SERVER_ID)
    assert str(raised.value) == text
    assert raised.value.code == status


def test_over_limit_carries_retry_after(images, mock):
    mock.get(
        LIST_URL,
        status_code=413,
        headers={"Retry-After": "17"},
        json={"message": "Too many requests"},
    )
    with pytest.raises(exceptions.OverLimit) as raised:
        images.list_for_server(SERVER_ID)
    assert raised.value.retry_after == 17


# --- the project's own images, in one scan ---------------------------------

OWNED_PATH = "/v2/images?owner=p1&limit=1000"
MARKED_PATH = (
    OWNED_PATH + "&org.openstack__1__created_by=scheduled_images_service"
)


def test_project_image_pages_asks_for_the_projects_own_images(images, mock):
    mock.get(
        f"{IMAGE}/v2/images",
        json={"images": [glance_image(IMG1, 1, owner="p1")]},
    )
    pages = list(images.project_image_pages())
    assert pages == [[glance_image(IMG1, 1, owner="p1")]]
    assert image_calls(mock) == [("GET", OWNED_PATH)]


def test_project_image_pages_marked_only_filters_on_the_marker(images, mock):
    mock.get(f"{IMAGE}/v2/images", json={"images": []})
    assert list(images.project_image_pages(marked_only=True)) == [[]]
    assert image_calls(mock) == [("GET", MARKED_PATH)]


def test_project_image_pages_never_yields_another_projects_image(images, mock):
    # A cloud that ignores the owner filter still lists public and
    # shared images of other projects: they are dropped here.
    mock.get(
        f"{IMAGE}/v2/images",
        json={
            "images": [
                glance_image(IMG1, 1, owner="p1"),
                glance_image(IMG2, 2, owner="other"),
                glance_image(IMG3, 3),  # no owner shown at all
            ]
        },
    )
    (page,) = images.project_image_pages()
    assert [image["id"] for image in page] == [IMG1]


def test_project_image_pages_reads_a_page_only_when_asked(images, mock):
    mock.get(
        f"{IMAGE}/v2/images",
        json={
            "images": [glance_image(IMG1, 1, owner="p1")],
            "next": "/v2/images?owner=p1&marker=" + IMG1,
        },
    )
    pages = images.project_image_pages(fields=("id", "status"))
    assert next(pages) == [{"id": IMG1, "status": "active"}]
    # The caller stopped after one page: the next was never asked for.
    assert image_calls(mock) == [("GET", OWNED_PATH)]


def test_project_image_pages_follow_every_next_link(images, mock):
    mock.get(
        f"{IMAGE}/v2/images",
        json={
            "images": [glance_image(IMG1, 1, owner="p1")],
            "next": "/v2/images?owner=p1&marker=" + IMG1,
        },
    )
    mock.get(
        f"{IMAGE}/v2/images?owner=p1&marker={IMG1}",
        json={"images": [glance_image(IMG2, 2, owner="p1")]},
    )
    pages = list(images.project_image_pages())
    assert [[image["id"] for image in page] for page in pages] == [
        [IMG1],
        [IMG2],
    ]
    assert image_calls(mock)[-1] == (
        "GET",
        f"/v2/images?owner=p1&marker={IMG1}",
    )


def test_project_image_pages_without_a_project_sends_nothing(client, mock):
    # A token scoped to no project cannot tell own images from others'.
    manager = i.ImageManager(client, endpoint_override=IMAGE)
    with pytest.raises(i.NoProjectError, match="not scoped to a project"):
        next(manager.project_image_pages())
    assert image_calls(mock) == []

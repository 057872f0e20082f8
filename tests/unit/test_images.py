"""The Python API for scheduled images and for every schedule at once.

``ImageManager`` against a mocked Image API (reached through a
real Keystone v3 catalog, as the nova shell reaches it), and
``ScheduleManager.list_schedules`` against a mocked Nova.
"""

from __future__ import annotations

import threading
import time
from urllib import parse

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from novaclient import client as nova_client
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import images as i
from rax_scheduled_images_python_novaclient_ext import manager as m
from rax_scheduled_images_python_novaclient_ext import schedule as s

from .conftest import (
    AUTH_URL,
    COMPUTE,
    IMAGE,
    PASSWORD,
    PATCH_ADD,
    PATCH_REMOVE,
    SERVER_ID,
    TOKEN,
    glance_image,
    register_cloud,
)

IMG1 = "11111111-aaaa-4aaa-8aaa-000000000001"
IMG2 = "22222222-aaaa-4aaa-8aaa-000000000002"
IMG3 = "33333333-aaaa-4aaa-8aaa-000000000003"
LIST_URL = f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}"
# The first page asks for Glance's largest page; the next links are the
# ones the mocked Image API gives.
LIST_PATH = f"/v2/images?instance_uuid={SERVER_ID}&limit=1000"
NEXT_PATH = f"/v2/images?instance_uuid={SERVER_ID}"


def calls(mock, host=None):
    """(method, path?query) of each request, as sent (case kept)."""
    out = []
    for req in mock.request_history:
        url = parse.urlsplit(req.url)
        if host is None or url.netloc == host:
            out.append(
                (req.method, url.path + (f"?{url.query}" if url.query else ""))
            )
    return out


def image_calls(mock):
    """(method, path) of the requests sent to the Image API."""
    return calls(mock, "image.test")


def nova_on_catalog(mock, image_endpoint=IMAGE, with_image=True):
    """A nova client on a Keystone v3 session with a service catalog."""
    if image_endpoint == IMAGE and with_image:
        register_cloud(mock)
    else:
        mock.get(AUTH_URL, json=ks_fixture.V3Discovery(AUTH_URL))
        token = ks_fixture.V3Token(project_id="p1", project_name="demo")
        token.add_service("compute").add_standard_endpoints(public=COMPUTE)
        if with_image:
            token.add_service("image").add_standard_endpoints(
                public=image_endpoint
            )
        mock.post(
            AUTH_URL + "/auth/tokens",
            json=token,
            headers={"X-Subject-Token": TOKEN},
            status_code=201,
        )
    auth = v3.Password(
        auth_url=AUTH_URL,
        username="demo",
        password=PASSWORD,
        project_name="demo",
        user_domain_id="default",
        project_domain_id="default",
    )
    return nova_client.Client("2.0", session=ks_session.Session(auth=auth))


@pytest.fixture
def images(mock):
    return i.ImageManager(nova_on_catalog(mock))


@pytest.fixture(autouse=True)
def _no_alias_env(monkeypatch):
    monkeypatch.delenv(m.ALIAS_ENV, raising=False)


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
    sess = ks_session.Session(
        auth=v3.Password(
            auth_url=AUTH_URL,
            username="demo",
            password=PASSWORD,
            project_name="demo",
            user_domain_id="default",
            project_domain_id="default",
        )
    )
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


# --- list_schedules --------------------------------------------------------

SERVERS = f"{COMPUTE}/servers/detail"
WEB1 = "11111111-1111-4111-8111-111111111111"
WEB2 = "22222222-2222-4222-8222-222222222222"
WEB3 = "33333333-3333-4333-8333-333333333333"
OS_ATTR = "OS-SI:image_schedule"
RAX_ATTR = "RAX-SI:image_schedule"


def server(id_, name, attr=None, sched=None):
    body = {"id": id_, "name": name, "status": "ACTIVE", "links": []}
    if attr is not None:
        body[attr] = sched
    return body


def page(servers, next_query=None, host=COMPUTE):
    body = {"servers": servers}
    if next_query is not None:
        body["servers_links"] = [
            {"rel": "next", "href": f"{host}/servers/detail?{next_query}"}
        ]
    return body


def compute_calls(mock):
    return calls(mock, "compute.test")


def test_list_schedules_follows_short_and_empty_pages(client, mock):
    f = "OS-SI:image_schedule=True"
    mock.get(
        f"{SERVERS}?{f}",
        json=page(
            [server(WEB1, "web1", OS_ATTR, {"retention": 7})],
            f"{f}&marker={WEB1}",
        ),
    )
    mock.get(
        f"{SERVERS}?{f}&marker={WEB1}",
        json=page([], f"{f}&marker=m2"),
    )
    mock.get(
        f"{SERVERS}?{f}&marker=m2",
        json=page(
            [
                server(
                    WEB3,
                    "web3",
                    OS_ATTR,
                    {"retention": 4, "day_of_week": "SATURDAY"},
                )
            ]
        ),
    )
    rows = m.ScheduleManager(client).list_schedules()
    assert rows == [
        s.ServerSchedule(WEB1, "web1", s.Schedule(7)),
        s.ServerSchedule(WEB3, "web3", s.Schedule(4, "SATURDAY")),
    ]
    assert rows.used_fallback is False
    assert compute_calls(mock) == [
        ("GET", "/v2/p1/servers/detail?OS-SI:image_schedule=True"),
        (
            "GET",
            f"/v2/p1/servers/detail?OS-SI:image_schedule=True&marker={WEB1}",
        ),
        ("GET", "/v2/p1/servers/detail?OS-SI:image_schedule=True&marker=m2"),
    ]


def test_list_schedules_next_link_on_another_host(client, mock):
    f = "OS-SI:image_schedule=True"
    mock.get(
        f"{SERVERS}?{f}",
        json=page([], f"{f}&marker=m", host="http://nova-internal:8774/v2/p1"),
    )
    mock.get(
        f"{SERVERS}?{f}&marker=m",
        json=page([server(WEB1, "web1", OS_ATTR, {"retention": 2})]),
    )
    rows = m.ScheduleManager(client).list_schedules()
    assert [r.server_id for r in rows] == [WEB1]


def test_list_schedules_none(client, mock):
    mock.get(f"{SERVERS}?OS-SI:image_schedule=True", json={"servers": []})
    rows = m.ScheduleManager(client).list_schedules()
    assert (rows, rows.used_fallback) == ([], False)
    assert len(compute_calls(mock)) == 1


def test_list_schedules_all_servers_is_one_unfiltered_listing(client, mock):
    mock.get(
        SERVERS,
        json=page(
            [
                server(WEB1, "web1", OS_ATTR, {"retention": 7}),
                server(WEB2, "web2"),
                server(WEB3, "web3", OS_ATTR, None),
            ]
        ),
    )
    rows = m.ScheduleManager(client).list_schedules(all_servers=True)
    assert rows == [
        s.ServerSchedule(WEB1, "web1", s.Schedule(7)),
        s.ServerSchedule(WEB2, "web2", None),
        s.ServerSchedule(WEB3, "web3", None),
    ]
    assert compute_calls(mock) == [("GET", "/v2/p1/servers/detail")]


def test_list_schedules_learns_the_rackspace_alias(client, mock):
    # The default filter is unknown there, so it is ignored: every server
    # comes back, and the RAX-SI attribute tells which have a schedule.
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page(
            [
                server(WEB1, "web1", RAX_ATTR, {"retention": 3}),
                server(WEB2, "web2"),
            ]
        ),
    )
    manager = m.ScheduleManager(client)
    rows = manager.list_schedules()
    assert rows == [s.ServerSchedule(WEB1, "web1", s.Schedule(3))]
    assert manager.alias == m.RACKSPACE_ALIAS
    assert len(compute_calls(mock)) == 1


def test_list_schedules_pinned_rackspace_alias(client, mock, monkeypatch):
    monkeypatch.setenv(m.ALIAS_ENV, m.RACKSPACE_ALIAS)
    mock.get(
        f"{SERVERS}?RAX-SI:image_schedule=True",
        json=page([server(WEB1, "web1", RAX_ATTR, {"retention": 3})]),
    )
    rows = m.ScheduleManager(client).list_schedules()
    assert [r.server_id for r in rows] == [WEB1]
    assert compute_calls(mock) == [
        ("GET", "/v2/p1/servers/detail?RAX-SI:image_schedule=True")
    ]


def test_list_schedules_pinned_alias_ignores_the_other_attribute(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(WEB1, "web1", RAX_ATTR, {"retention": 3})]),
    )
    mock.get(
        f"{COMPUTE}/servers/{WEB1}/os-si-image-schedule",
        json={"image_schedule": {"retention": 9}},
    )
    rows = m.ScheduleManager(client, alias=m.DEFAULT_ALIAS).list_schedules()
    assert rows == [s.ServerSchedule(WEB1, "web1", s.Schedule(9))]
    assert rows.used_fallback is True


def test_list_schedules_all_servers_checks_the_filter_when_none_shows(
    client, mock
):
    mock.get(SERVERS, json=page([server(WEB1, "web1"), server(WEB2, "web2")]))
    mock.get(f"{SERVERS}?OS-SI:image_schedule=True", json=page([]))
    manager = m.ScheduleManager(client)
    rows = manager.list_schedules(all_servers=True)
    assert rows == [
        s.ServerSchedule(WEB1, "web1", None),
        s.ServerSchedule(WEB2, "web2", None),
    ]
    assert rows.used_fallback is False
    assert len(compute_calls(mock)) == 2


def no_attribute_cloud(mock, scheduled):
    """Nova ignores both filters and shows no attribute; the sub-resource
    answers under the default alias."""
    every = [server(WEB1, "web1"), server(WEB2, "web2"), server(WEB3, "web3")]
    for query in (
        "",
        "?OS-SI:image_schedule=True",
        "?RAX-SI:image_schedule=True",
    ):
        mock.get(f"{SERVERS}{query}", json=page(every))
    for id_ in (WEB1, WEB2, WEB3):
        url = f"{COMPUTE}/servers/{id_}/os-si-image-schedule"
        if id_ in scheduled:
            mock.get(url, json={"image_schedule": scheduled[id_]})
        else:
            mock.get(
                url,
                status_code=404,
                json={
                    "itemNotFound": {
                        "message": "Image schedule does not exist for "
                        f"server {id_}",
                        "code": 404,
                    }
                },
            )


def test_list_schedules_falls_back_to_one_get_per_server(client, mock):
    no_attribute_cloud(mock, {WEB2: {"retention": 5}})
    rows = m.ScheduleManager(client).list_schedules()
    assert rows == [s.ServerSchedule(WEB2, "web2", s.Schedule(5))]
    assert rows.used_fallback is True
    calls = compute_calls(mock)
    assert calls[:2] == [
        ("GET", "/v2/p1/servers/detail?OS-SI:image_schedule=True"),
        ("GET", "/v2/p1/servers/detail?RAX-SI:image_schedule=True"),
    ]
    # The first GET alone (it settles the alias), then the rest.
    assert calls[2] == ("GET", f"/v2/p1/servers/{WEB1}/os-si-image-schedule")
    assert sorted(calls[3:]) == [
        ("GET", f"/v2/p1/servers/{WEB2}/os-si-image-schedule"),
        ("GET", f"/v2/p1/servers/{WEB3}/os-si-image-schedule"),
    ]


def test_list_schedules_fallback_with_all_servers(client, mock):
    no_attribute_cloud(mock, {WEB2: {"retention": 5}})
    rows = m.ScheduleManager(client).list_schedules(all_servers=True)
    assert [r.cells() for r in rows] == [
        (WEB1, "web1", None, None, None),
        (WEB2, "web2", "Daily", None, 5),
        (WEB3, "web3", None, None, None),
    ]
    assert rows.used_fallback is True


def test_list_schedules_fallback_runs_at_most_concurrency_at_once(
    client, mock
):
    ids = [f"{n:08d}-1111-4111-8111-111111111111" for n in range(10)]
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(id_, f"s{n}") for n, id_ in enumerate(ids)]),
    )
    running, peak, lock = [0], [0], threading.Lock()
    manager = m.ScheduleManager(client, alias=m.DEFAULT_ALIAS)

    # requests-mock answers one request at a time (a global lock), so
    # the overlap is measured on the schedule GET itself.
    def slow_get(server_id, confirm=True):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return m.ImageSchedule(manager, {"retention": 1}, loaded=True)

    manager.get = slow_get
    rows = manager.list_schedules(concurrency=3)
    assert [r.server_id for r in rows] == ids  # in the listing's order
    assert peak[0] == 3


def test_list_schedules_fallback_skips_a_server_deleted_meanwhile(
    client, mock
):
    no_attribute_cloud(mock, {WEB1: {"retention": 2}})
    generic = {"itemNotFound": {"message": "The resource could not be found."}}
    for alias in m.ALIASES:
        mock.get(
            f"{COMPUTE}/servers/{WEB3}/{alias}", status_code=404, json=generic
        )
    rows = m.ScheduleManager(client).list_schedules(all_servers=True)
    assert [r.server_id for r in rows] == [WEB1, WEB2]


def test_list_schedules_fallback_when_no_alias_is_served(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(WEB1, "web1")]),
    )
    mock.get(
        f"{SERVERS}?RAX-SI:image_schedule=True",
        json=page([server(WEB1, "web1")]),
    )
    generic = {"itemNotFound": {"message": "The resource could not be found."}}
    for alias in m.ALIASES:
        mock.get(
            f"{COMPUTE}/servers/{WEB1}/{alias}", status_code=404, json=generic
        )
    with pytest.raises(exceptions.NotFound, match="could not be found"):
        m.ScheduleManager(client).list_schedules()


def test_list_schedules_listing_error(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        status_code=403,
        json={"forbidden": {"message": "Policy forbids it", "code": 403}},
    )
    with pytest.raises(exceptions.Forbidden, match="Policy forbids it"):
        m.ScheduleManager(client).list_schedules()


def test_list_schedules_malformed_attribute(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(WEB1, "web1", OS_ATTR, {"retention": "seven"})]),
    )
    with pytest.raises(s.MalformedResponseError, match="retention"):
        m.ScheduleManager(client).list_schedules()


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

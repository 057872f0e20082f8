"""The sandbox as an attack surface: loopback, tokens, projects, fuzzing.

Every API route needs a token; a token of one project can read or change
nothing of another (the table below lists every route); a body is
capped; and whatever bytes arrive, the server answers with a status line
and keeps serving. Loopback only, bounded example counts.
"""

from __future__ import annotations

import socket
import string

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import (
    ALT_APP,
    ALT_PROJECT,
    DEMO_PROJECT,
    MARK,
    MYSERVER,
    Client,
)

ALIAS = "os-si-image-schedule"
SCHEDULE_BODY = {"image_schedule": {"retention": 1}}
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
REMOVE_MARK = [{"op": "remove", "path": f"/{MARK}"}]


def test_loopback_by_default() -> None:
    with Sandbox() as cloud:
        assert cloud.host == "127.0.0.1"
        assert cloud.url.startswith("http://127.0.0.1:")


def _alt_image(cloud: Sandbox) -> str:
    with cloud.lock:
        return next(
            i.id
            for i in cloud.state.images.values()
            if i.owner == ALT_PROJECT and MARK in i.properties
        )


# (method, path template, body, the status a demo token gets)
# {alt}: alt's project id; {app}: alt's server; {img}: alt's image.
ROUTES = [
    ("GET", "/compute/v2/{alt}", None, 403),
    ("GET", "/compute/v2/{alt}/servers", None, 403),
    ("GET", "/compute/v2/{alt}/servers/detail", None, 403),
    ("GET", "/compute/v2/{alt}/servers/{app}", None, 403),
    ("GET", "/compute/v2/{alt}/servers/{app}/" + ALIAS, None, 403),
    ("POST", "/compute/v2/{alt}/servers/{app}/" + ALIAS, SCHEDULE_BODY, 403),
    ("DELETE", "/compute/v2/{alt}/servers/{app}/" + ALIAS, None, 403),
    ("GET", "/compute/v2/{alt}/extensions", None, 403),
    ("GET", "/compute/v2/{alt}/flavors", None, 403),
    ("GET", "/compute/v2/{demo}/servers/{app}", None, 404),
    ("GET", "/compute/v2/{demo}/servers/{app}/" + ALIAS, None, 404),
    ("POST", "/compute/v2/{demo}/servers/{app}/" + ALIAS, SCHEDULE_BODY, 404),
    ("DELETE", "/compute/v2/{demo}/servers/{app}/" + ALIAS, None, 404),
    ("GET", "/image/v2/images/{img}", None, 404),
    ("PATCH", "/image/v2/images/{img}", REMOVE_MARK, 404),
    ("DELETE", "/image/v2/images/{img}", None, 404),
]


def _snapshot(cloud: Sandbox) -> tuple:
    with cloud.lock:
        servers = {
            s.id: s.schedule
            for s in cloud.state.servers.values()
            if s.project_id == ALT_PROJECT
        }
        images = {
            i.id: dict(i.properties)
            for i in cloud.state.images.values()
            if i.owner == ALT_PROJECT
        }
    return servers, images


@pytest.mark.parametrize(
    ("method", "template", "body", "status"),
    ROUTES,
    ids=[f"{m} {t}" for m, t, _, _ in ROUTES],
)
def test_a_project_reaches_nothing_of_another(
    cloud: Sandbox, method: str, template: str, body, status: int
) -> None:
    demo = Client(cloud, "demo")
    before = _snapshot(cloud)
    path = template.format(
        alt=ALT_PROJECT, demo=DEMO_PROJECT, app=ALT_APP, img=_alt_image(cloud)
    )
    headers = {"Content-Type": PATCH_TYPE} if method == "PATCH" else {}
    answer = demo.session.request(
        method, cloud.url + path, json=body, headers=headers, timeout=10
    )
    assert answer.status_code == status, answer.text
    assert "alt-app" not in answer.text  # no data of alt's comes back
    assert _snapshot(cloud) == before


def test_lists_show_nothing_of_another_project(cloud: Sandbox) -> None:
    demo = Client(cloud, "demo")
    servers = demo.get(f"{demo.compute}/servers/detail").json()["servers"]
    assert servers and all(s["tenant_id"] == DEMO_PROJECT for s in servers)
    images = demo.images(instance_uuid=ALT_APP)
    assert images == []
    alt_image = _alt_image(cloud)
    assert alt_image not in {i["id"] for i in demo.images()}


API_ROUTES = [
    ("GET", f"/compute/v2/{DEMO_PROJECT}"),
    ("GET", f"/compute/v2/{DEMO_PROJECT}/servers"),
    ("GET", f"/compute/v2/{DEMO_PROJECT}/servers/detail"),
    ("GET", f"/compute/v2/{DEMO_PROJECT}/servers/{MYSERVER}"),
    ("GET", f"/compute/v2/{DEMO_PROJECT}/servers/{MYSERVER}/{ALIAS}"),
    ("POST", f"/compute/v2/{DEMO_PROJECT}/servers/{MYSERVER}/{ALIAS}"),
    ("DELETE", f"/compute/v2/{DEMO_PROJECT}/servers/{MYSERVER}/{ALIAS}"),
    ("GET", f"/compute/v2/{DEMO_PROJECT}/extensions"),
    ("GET", f"/compute/v2/{DEMO_PROJECT}/flavors"),
    ("GET", "/image/v2/images"),
    ("GET", "/image/v2/images/{img}"),
    ("PATCH", "/image/v2/images/{img}"),
    ("DELETE", "/image/v2/images/{img}"),
    ("GET", "/image/v2/schemas/image"),
]


@pytest.mark.parametrize("token", [None, "", "not-a-token", "0" * 32])
def test_every_api_route_needs_a_valid_token(
    cloud: Sandbox, token: str | None
) -> None:
    with cloud.lock:
        demo_image = next(
            i.id
            for i in cloud.state.images.values()
            if i.owner == DEMO_PROJECT
        )
        before = {s.id: s.schedule for s in cloud.state.servers.values()}
    headers = {} if token is None else {"X-Auth-Token": token}
    for method, template in API_ROUTES:
        path = template.format(img=demo_image)
        answer = requests.request(
            method,
            cloud.url + path,
            headers=headers,
            json=SCHEDULE_BODY if method == "POST" else None,
            timeout=10,
        )
        assert answer.status_code == 401, (method, path, answer.text)
    with cloud.lock:
        assert {
            s.id: s.schedule for s in cloud.state.servers.values()
        } == before


def test_body_is_capped() -> None:
    with Sandbox(max_body=1000) as cloud:
        demo = Client(cloud, "demo")
        answer = demo.post(
            demo.schedule_url(MYSERVER),
            data=b'{"image_schedule": {"retention": 1, "x": "'
            + b"a" * 2000
            + b'"}}',
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 413
        with cloud.lock:
            assert cloud.state.servers[MYSERVER].schedule is None


# --- fuzzing the HTTP handling ----------------------------------------------

SEGMENTS = st.sampled_from(
    [
        "compute",
        "image",
        "identity",
        "sandbox",
        "v2",
        "v3",
        DEMO_PROJECT,
        ALT_PROJECT,
        "servers",
        "detail",
        MYSERVER,
        ALIAS,
        "images",
        "auth",
        "tokens",
        "..",
        "%2e%2e",
        "%2F",
        "",
    ]
) | st.text(
    alphabet=string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@?#",
    max_size=12,
)
METHODS = st.sampled_from(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
) | st.text(alphabet=string.ascii_uppercase + "-_", min_size=1, max_size=8)
HEADER_NAMES = st.sampled_from(
    ["X-Auth-Token", "Content-Type", "Accept", "Host", "X-Foo", "Expect"]
)
HEADER_VALUES = st.text(
    alphabet=string.printable.replace("\r", "").replace("\n", ""),
    max_size=40,
)
BODIES = st.binary(max_size=300) | st.sampled_from(
    [b"{}", b"[]", b"null", b'{"image_schedule": {"retention": -1}}']
)


def _exchange(cloud: Sandbox, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", cloud.port), timeout=5) as s:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while len(answer) < 64:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def fuzz_cloud():
    with Sandbox(request_timeout=2) as cloud:
        yield cloud


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    method=METHODS,
    segments=st.lists(SEGMENTS, max_size=6),
    headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4),
    body=BODIES,
)
def test_fuzzed_requests_always_get_a_status_line(
    fuzz_cloud: Sandbox, method, segments, headers, body
) -> None:
    path = "/" + "/".join(segments)
    lines = [f"{method} {path} HTTP/1.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers if name != "Host"]
    lines.append(f"Host: 127.0.0.1:{fuzz_cloud.port}")
    lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    answer = _exchange(fuzz_cloud, raw + body)
    assert answer.startswith(b"HTTP/1."), (raw, answer)
    status = int(answer.split(b" ", 2)[1])
    assert 100 <= status < 600
    assert status != 500, (raw, answer)


def test_still_serving_after_fuzzing(fuzz_cloud: Sandbox) -> None:
    demo = Client(fuzz_cloud, "demo")
    answer = demo.get(demo.schedule_url(MYSERVER))
    assert answer.status_code in (200, 404)
    assert demo.get(f"{demo.compute}/servers").status_code == 200

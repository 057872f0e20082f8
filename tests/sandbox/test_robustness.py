"""Bad input of every kind gets a 4xx fault; the server keeps serving."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox, handler

from .conftest import MYSERVER, Client, fault


def raw(cloud: Sandbox, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes as they are; return all the server answers."""
    with socket.create_connection(("127.0.0.1", cloud.port), timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def still_serving(cloud: Sandbox) -> None:
    assert requests.get(f"{cloud.url}/identity", timeout=5).status_code == 300


@pytest.mark.parametrize(
    "path",
    [
        "/nowhere",
        "/compute/v3",
        "/image/v1/images",
        "/identity/v4",
        "/sandbox/nothing",
    ],
)
def test_unknown_paths_are_generic_404(cloud: Sandbox, path: str) -> None:
    answer = requests.get(cloud.url + path)
    assert fault(answer)[:2] == (404, "itemNotFound")


def test_unknown_compute_path_is_404(demo: Client) -> None:
    answer = demo.get(f"{demo.compute}/os-keypairs")
    assert fault(answer) == (
        404,
        "itemNotFound",
        "The resource could not be found.",
    )


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("DELETE", "/servers"),
        ("POST", f"/servers/{MYSERVER}"),
        ("PUT", "/servers/detail"),
        ("PATCH", "/extensions"),
    ],
)
def test_wrong_method_is_405(demo: Client, method: str, suffix: str) -> None:
    answer = demo.session.request(method, demo.compute + suffix)
    assert fault(answer)[:2] == (405, "badMethod")
    assert "Allow" in answer.headers


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{'single': 'quotes'}", b"\xff\xfe", b"   ", b""],
)
def test_unparsable_bodies_are_400(demo: Client, body: bytes) -> None:
    answer = demo.post(
        demo.schedule_url(MYSERVER),
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert fault(answer) == (400, "badRequest", "Malformed request body")


@pytest.mark.parametrize(
    "body", [[], "text", 3, None, {"image_schedule": [1]}]
)
def test_wrong_shapes_are_400(demo: Client, body: Any) -> None:
    answer = demo.post(demo.schedule_url(MYSERVER), json=body)
    assert fault(answer)[:2] == (400, "badRequest")


def test_oversize_body_is_413_without_reading_it() -> None:
    with Sandbox(max_body=1000) as cloud:
        client = Client(cloud, "demo")
        answer = client.post(
            client.schedule_url(MYSERVER), data=b"{" + b" " * 5000 + b"}"
        )
        assert fault(answer)[:2] == (413, "overLimit")
        still_serving(cloud)


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3", b""])
def test_bad_content_length_is_400(cloud: Sandbox, length: bytes) -> None:
    answer = raw(
        cloud,
        b"POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: " + length + b"\r\n\r\n{}",
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"badRequest"' in answer
    still_serving(cloud)


def test_chunked_body_is_411(cloud: Sandbox) -> None:
    answer = raw(
        cloud,
        b"POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 411 ")


def test_short_body_times_out_with_400() -> None:
    with Sandbox(request_timeout=0.3) as cloud:
        answer = raw(
            cloud,
            b"POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100\r\n\r\n{",
        )
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert b"incomplete" in answer
        still_serving(cloud)


def test_silent_client_is_disconnected() -> None:
    with Sandbox(request_timeout=0.3) as cloud:
        assert raw(cloud, b"GET /ident", timeout=3) == b""
        still_serving(cloud)


@pytest.mark.parametrize(
    "line", [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"BREW /pot HTTP/1.1\r\n\r\n"]
)
def test_bad_request_lines_get_json_faults(
    cloud: Sandbox, line: bytes
) -> None:
    answer = raw(cloud, line)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 600
    assert answer.rstrip().endswith(b"}")
    still_serving(cloud)


def test_encoded_slash_stays_one_id(demo: Client) -> None:
    answer = demo.get(f"{demo.compute}/servers/{MYSERVER}%2Fdetail")
    assert fault(answer) == (
        404,
        "itemNotFound",
        f"Instance {MYSERVER}/detail could not be found.",
    )
    nested = demo.get(
        f"{demo.compute}/servers/{MYSERVER}%2Fos-si-image-schedule"
    )
    assert fault(nested)[0] == 404


def test_handler_exception_is_500_and_server_lives_on(
    cloud: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(cloud, "demo")

    def explode(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(handler.API_ROUTES, "compute", explode)
    answer = client.get(f"{client.compute}/servers")
    assert fault(answer) == (
        500,
        "computeFault",
        "The server has either erred or is incapable of performing the "
        "requested operation.",
    )
    monkeypatch.undo()
    assert client.get(f"{client.compute}/servers").status_code == 200


def test_admin_is_loopback_only_and_unauthenticated(cloud: Sandbox) -> None:
    answer = requests.get(f"{cloud.url}/sandbox")
    assert answer.status_code == 200
    assert answer.json()["alias"] == "os-si-image-schedule"
    assert answer.json()["counts"]["servers"] == 6

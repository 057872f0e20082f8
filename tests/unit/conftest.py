"""Fixtures shared by the requests-mock tests.

Nothing here talks to a network: requests-mock answers every request,
and an unregistered URL fails the test (``NoMockAddress``).
"""

from __future__ import annotations

import datetime
import io
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib import parse

import pytest
import requests_mock as rm
from hypothesis import settings
from hypothesis import strategies as st
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from keystoneauth1.identity import v3
from novaclient import client as nova_client

from rax_scheduled_images_python_novaclient_ext import schedule as domain

AUTH_URL = "http://identity.test/v3"
COMPUTE = "http://compute.test/v2/p1"
IMAGE = "http://image.test"
SERVER_ID = "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6"
TOKEN = "tok-3c1f9b"
PASSWORD = "s3cr3t-pa55"
# One server's schedule and the server itself, in Nova.
SCHED_URL = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
SCHED_PATH = f"/v2/p1/servers/{SERVER_ID}/os-si-image-schedule"
SERVER_URL = f"{COMPUTE}/servers/{SERVER_ID}"
SERVER_PATH = f"/v2/p1/servers/{SERVER_ID}"
# Every server, and three more of them.
SERVERS = f"{COMPUTE}/servers/detail"
WEB1 = "11111111-1111-4111-8111-111111111111"
WEB2 = "22222222-2222-4222-8222-222222222222"
WEB3 = "33333333-3333-4333-8333-333333333333"
# Images of SERVER_ID; listing them: the first page asks for Glance's
# largest page, the next links are the ones the mocked Image API gives.
IMG1 = "11111111-aaaa-4aaa-8aaa-000000000001"
IMG2 = "22222222-aaaa-4aaa-8aaa-000000000002"
IMG3 = "33333333-aaaa-4aaa-8aaa-000000000003"
IMG4 = "44444444-aaaa-4aaa-8aaa-000000000004"
LIST_URL = f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}"
LIST_PATH = f"/v2/images?instance_uuid={SERVER_ID}&limit=1000"
NEXT_PATH = f"/v2/images?instance_uuid={SERVER_ID}"


@pytest.fixture(autouse=True)
def sigint_as_python_starts_it() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, as in a shell's foreground job.

    Under ``nohup`` (or ``&``) a process starts with SIGINT ignored, and
    the Ctrl-C tests would prove nothing, or fail: each test gets the
    handler they rely on, and the one it found is put back.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def not_found(message: str) -> dict[str, Any]:
    """Nova's 404 body."""
    return {"itemNotFound": {"message": message, "code": 404}}


def no_schedule_404(server_id: str) -> dict[str, Any]:
    """The extension's 404 for a server without a schedule."""
    return not_found(f"Image schedule does not exist for server {server_id}")


GENERIC_404 = not_found("The resource could not be found.")
NO_SCHEDULE_404 = no_schedule_404(SERVER_ID)


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries happen as in production, but their pauses are recorded,
    not slept, so a test of a 503 costs no time."""
    from rax_scheduled_images_python_novaclient_ext import retry

    slept: list[float] = []
    monkeypatch.setattr(retry, "pause", slept.append)
    return slept


@pytest.fixture
def mock() -> Iterator[rm.Mocker]:
    with rm.Mocker() as m:
        yield m


@pytest.fixture
def client(mock: rm.Mocker) -> Any:
    """A novaclient v2 Client on a fixed endpoint, with our extension."""
    auth = token_endpoint.Token(COMPUTE, TOKEN)
    sess = ks_session.Session(auth=auth)
    return nova_client.Client(
        "2.0", session=sess, extensions=nova_client.discover_extensions("2.0")
    )


def sent(mock: rm.Mocker) -> list[tuple[str, str]]:
    """(method, path with query) of every request, in order."""
    out = []
    for req in mock.request_history:
        path = req.path + (("?" + req.query) if req.query else "")
        out.append((req.method, path))
    return out


def register_keystone(
    mock: rm.Mocker, image_endpoint: str = IMAGE, with_image: bool = True
) -> None:
    """Keystone v3 whose catalog has compute and (``with_image``) image."""
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


def register_cloud(mock: rm.Mocker) -> None:
    """Keystone v3 with a catalog, and the legacy compute version doc."""
    register_keystone(mock)
    mock.get(
        COMPUTE,
        json={
            "version": {
                "id": "v2.0",
                "status": "SUPPORTED",
                "version": "",
                "min_version": "",
                "links": [],
            }
        },
    )


def calls(mock: rm.Mocker, host: str | None = None) -> list[tuple[str, str]]:
    """(method, path?query) of each request, as sent (case kept)."""
    out = []
    for req in mock.request_history:
        url = parse.urlsplit(req.url)
        if host is None or url.netloc == host:
            out.append(
                (req.method, url.path + (f"?{url.query}" if url.query else ""))
            )
    return out


def cloud_calls(mock: rm.Mocker) -> list[tuple[str, str]]:
    """(method, path?query) sent to Nova and the Image API, case kept,
    without the compute version document."""
    out = []
    for req in mock.request_history:
        url = parse.urlsplit(req.url)
        if url.netloc in ("compute.test", "image.test") and url.path not in (
            "/v2/p1",
        ):
            query = f"?{url.query}" if url.query else ""
            out.append((req.method, url.path + query))
    return out


def image_calls(mock: rm.Mocker) -> list[tuple[str, str]]:
    """(method, path) of the requests sent to the Image API."""
    return calls(mock, "image.test")


def nova_on_catalog(
    mock: rm.Mocker, image_endpoint: str = IMAGE, with_image: bool = True
) -> Any:
    """A nova client on a Keystone v3 session with a service catalog."""
    if image_endpoint == IMAGE and with_image:
        register_cloud(mock)
    else:
        register_keystone(mock, image_endpoint, with_image)
    return nova_client.Client("2.0", session=password_session())


def password_session() -> ks_session.Session:
    """A Keystone v3 password session for demo, as the nova shell makes."""
    auth = v3.Password(
        auth_url=AUTH_URL,
        username="demo",
        password=PASSWORD,
        project_name="demo",
        user_domain_id="default",
        project_domain_id="default",
    )
    return ks_session.Session(auth=auth)


@pytest.fixture
def images(mock: rm.Mocker) -> Any:
    """An ImageManager whose Image API endpoint comes from the catalog."""
    from rax_scheduled_images_python_novaclient_ext import images as i

    return i.ImageManager(nova_on_catalog(mock))


@pytest.fixture
def no_alias_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No alias pinned by the environment of whoever runs the tests."""
    from rax_scheduled_images_python_novaclient_ext import manager as m

    monkeypatch.delenv(m.ALIAS_ENV, raising=False)


class Result:
    """What a user sees from one in-process ``nova`` or ``openstack`` run."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    @property
    def error_lines(self) -> list[str]:
        """stderr without noise that is not ours: nova's deprecation
        notice, and other packages' plugins that fail to load."""
        return [
            line
            for line in self.err.splitlines()
            if line
            and "nova CLI is deprecated" not in line
            and not line.startswith("Could not load ")
        ]


# The JSON patches that keep and release send (Image API v2).
MARKER_PATH = "/org.openstack__1__created_by"
# keep also records, in the same PATCH, that the service made the image.
PATCH_REMOVE = [
    {"op": "remove", "path": MARKER_PATH},
    {
        "op": "add",
        "path": "/scheduled_images_kept",
        "value": "scheduled_images_service",
    },
]
PATCH_ADD = [
    {"op": "add", "path": MARKER_PATH, "value": "scheduled_images_service"}
]


def glance_image(
    id_: str,
    day: int,
    *,
    marked: bool = True,
    server: str | None = SERVER_ID,
    name: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """An image as the Image API v2 shows it: a snapshot of ``server``
    taken on day ``day`` of the month, by the service when ``marked``."""
    img: dict[str, Any] = {
        "id": id_,
        "name": name or f"Daily-myserver-17{day:02d}",
        "status": "active",
        "created_at": f"2026-11-{day:02d}T03:04:05Z",
        "visibility": "private",
        "self": f"/v2/images/{id_}",
    }
    if owner is not None:
        img["owner"] = owner
    if server is not None:
        img["instance_uuid"] = server
    if marked:
        img["org.openstack__1__created_by"] = "scheduled_images_service"
    return img


@pytest.fixture
def nova(
    mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run the real ``nova`` shell in-process; returns what a user sees."""
    from novaclient import shell

    register_cloud(mock)
    for key in list(__import__("os").environ):
        if key.startswith(("OS_", "NOVA_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OS_AUTH_URL", AUTH_URL)
    monkeypatch.setenv("OS_USERNAME", "demo")
    monkeypatch.setenv("OS_PASSWORD", PASSWORD)
    monkeypatch.setenv("OS_PROJECT_NAME", "demo")
    monkeypatch.setenv("NOVACLIENT_UUID_CACHE_DIR", "/nonexistent/cache")

    def main(argv: list[str]) -> int:
        shell.main(argv)  # returns nothing: an error is a SystemExit
        return 0

    def run(*argv: str, stdout: Any = None, stderr: Any = None) -> Result:
        return run_captured(monkeypatch, main, argv, stdout, stderr)

    return run


def run_captured(
    monkeypatch: pytest.MonkeyPatch,
    main: Callable[[list[str]], int],
    argv: tuple[str, ...],
    stdout: Any = None,
    stderr: Any = None,
) -> Result:
    """Run a shell's ``main`` with stdout and stderr captured (in
    StringIOs unless given), its SystemExit turned into an exit code."""
    out = io.StringIO() if stdout is None else stdout
    err = io.StringIO() if stderr is None else stderr
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        monkeypatch.setattr(sys, "stdout", sys.__stdout__)
        monkeypatch.setattr(sys, "stderr", sys.__stderr__)
    return Result(code, written(out), written(err))


def ascii_stream() -> io.TextIOWrapper:
    """A stream like stdout under ``PYTHONIOENCODING=ascii``: strict."""
    return io.TextIOWrapper(io.BytesIO(), encoding="ascii")


def written(stream: Any) -> str:
    """The text written to a StringIO, or to a stream over bytes."""
    if isinstance(stream, io.TextIOWrapper):
        stream.flush()
        data: bytes = stream.buffer.getvalue()  # type: ignore[attr-defined]
        return data.decode(stream.encoding)
    text: str = stream.getvalue()
    return text


def register_unknown_server(
    mock: rm.Mocker, server_id: str, served: str = "os-si-image-schedule"
) -> None:
    """Nova knows no server ``server_id`` (or it is another project's),
    on a cloud serving the alias ``served``, answering as api.md says:
    the extension's GET and DELETE do not look the server up, so they
    answer as for a server without a schedule (the original extension's
    404; Rackspace's DELETE 202); POST checks it; the alias not served
    is Nova's generic 404; reading the server and searching its name
    find nothing."""
    for alias in ("os-si-image-schedule", "rax-si-image-schedule"):
        url = f"{COMPUTE}/servers/{server_id}/{alias}"
        if alias != served:
            for method in ("GET", "POST", "DELETE"):
                mock.register_uri(
                    method, url, status_code=404, json=GENERIC_404
                )
            continue
        mock.get(url, status_code=404, json=no_schedule_404(server_id))
        if alias == "rax-si-image-schedule":
            mock.delete(url, status_code=202)
        else:
            mock.delete(url, status_code=404, json=no_schedule_404(server_id))
        mock.post(
            url,
            status_code=404,
            json=not_found(
                f"Specified instance {server_id} could not be found."
            ),
        )
    mock.get(
        f"{COMPUTE}/servers/{server_id}",
        status_code=404,
        json=not_found(f"Instance {server_id} could not be found."),
    )
    mock.get(f"{COMPUTE}/servers?name={server_id}", json={"servers": []})


def server(id_: str, name: str) -> dict[str, Any]:
    """A server as Nova's listing and show give it (the fields we read)."""
    return {"id": id_, "name": name, "status": "ACTIVE", "links": []}


def register_myserver(mock: rm.Mocker) -> None:
    """``myserver`` (SERVER_ID) found by UUID and by name.

    novaclient finds a name with a short list filtered by name, then
    reads each match in full: two requests.
    """
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}",
        json={"server": server(SERVER_ID, "myserver")},
    )
    mock.get(
        f"{COMPUTE}/servers?name=myserver",
        json={"servers": [server(SERVER_ID, "myserver")]},
    )


UNKNOWN = "99999999-9999-4999-8999-999999999999"
UNKNOWN_PATH = f"/v2/p1/servers/{UNKNOWN}"
STRAY_IMAGE = "eeeeeeee-0000-4000-8000-000000000001"


def probe(method: str, served: str) -> list[tuple[str, str]]:
    """The sub-resource requests of a process that does not know the
    alias yet: the default first, then the one ``served``."""
    first = [(method, f"{UNKNOWN_PATH}/os-si-image-schedule")]
    if served == "os-si-image-schedule":
        return first
    return [*first, (method, f"{UNKNOWN_PATH}/rax-si-image-schedule")]


def register_unknown_server_and_stray_image(
    mock: rm.Mocker, served: str
) -> None:
    """Nova knows no server UNKNOWN (see register_unknown_server), and
    the Image API has STRAY_IMAGE, an unmarked snapshot of it."""
    register_unknown_server(mock, UNKNOWN, served)
    mock.get(
        f"{IMAGE}/v2/images/{STRAY_IMAGE}",
        json=glance_image(STRAY_IMAGE, 2, marked=False, server=UNKNOWN),
    )


def api_calls(mock: rm.Mocker) -> list[tuple[str, str]]:
    """The requests sent to compute and image, without auth/discovery."""
    return [
        (method, path)
        for method, path in sent(mock)
        if not path.startswith("/v3") and path not in ("/v2/p1",)
    ]


# --- health: images of one server at a fixed time (test_health, test_check)

NOW = datetime.datetime(2025, 1, 10, 12, 0, tzinfo=datetime.timezone.utc)
SERVER = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
DAILY = domain.Schedule(3)
WEEKLY = domain.Schedule(2, "SUNDAY")
GIB = 1024**3
FAST = settings(max_examples=150, deadline=None)


def stamp(age: datetime.timedelta) -> str:
    return (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ")


def image(
    age: datetime.timedelta = datetime.timedelta(hours=3),
    *,
    status: str = "active",
    marked: bool = True,
    server: str = SERVER,
    size: Any = GIB,
    image_id: str = "i-1",
    created: str | None = None,
) -> dict[str, Any]:
    made: dict[str, Any] = {
        "id": image_id,
        "name": f"Daily-db-{image_id}",
        "status": status,
        "created_at": created if created is not None else stamp(age),
        "instance_uuid": server,
        "size": size,
    }
    if marked:
        made[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
    return made


def hours(value: float) -> datetime.timedelta:
    return datetime.timedelta(hours=value)


ages = st.integers(min_value=-3600, max_value=40 * 86400).map(
    lambda s: datetime.timedelta(seconds=s)
)
schedules = st.sampled_from([DAILY, WEEKLY])

"""restorer.py: the restore and the restore test, against a mocked cloud
with server lifecycles (restore_cloud.Cloud)."""

from __future__ import annotations

import datetime
import socket
import threading

import pytest

from rax_scheduled_images_python_novaclient_ext import restore as decide
from rax_scheduled_images_python_novaclient_ext import restore_test as rt
from rax_scheduled_images_python_novaclient_ext import restorer, servers
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.images import ImageManager

from .conftest import nova_on_catalog
from .restore_cloud import NEW, OTHER, WEB, Cloud, nova_server

NOW = datetime.datetime(2026, 11, 4, 15, 30, tzinfo=datetime.timezone.utc)
TAG = {decide.TEST_TAG_KEY: decide.TEST_TAG_VALUE}


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(servers, "FIRST_POLL", 0.001)
    monkeypatch.setattr(servers, "POLL_SECONDS", 0.001)


@pytest.fixture
def cloud(mock):
    return Cloud(mock)


@pytest.fixture
def api(mock, cloud):
    nova = nova_on_catalog(mock)
    return restorer.RestoreManager(nova, ImageManager(nova))


def reads_and_writes(mock):
    return [
        (r.method, r.path)
        for r in mock.request_history
        if r.hostname in ("compute.test", "image.test") and r.path != "/v2/p1"
    ]


# --- restore -------------------------------------------------------------


def test_plan_sends_three_reads(api, mock):
    made = api.plan(WEB, now=NOW)
    assert made.image.id == NEW
    assert reads_and_writes(mock) == [
        ("GET", f"/v2/p1/servers/{WEB}"),
        ("GET", "/v2/images"),
        ("GET", "/v2/p1/flavors/f20"),
    ]


def test_plan_of_a_server_without_images_is_refused(api, cloud):
    cloud.images.clear()
    with pytest.raises(decide.RestoreRefused, match="no ACTIVE scheduled"):
        api.plan(WEB, now=NOW)


def test_safety_image_is_active_before_the_rebuild(api, cloud, mock):
    seen = {}
    real = cloud._action

    def action(request, context):
        if "rebuild" in request.json():
            seen.update({i: img["status"] for i, img in cloud.images.items()})
            seen["task"] = cloud.servers[WEB]["OS-EXT-STS:task_state"]
        return real(request, context)

    cloud._action = action
    safety, server_id = api.restore(api.plan(WEB, now=NOW), wait=True)
    assert cloud.actions() == ["createImage", "rebuild"]
    assert seen[safety] == "active"
    assert seen["task"] is None
    assert cloud.servers[WEB]["image"]["id"] == NEW
    assert cloud.images[safety]["name"] == "pre-restore-web-20261104T153000Z"
    assert domain.CREATED_BY_KEY not in cloud.images[safety]


def test_a_failed_safety_image_stops_with_nothing_rebuilt(api, cloud):
    cloud.snapshot = "killed"
    with pytest.raises(
        restorer.SafetyImageFailed, match="Nothing was rebuilt"
    ):
        api.restore(api.plan(WEB, now=NOW))
    assert cloud.actions() == ["createImage"]


def test_a_refused_safety_image_stops_with_nothing_rebuilt(api, cloud, mock):
    import re

    from .conftest import COMPUTE

    mock.post(
        re.compile(rf"{COMPUTE}/servers/[^/]+/action$"),
        status_code=409,
        json={"conflictingRequest": {"code": 409, "message": "busy"}},
    )
    with pytest.raises(restorer.SafetyImageFailed, match="busy"):
        api.restore(api.plan(WEB, now=NOW))
    assert cloud.actions() == ["createImage"]


def test_an_inherited_marker_is_removed_from_the_safety_image(api, cloud):
    real = cloud._action

    def action(request, context):
        answer = real(request, context)
        for image in cloud.images.values():
            if "createImage" in request.json() and image["name"].startswith(
                "pre-restore-"
            ):
                image[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
        return answer

    cloud._action = action
    safety, _ = api.restore(api.plan(WEB, now=NOW))
    assert domain.CREATED_BY_KEY not in cloud.images[safety]


def test_no_safety_image_rebuilds_only(api, cloud):
    safety, _ = api.restore(api.plan(WEB, safety_image=False, now=NOW))
    assert safety is None
    assert cloud.actions() == ["rebuild"]


def test_as_new_creates_and_leaves_the_server_alone(api, cloud, mock):
    _, new_id = api.restore(api.plan(WEB, new_name="web2", now=NOW), wait=True)
    assert cloud.servers[new_id]["status"] == "ACTIVE"
    assert cloud.writes() == [("POST", "/v2/p1/servers")]


# --- restore test: the throwaway server goes in every outcome ------------


def boot_test(api, **kwargs):
    return api.test_server(
        {"id": WEB, "name": "web"}, now=NOW, **{"timeout": 30, **kwargs}
    )


def deletes(cloud):
    return [path for method, path in cloud.writes() if method == "DELETE"]


def created_path(cloud, n=1):
    return f"/v2/p1/servers/eeeeeeee-0000-4000-8000-{n:012d}"


def test_pass_then_deleted(api, cloud):
    got = boot_test(api)
    assert (got.result, got.image_id, got.port_open) == (rt.PASSED, NEW, None)
    assert got.boot_seconds is not None
    assert deletes(cloud) == [created_path(cloud)]
    body = [r for r in cloud.mock.request_history if r.method == "POST"][
        -1
    ].json()
    assert body["server"]["name"] == "restore-test-web-20261104T153000Z"
    assert body["server"]["metadata"] == {**TAG, decide.TEST_OF_KEY: WEB}
    assert body["server"]["flavorRef"] == "f20"


def test_error_then_deleted(api, cloud):
    cloud.boot = "ERROR"
    got = boot_test(api)
    assert (got.result, got.reason) == (
        rt.FAILED,
        "boot failed: No valid host was found.",
    )
    assert deletes(cloud) == [created_path(cloud)]


def test_timeout_then_deleted(api, cloud):
    cloud.boot = "BUILD"
    got = boot_test(api, timeout=0.05)
    assert (got.result, got.reason) == (rt.TIMED_OUT, "not ACTIVE after 0 s")
    assert deletes(cloud) == [created_path(cloud)]


def test_closed_port_then_deleted(api, cloud, monkeypatch):
    monkeypatch.setattr(servers, "CONNECT_SECONDS", 0.05)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    got = boot_test(api, port=port, timeout=0.1)
    assert (got.result, got.port_open) == (rt.FAILED, False)
    assert got.reason == f"port {port} never answered"
    assert deletes(cloud) == [created_path(cloud)]


def test_open_port_passes(api, cloud):
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        got = boot_test(api, port=listening.getsockname()[1])
    assert (got.result, got.port_open) == (rt.PASSED, True)
    assert deletes(cloud) == [created_path(cloud)]


def test_exception_then_deleted(api, cloud):
    def boom(request):
        if "eeeeeeee" in request.path:
            raise RuntimeError("connection torn")

    cloud.on_read = boom
    with pytest.raises(RuntimeError):
        boot_test(api)
    assert deletes(cloud) == [created_path(cloud)]


def test_ctrl_c_then_deleted(api, cloud):
    cloud.boot = "BUILD"
    stop = threading.Event()

    def interrupt(request):
        if "eeeeeeee" in request.path:
            stop.set()

    cloud.on_read = interrupt
    got = boot_test(api, stop=stop, timeout=3600)
    assert (got.result, got.reason) == (rt.FAILED, "interrupted")
    assert deletes(cloud) == [created_path(cloud)]


def test_quota_refusal_is_unknown_and_nothing_to_delete(api, cloud):
    cloud.create_status = 403
    cloud.create_error = {
        "forbidden": {"code": 403, "message": "Quota exceeded for instances"}
    }
    got = boot_test(api)
    assert got.unknown and got.reason.startswith("Quota exceeded")
    assert deletes(cloud) == []


def test_no_image_boots_nothing(api, cloud):
    cloud.images.clear()
    assert boot_test(api).result == rt.NO_IMAGE
    assert cloud.writes() == []


# --- leftovers: only by the tag, only in this project --------------------


def test_leftovers_are_found_by_the_tag_only(api, cloud):
    cloud.servers.update(
        {
            "t1": nova_server("t1", "restore-test-a", metadata=TAG),
            "n1": nova_server("n1", "restore-test-b"),
            "x1": nova_server("x1", "x", metadata={decide.TEST_TAG_KEY: "0"}),
            "p2": nova_server("p2", "y", metadata=TAG, tenant="p2"),
            OTHER: nova_server(OTHER, "db"),
        }
    )
    assert api.clean_leftovers() == ["restore-test-a"]
    assert deletes(cloud) == ["/v2/p1/servers/t1"]

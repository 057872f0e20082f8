"""servers.py: the Compute calls of a restore, against requests-mock."""

from __future__ import annotations

import json

import pytest
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import servers

from .conftest import COMPUTE, SERVER_ID, nova_on_catalog

ACTION = f"{COMPUTE}/servers/{SERVER_ID}/action"


@pytest.fixture
def manager(mock):
    return servers.ServerManager(nova_on_catalog(mock))


def test_create_image_id_from_location_header_before_2_45(manager, mock):
    mock.post(
        ACTION,
        status_code=202,
        headers={"Location": "http://image.test/v2/images/img-9"},
    )
    assert manager.create_image(SERVER_ID, "pre-restore-x") == "img-9"
    assert mock.last_request.json() == {
        "createImage": {"name": "pre-restore-x", "metadata": {}}
    }


def test_create_image_id_from_body_from_2_45(manager, mock):
    mock.post(ACTION, status_code=202, json={"image_id": "img-7"})
    assert manager.create_image(SERVER_ID, "n") == "img-7"


def test_create_image_without_an_id_is_an_error(manager, mock):
    mock.post(ACTION, status_code=202)
    with pytest.raises(ValueError, match="did not say the new image's id"):
        manager.create_image(SERVER_ID, "n")


def test_rebuild_sends_the_image_once(manager, mock):
    mock.post(ACTION, status_code=202, json={"server": {"id": SERVER_ID}})
    manager.rebuild(SERVER_ID, "img-1")
    assert mock.last_request.json() == {"rebuild": {"imageRef": "img-1"}}


def test_rebuild_409_is_not_retried(manager, mock):
    mock.post(
        ACTION,
        status_code=409,
        json={"conflictingRequest": {"code": 409, "message": "busy"}},
    )
    with pytest.raises(exceptions.Conflict):
        manager.rebuild(SERVER_ID, "img-1")
    assert [r.method for r in mock.request_history if r.url == ACTION] == [
        "POST"
    ]


def test_create_is_sent_once_even_on_a_retriable_answer(manager, mock):
    mock.post(f"{COMPUTE}/servers", status_code=503, json={})
    with pytest.raises(exceptions.ClientException):
        manager.create("n", "img", "f1", ("net",), {"k": "v"})
    posts = [r for r in mock.request_history if r.method == "POST"]
    assert [r.url for r in posts][-1] == f"{COMPUTE}/servers"
    assert len([r for r in posts if r.url == f"{COMPUTE}/servers"]) == 1
    assert json.loads(posts[-1].body) == {
        "server": {
            "name": "n",
            "imageRef": "img",
            "flavorRef": "f1",
            "networks": [{"uuid": "net"}],
            "metadata": {"k": "v"},
        }
    }


def test_ids_are_quoted_into_one_path_segment(manager, mock):
    mock.get(f"{COMPUTE}/servers/a%2Fb", json={"server": {"id": "a/b"}})
    assert manager.get("a/b") == {"id": "a/b"}


def test_delete_404_after_a_retry_is_success(manager, mock, no_real_sleep):
    mock.delete(
        f"{COMPUTE}/servers/{SERVER_ID}",
        [{"status_code": 503, "json": {}}, {"status_code": 404, "json": {}}],
    )
    manager.delete(SERVER_ID)


def test_delete_404_first_is_raised(manager, mock):
    mock.delete(f"{COMPUTE}/servers/{SERVER_ID}", status_code=404, json={})
    with pytest.raises(exceptions.NotFound):
        manager.delete(SERVER_ID)


def test_find_flavor_by_name(manager, mock):
    mock.get(f"{COMPUTE}/flavors/m.20", status_code=404, json={})
    mock.get(
        f"{COMPUTE}/flavors/detail",
        json={"flavors": [{"id": "f20", "name": "m.20", "disk": 20}]},
    )
    assert manager.find_flavor("m.20")["id"] == "f20"


def test_wait_reads_the_fault():
    reads = iter(
        [
            {"status": "BUILD"},
            {"status": "ERROR", "fault": {"message": "No valid\nhost"}},
        ]
    )
    with pytest.raises(servers.WaitFailed, match="^No valid host$"):
        servers.wait_for(
            lambda: next(reads),
            servers.server_settled,
            servers.server_failure,
            60,
            poll=0.001,
        )


def test_wait_times_out():
    ticks = iter([0.0, 5.0, 11.0])
    with pytest.raises(servers.WaitTimedOut):
        servers.wait_for(
            lambda: {"status": "BUILD"},
            servers.server_settled,
            servers.server_failure,
            10,
            poll=0.001,
            clock=lambda: next(ticks),
        )


def test_wait_stops_at_once_when_asked():
    import threading

    stop = threading.Event()
    stop.set()
    with pytest.raises(servers.WaitStopped):
        servers.wait_for(
            lambda: {"status": "BUILD"},
            servers.server_settled,
            servers.server_failure,
            3600,
            stop=stop,
        )

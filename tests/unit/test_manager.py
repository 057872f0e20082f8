"""The Python API against requests-mock: the HTTP sent and what returns."""

from __future__ import annotations

import pytest
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import errors
from rax_scheduled_images_python_novaclient_ext import manager as m
from rax_scheduled_images_python_novaclient_ext import schedule as s

from .conftest import (
    COMPUTE,
    GENERIC_404,
    NO_SCHEDULE_404,
    SERVER_ID,
    SERVER_PATH,
    SERVER_URL,
    not_found,
    sent,
)

OS_URL = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
RAX_URL = f"{COMPUTE}/servers/{SERVER_ID}/rax-si-image-schedule"
OS_PATH = f"/v2/p1/servers/{SERVER_ID}/os-si-image-schedule"
RAX_PATH = f"/v2/p1/servers/{SERVER_ID}/rax-si-image-schedule"
NO_INSTANCE_404 = not_found(
    f"Specified instance {SERVER_ID} could not be found."
)
INSTANCE_404 = not_found(f"Instance {SERVER_ID} could not be found.")


pytestmark = pytest.mark.usefixtures("no_alias_env")


def test_manager_is_reachable_under_the_original_name(client):
    assert isinstance(
        client.rax_scheduled_images_python_novaclient_ext,
        m.ScheduleManager,
    )


def test_get_weekly_is_one_get(client, mock):
    mock.get(
        OS_URL,
        json={"image_schedule": {"day_of_week": "SATURDAY", "retention": 5}},
    )
    found = client.rax_scheduled_images_python_novaclient_ext.get(SERVER_ID)
    assert (found.retention, found.day_of_week) == (5, "SATURDAY")
    assert sent(mock) == [("GET", OS_PATH)]


def test_get_daily_has_no_day_of_week(client, mock):
    mock.get(OS_URL, json={"image_schedule": {"retention": 7}})
    found = m.ScheduleManager(client).get(SERVER_ID)
    assert found.retention == 7
    assert not hasattr(found, "day_of_week")
    assert found.to_schedule() == s.Schedule(7)


def test_get_accepts_a_server_object(client, mock):
    mock.get(OS_URL, json={"image_schedule": {"retention": 2}})

    class Server:
        id = SERVER_ID

    assert m.ScheduleManager(client).get(Server()).retention == 2


def test_get_not_enabled_raises_the_original_message(client, mock):
    mock.get(OS_URL, status_code=404, json=NO_SCHEDULE_404)
    mock.get(SERVER_URL, json={"server": {"id": SERVER_ID}})
    with pytest.raises(exceptions.NotFound) as raised:
        m.ScheduleManager(client).get(SERVER_ID)
    # 0.3.1's exception and text, now as its own type.
    assert type(raised.value) is errors.NoSchedule
    assert str(raised.value) == (
        f"Scheduled images not enabled for server {SERVER_ID} (HTTP 404)"
    )
    # The 404 fits an unknown server too: the server is read to tell.
    assert sent(mock) == [("GET", OS_PATH), ("GET", SERVER_PATH)]


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        (m.DEFAULT_ALIAS, [("GET", OS_PATH), ("GET", SERVER_PATH)]),
        (
            m.RACKSPACE_ALIAS,
            [("GET", OS_PATH), ("GET", RAX_PATH), ("GET", SERVER_PATH)],
        ),
    ],
)
def test_get_unknown_server_raises_no_such_server(
    client, mock, served, expected
):
    # The extension answers an unknown (or another project's) server
    # exactly as a server without a schedule (api.md).
    for alias, url in (
        (m.DEFAULT_ALIAS, OS_URL),
        (m.RACKSPACE_ALIAS, RAX_URL),
    ):
        answer = NO_SCHEDULE_404 if alias == served else GENERIC_404
        mock.get(url, status_code=404, json=answer)
    mock.get(SERVER_URL, status_code=404, json=INSTANCE_404)
    with pytest.raises(errors.NoSuchServer) as raised:
        m.ScheduleManager(client).get(SERVER_ID)
    assert isinstance(raised.value, exceptions.NotFound)
    assert raised.value.message == (
        f"No server with a name or ID of '{SERVER_ID}' exists."
    )
    assert sent(mock) == expected


def test_get_of_a_server_object_needs_no_confirmation(client, mock):
    mock.get(OS_URL, status_code=404, json=NO_SCHEDULE_404)

    class Server:
        id = SERVER_ID

    with pytest.raises(errors.NoSchedule):
        m.ScheduleManager(client).get(Server())
    assert sent(mock) == [("GET", OS_PATH)]


def test_get_without_confirm_raises_no_schedule_unchecked(client, mock):
    mock.get(OS_URL, status_code=404, json=NO_SCHEDULE_404)
    with pytest.raises(errors.NoSchedule):
        m.ScheduleManager(client).get(SERVER_ID, confirm=False)
    assert sent(mock) == [("GET", OS_PATH)]


def test_confirm_server_raises_no_such_server_on_404(client, mock):
    mock.get(SERVER_URL, status_code=404, json=INSTANCE_404)
    with pytest.raises(errors.NoSuchServer):
        m.ScheduleManager(client).confirm_server(SERVER_ID)
    assert sent(mock) == [("GET", SERVER_PATH)]


def test_get_malformed_answer_names_the_problem(client, mock):
    mock.get(OS_URL, text="<html>bad gateway</html>")
    with pytest.raises(s.MalformedResponseError, match="image_schedule"):
        m.ScheduleManager(client).get(SERVER_ID)


def test_enable_weekly_posts_upper_case_full_day(client, mock):
    mock.post(
        OS_URL,
        json={"image_schedule": {"day_of_week": "SATURDAY", "retention": 4}},
    )
    found = m.ScheduleManager(client).enable(SERVER_ID, "4", "sat")
    assert found.day_of_week == "SATURDAY"
    assert sent(mock) == [("POST", OS_PATH)]
    assert mock.last_request.json() == {
        "image_schedule": {"retention": 4, "day_of_week": "SATURDAY"}
    }


def test_enable_daily_sends_no_day(client, mock):
    mock.post(OS_URL, json={"image_schedule": {"retention": 7}})
    m.ScheduleManager(client).enable(SERVER_ID, 7)
    assert mock.last_request.json() == {"image_schedule": {"retention": 7}}


@pytest.mark.parametrize(
    ("retention", "day"),
    [
        (0, None),
        (-1, None),
        (True, None),
        (1.5, None),
        ("", None),
        ("abc", None),
        ("٣", None),
        (3, "someday"),
        (3, ""),
        (3, "7"),
    ],
)
def test_enable_rejects_bad_input_without_sending(
    client, mock, retention, day
):
    with pytest.raises(s.ScheduleError):
        m.ScheduleManager(client).enable(SERVER_ID, retention, day)
    assert mock.request_history == []


def test_enable_passes_the_servers_refusal_through(client, mock):
    mock.post(
        OS_URL,
        status_code=400,
        json={
            "badRequest": {
                "message": "The retention value 70000 is not allowed. "
                "It cannot exceed 65535",
                "code": 400,
            }
        },
    )
    with pytest.raises(exceptions.BadRequest, match="cannot exceed 65535"):
        m.ScheduleManager(client).enable(SERVER_ID, 70000)


def test_enable_unknown_server_raises_no_such_server(client, mock):
    # POST checks the server itself: no extra request.
    mock.post(OS_URL, status_code=404, json=NO_INSTANCE_404)
    with pytest.raises(errors.NoSuchServer):
        m.ScheduleManager(client).enable(SERVER_ID, 3)
    assert sent(mock) == [("POST", OS_PATH)]


def test_enable_unknown_server_on_rackspace_learns_the_alias(client, mock):
    mock.post(OS_URL, status_code=404, json=GENERIC_404)
    mock.post(RAX_URL, status_code=404, json=NO_INSTANCE_404)
    manager = m.ScheduleManager(client)
    with pytest.raises(errors.NoSuchServer):
        manager.enable(SERVER_ID, 3)
    assert sent(mock) == [("POST", OS_PATH), ("POST", RAX_PATH)]
    assert manager.alias == m.RACKSPACE_ALIAS


def test_disable_confirms_the_server_then_deletes(client, mock):
    mock.get(SERVER_URL, json={"server": {"id": SERVER_ID}})
    mock.delete(OS_URL, status_code=202)
    assert m.ScheduleManager(client).disable(SERVER_ID) is None
    assert sent(mock) == [("GET", SERVER_PATH), ("DELETE", OS_PATH)]


def test_disable_of_a_server_object_is_one_delete(client, mock):
    mock.delete(OS_URL, status_code=202)

    class Server:
        id = SERVER_ID

    m.ScheduleManager(client).disable(Server())
    assert sent(mock) == [("DELETE", OS_PATH)]


def test_disable_when_not_enabled_is_not_an_error(client, mock):
    mock.get(SERVER_URL, json={"server": {"id": SERVER_ID}})
    mock.delete(OS_URL, status_code=404, json=NO_SCHEDULE_404)
    m.ScheduleManager(client).disable(SERVER_ID)
    assert sent(mock) == [("GET", SERVER_PATH), ("DELETE", OS_PATH)]


@pytest.mark.parametrize("alias", [m.DEFAULT_ALIAS, m.RACKSPACE_ALIAS])
def test_disable_unknown_server_raises_and_deletes_nothing(
    client, mock, alias
):
    mock.get(SERVER_URL, status_code=404, json=INSTANCE_404)
    # What either alias would answer: Rackspace's 202, or the 404.
    mock.delete(RAX_URL, status_code=202)
    mock.delete(OS_URL, status_code=404, json=NO_SCHEDULE_404)
    with pytest.raises(errors.NoSuchServer):
        m.ScheduleManager(client, alias=alias).disable(SERVER_ID)
    assert sent(mock) == [("GET", SERVER_PATH)]


def test_falls_back_to_rackspace_alias_once_and_remembers(client, mock):
    mock.get(OS_URL, status_code=404, json=GENERIC_404)
    mock.get(RAX_URL, json={"image_schedule": {"retention": 3}})
    mock.get(SERVER_URL, json={"server": {"id": SERVER_ID}})
    mock.delete(RAX_URL, status_code=202)
    manager = m.ScheduleManager(client)
    assert manager.get(SERVER_ID).retention == 3
    manager.disable(SERVER_ID)
    assert sent(mock) == [
        ("GET", OS_PATH),
        ("GET", RAX_PATH),
        ("GET", SERVER_PATH),
        ("DELETE", RAX_PATH),
    ]
    assert manager.alias == m.RACKSPACE_ALIAS
    assert manager.server_attribute == "RAX-SI:image_schedule"


def test_fallback_keeps_the_extension_not_found(client, mock):
    mock.get(OS_URL, status_code=404, json=GENERIC_404)
    mock.get(RAX_URL, status_code=404, json=NO_SCHEDULE_404)
    mock.get(SERVER_URL, json={"server": {"id": SERVER_ID}})
    with pytest.raises(errors.NoSchedule, match="not enabled"):
        m.ScheduleManager(client).get(SERVER_ID)


def test_unknown_server_raises_novas_404_after_both_aliases(client, mock):
    mock.get(OS_URL, status_code=404, json=GENERIC_404)
    mock.get(RAX_URL, status_code=404, json=GENERIC_404)
    manager = m.ScheduleManager(client)
    with pytest.raises(exceptions.NotFound, match="could not be found"):
        manager.get(SERVER_ID)
    assert sent(mock) == [("GET", OS_PATH), ("GET", RAX_PATH)]
    assert manager.alias == m.DEFAULT_ALIAS


def test_once_the_alias_is_known_unknown_servers_cost_one_request(
    client, mock
):
    other = "11111111-2222-4333-8444-555555555555"
    mock.get(OS_URL, json={"image_schedule": {"retention": 3}})
    mock.get(
        f"{COMPUTE}/servers/{other}/os-si-image-schedule",
        status_code=404,
        json=GENERIC_404,
    )
    manager = m.ScheduleManager(client)
    manager.get(SERVER_ID)
    with pytest.raises(exceptions.NotFound):
        manager.get(other)
    assert len(mock.request_history) == 2


def test_pinned_alias_by_argument_never_falls_back(client, mock):
    mock.get(RAX_URL, status_code=404, json=GENERIC_404)
    manager = m.ScheduleManager(client, alias=m.RACKSPACE_ALIAS)
    with pytest.raises(exceptions.NotFound):
        manager.get(SERVER_ID)
    assert sent(mock) == [("GET", RAX_PATH)]


def test_pinned_alias_by_environment(client, mock, monkeypatch):
    monkeypatch.setenv(m.ALIAS_ENV, m.RACKSPACE_ALIAS)
    mock.post(RAX_URL, json={"image_schedule": {"retention": 2}})
    m.ScheduleManager(client).enable(SERVER_ID, 2)
    assert sent(mock) == [("POST", RAX_PATH)]


def test_unknown_alias_is_refused(client):
    with pytest.raises(ValueError, match="Unknown scheduled images API"):
        m.ScheduleManager(client, alias="os-si-typo")


@pytest.mark.parametrize(
    ("server", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("a/../b", "a%2F..%2Fb"),
        ("x?y#z", "x%3Fy%23z"),
        ("50% off", "50%25%20off"),
        ("café", "caf%C3%A9"),
    ],
)
def test_ids_are_percent_quoted_into_one_path_segment(
    client, mock, server, segment
):
    mock.get(
        f"{COMPUTE}/servers/{segment}/os-si-image-schedule",
        json={"image_schedule": {"retention": 1}},
    )
    m.ScheduleManager(client).get(server)
    assert mock.last_request.url == (
        f"{COMPUTE}/servers/{segment}/os-si-image-schedule"
    )


@pytest.mark.parametrize("server", ["", ".", ".."])
def test_ids_that_cannot_be_one_segment_are_refused_unsent(
    client, mock, server
):
    with pytest.raises(ValueError, match="not a valid id"):
        m.ScheduleManager(client).get(server)
    assert mock.request_history == []


def test_fallback_holds_when_another_thread_learns_the_alias_meanwhile(
    client, mock
):
    # Bulk commands share one manager across threads: while this GET on
    # the default alias is out, another thread learns the Rackspace one.
    manager = m.ScheduleManager(client)

    def generic_404_after_another_thread_learned(request, context):
        manager._learn(m.RACKSPACE_ALIAS)
        context.status_code = 404
        return GENERIC_404

    mock.get(OS_URL, json=generic_404_after_another_thread_learned)
    mock.get(RAX_URL, json={"image_schedule": {"retention": 6}})
    assert manager.get(SERVER_ID).retention == 6
    assert sent(mock) == [("GET", OS_PATH), ("GET", RAX_PATH)]


def test_the_1_0_0_manager_names_still_import() -> None:
    from rax_scheduled_images_python_novaclient_ext import images, manager

    assert manager.ImageScheduleManager is manager.ScheduleManager
    assert images.ScheduledImageManager is images.ImageManager

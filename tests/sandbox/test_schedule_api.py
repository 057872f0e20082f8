"""The scheduled images sub-resource, exactly as api.md describes it."""

from __future__ import annotations

from typing import Any

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import ALT_APP, DB, MYSERVER, Client, fault

ATTRIBUTE = {
    "os-si-image-schedule": "OS-SI:image_schedule",
    "rax-si-image-schedule": "RAX-SI:image_schedule",
}
OTHER = {
    "os-si-image-schedule": "rax-si-image-schedule",
    "rax-si-image-schedule": "os-si-image-schedule",
}


def enable(client: Client, server: str, **schedule: Any) -> Any:
    return client.post(
        client.schedule_url(server), json={"image_schedule": schedule}
    )


def test_get_unscheduled_server_gives_extension_404(demo: Client) -> None:
    answer = demo.get(demo.schedule_url(MYSERVER))
    assert fault(answer) == (
        404,
        "itemNotFound",
        f"Image schedule does not exist for server {MYSERVER}",
    )


def test_enable_daily_echoes_and_shows(any_cloud: Sandbox) -> None:
    client = Client(any_cloud, "demo")
    answer = enable(client, MYSERVER, retention=7)
    assert answer.status_code == 200
    assert answer.json() == {"image_schedule": {"retention": 7}}
    shown = client.get(client.schedule_url(MYSERVER))
    assert shown.status_code == 200
    assert shown.json() == {"image_schedule": {"retention": 7}}


def test_enable_weekly_answers_day_in_upper_case(demo: Client) -> None:
    answer = enable(demo, MYSERVER, retention=4, day_of_week="saturday")
    assert answer.status_code == 200
    assert answer.json() == {
        "image_schedule": {"day_of_week": "SATURDAY", "retention": 4}
    }
    assert list(answer.json()["image_schedule"]) == [
        "day_of_week",
        "retention",
    ]
    assert demo.get(demo.schedule_url(MYSERVER)).json() == answer.json()


@pytest.mark.parametrize("day", ["Sunday", "SUNDAY", "sunday", "sUnDaY"])
def test_day_is_accepted_in_any_case(demo: Client, day: str) -> None:
    answer = enable(demo, MYSERVER, retention=2, day_of_week=day)
    assert answer.json()["image_schedule"]["day_of_week"] == "SUNDAY"


@pytest.mark.parametrize("day", ["sat", "SAT", "Mon", "", "someday", 6])
def test_day_must_be_a_full_name(demo: Client, day: Any) -> None:
    answer = enable(demo, MYSERVER, retention=2, day_of_week=day)
    status, name, message = fault(answer)
    assert (status, name) == (400, "badRequest")
    assert message == (
        f"The day_of_week value {day} is not allowed. It must be one of "
        "SUNDAY, MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY"
    )


def test_post_without_day_turns_weekly_into_daily(demo: Client) -> None:
    enable(demo, MYSERVER, retention=4, day_of_week="SATURDAY")
    answer = enable(demo, MYSERVER, retention=8)
    assert answer.json() == {"image_schedule": {"retention": 8}}
    assert demo.get(demo.schedule_url(MYSERVER)).json() == {
        "image_schedule": {"retention": 8}
    }


def test_delete_disables_and_answers_202(demo: Client) -> None:
    enable(demo, MYSERVER, retention=3)
    answer = demo.delete(demo.schedule_url(MYSERVER))
    assert answer.status_code == 202
    assert answer.content == b""
    assert demo.get(demo.schedule_url(MYSERVER)).status_code == 404


def test_delete_when_not_enabled_answers_as_each_alias_does(
    any_cloud: Sandbox,
) -> None:
    client = Client(any_cloud, "demo")
    answer = client.delete(client.schedule_url(MYSERVER))
    if any_cloud.alias == "rax-si-image-schedule":
        # Rackspace's service answers 202 when nothing was scheduled.
        assert answer.status_code == 202
        assert answer.content == b""
    else:
        # The original extension answers its 404.
        assert fault(answer) == (
            404,
            "itemNotFound",
            f"Image schedule does not exist for server {MYSERVER}",
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {},
            "The request body is invalid. "
            "Key image_schedule is missing in the body",
        ),
        (
            {"schedule": {"retention": 1}},
            "The request body is invalid. "
            "Key image_schedule is missing in the body",
        ),
        (
            {"image_schedule": 5},
            "The request body is invalid. "
            "Key image_schedule is missing in the body",
        ),
        (
            [1, 2],
            "The request body is invalid. "
            "Key image_schedule is missing in the body",
        ),
        (
            {"image_schedule": {}},
            "The request body is invalid. "
            "Key retention is missing in the body",
        ),
        (
            {"image_schedule": {"day_of_week": "MONDAY"}},
            "The request body is invalid. "
            "Key retention is missing in the body",
        ),
        (
            {"image_schedule": {"retention": "abc"}},
            "The retention value abc is not allowed. It must be an integer",
        ),
        (
            {"image_schedule": {"retention": 2.5}},
            "The retention value 2.5 is not allowed. It must be an integer",
        ),
        (
            {"image_schedule": {"retention": None}},
            "The retention value None is not allowed. It must be an integer",
        ),
        (
            {"image_schedule": {"retention": True}},
            "The retention value True is not allowed. It must be an integer",
        ),
        (
            {"image_schedule": {"retention": 0}},
            "The retention value 0 is not allowed. It must be greater than 0",
        ),
        (
            {"image_schedule": {"retention": -3}},
            "The retention value -3 is not allowed. It must be greater than 0",
        ),
        (
            {"image_schedule": {"retention": 65536}},
            "The retention value 65536 is not allowed. It cannot exceed 65535",
        ),
    ],
)
def test_bad_bodies_get_the_servers_texts(
    demo: Client, body: Any, message: str
) -> None:
    answer = demo.post(demo.schedule_url(MYSERVER), json=body)
    assert fault(answer) == (400, "badRequest", message)
    # A refused request leaves the server unscheduled.
    assert demo.get(demo.schedule_url(MYSERVER)).status_code == 404


def test_retention_as_digit_string_is_taken(demo: Client) -> None:
    answer = enable(demo, MYSERVER, retention="7")
    assert answer.json() == {"image_schedule": {"retention": 7}}


def test_retention_limit_is_a_server_setting() -> None:
    with Sandbox(max_retention=30) as cloud:
        client = Client(cloud, "demo")
        assert enable(client, MYSERVER, retention=30).status_code == 200
        answer = enable(client, MYSERVER, retention=31)
        assert fault(answer) == (
            400,
            "badRequest",
            "The retention value 31 is not allowed. It cannot exceed 30",
        )


def test_malformed_json_is_a_400(demo: Client) -> None:
    answer = demo.post(
        demo.schedule_url(MYSERVER),
        data=b'{"image_schedule": ',
        headers={"Content-Type": "application/json"},
    )
    assert fault(answer) == (400, "badRequest", "Malformed request body")


UNKNOWN = "00000000-0000-4000-8000-000000000000"


def unknown_answers(client: Client, server: str) -> dict[str, Any]:
    """What GET, DELETE and POST of ``server``'s schedule answer."""
    url = client.schedule_url(server)
    body = {"image_schedule": {"retention": 1}}
    answers: dict[str, Any] = {}
    for method in ("GET", "DELETE", "POST"):
        answer = client.session.request(method, url, json=body, timeout=10)
        answers[method] = (
            fault(answer) if answer.status_code >= 400 else answer.status_code
        )
    return answers


def expected_unknown(alias: str, server: str) -> dict[str, Any]:
    """api.md: GET and DELETE do not look the server up (so they answer
    as for a server without a schedule); POST does."""
    no_schedule = (
        404,
        "itemNotFound",
        f"Image schedule does not exist for server {server}",
    )
    return {
        "GET": no_schedule,
        "DELETE": 202 if alias == "rax-si-image-schedule" else no_schedule,
        "POST": (
            404,
            "itemNotFound",
            f"Specified instance {server} could not be found.",
        ),
    }


def test_unknown_server_answers_as_the_extension_does(
    any_cloud: Sandbox,
) -> None:
    client = Client(any_cloud, "demo")
    assert unknown_answers(client, UNKNOWN) == expected_unknown(
        any_cloud.alias, UNKNOWN
    )
    # Unlike a server without a schedule, it is not there to read.
    server = client.get(f"{client.compute}/servers/{UNKNOWN}")
    assert fault(server) == (
        404,
        "itemNotFound",
        f"Instance {UNKNOWN} could not be found.",
    )


def test_other_projects_server_answers_as_unknown(any_cloud: Sandbox) -> None:
    demo, alt = Client(any_cloud, "demo"), Client(any_cloud, "alt")
    assert unknown_answers(demo, ALT_APP) == expected_unknown(
        any_cloud.alias, ALT_APP
    )
    # alt's weekly schedule is untouched.
    assert alt.get(alt.schedule_url(ALT_APP)).json() == {
        "image_schedule": {"day_of_week": "SUNDAY", "retention": 2}
    }


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_other_alias_gets_generic_404(any_cloud: Sandbox, method: str) -> None:
    client = Client(any_cloud, "demo")
    url = client.schedule_url(DB, OTHER[any_cloud.alias])
    answer = client.session.request(
        method, url, json={"image_schedule": {"retention": 1}}
    )
    assert fault(answer) == (
        404,
        "itemNotFound",
        "The resource could not be found.",
    )
    # db is scheduled: the served alias still answers.
    assert client.get(client.schedule_url(DB)).status_code == 200


def test_put_is_not_allowed(demo: Client) -> None:
    answer = demo.session.put(
        demo.schedule_url(MYSERVER), json={"image_schedule": {"retention": 1}}
    )
    status, name, _ = fault(answer)
    assert (status, name) == (405, "badMethod")
    assert answer.headers["Allow"] == "GET, POST, DELETE"


def test_attribute_shows_on_detail_and_show(any_cloud: Sandbox) -> None:
    client = Client(any_cloud, "demo")
    attribute = ATTRIBUTE[any_cloud.alias]
    enable(client, MYSERVER, retention=5, day_of_week="monday")
    shown = client.get(f"{client.compute}/servers/{MYSERVER}").json()
    assert shown["server"][attribute] == {
        "day_of_week": "MONDAY",
        "retention": 5,
    }
    assert ATTRIBUTE[OTHER[any_cloud.alias]] not in shown["server"]
    listed = client.get(f"{client.compute}/servers/detail").json()
    by_id = {s["id"]: s for s in listed["servers"]}
    assert by_id[MYSERVER][attribute] == {
        "day_of_week": "MONDAY",
        "retention": 5,
    }
    assert by_id[DB][attribute] == {"retention": 3}
    assert all(
        attribute not in s
        for sid, s in by_id.items()
        if sid not in (MYSERVER, DB)
    )


def test_extensions_list_the_alias_served(any_cloud: Sandbox) -> None:
    client = Client(any_cloud, "demo")
    answer = client.get(f"{client.compute}/extensions")
    assert answer.status_code == 200
    found = [
        e
        for e in answer.json()["extensions"]
        if e["name"] == "ScheduledImages"
    ]
    assert len(found) == 1
    assert found[0]["alias"] == any_cloud.alias
    assert found[0]["namespace"] == (
        "http://docs.openstack.org/servers/api/ext/scheduled_images/v1.0"
    )
    one = client.get(f"{client.compute}/extensions/{any_cloud.alias}")
    assert one.json()["extension"]["name"] == "ScheduledImages"
    other = client.get(f"{client.compute}/extensions/{OTHER[any_cloud.alias]}")
    assert other.status_code == 404

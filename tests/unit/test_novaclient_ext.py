"""The ``nova`` shell in-process, with Keystone and Nova mocked.

Each test checks what a user sees (stdout, stderr, exit code) and the
requests the command sent.
"""

from __future__ import annotations

import pytest

from rax_scheduled_images_python_novaclient_ext import manager as m

from .conftest import (
    COMPUTE,
    GENERIC_404,
    NO_SCHEDULE_404,
    SCHED_PATH,
    SCHED_URL,
    SERVER_ID,
    SERVER_PATH,
    SERVER_URL,
    STRAY_IMAGE,
    UNKNOWN,
    UNKNOWN_PATH,
    WEB1,
    WEB2,
    api_calls,
    probe,
    register_myserver,
    register_unknown_server_and_stray_image,
    server,
)

pytestmark = pytest.mark.usefixtures("no_alias_env")


@pytest.fixture
def myserver_by_name(mock):
    """``myserver`` is found by name (the way novaclient looks it up)."""
    register_myserver(mock)


def test_show_prints_weekly_schedule(nova, mock):
    mock.get(
        SCHED_URL,
        json={"image_schedule": {"day_of_week": "SATURDAY", "retention": 8}},
    )
    result = nova("scheduled-images-show", SERVER_ID)
    assert (result.code, result.out) == (
        0,
        "Schedule type: Weekly on: SATURDAY\nRetention: 8\n",
    )
    assert result.error_lines == []
    # A UUID needs no lookup: the schedule call itself proves the server.
    assert api_calls(mock) == [("GET", SCHED_PATH)]


def test_show_prints_daily_schedule_by_name(nova, mock, myserver_by_name):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 31}})
    result = nova("scheduled-images-show", "myserver")
    assert (result.code, result.out) == (
        0,
        "Schedule type: Daily\nRetention: 31\n",
    )
    # One lookup for a name: the list is enough, no read by id.
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers?name=myserver"),
        ("GET", SCHED_PATH),
    ]


def test_show_not_enabled_prints_the_guides_error(nova, mock):
    mock.get(SCHED_URL, status_code=404, json=NO_SCHEDULE_404)
    mock.get(SERVER_URL, json={"server": server(SERVER_ID, "myserver")})
    result = nova("scheduled-images-show", SERVER_ID)
    assert result.code == 1
    assert result.out == ""
    assert result.error_lines == [
        "ERROR (NotFound): Scheduled images not enabled for server "
        f"{SERVER_ID} (HTTP 404)"
    ]
    # The 404 fits an unknown server too: the server is read to tell.
    assert api_calls(mock) == [("GET", SCHED_PATH), ("GET", SERVER_PATH)]


def test_show_not_enabled_by_name_needs_no_second_read(
    nova, mock, myserver_by_name
):
    mock.get(SCHED_URL, status_code=404, json=NO_SCHEDULE_404)
    result = nova("scheduled-images-show", "myserver")
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (NotFound): Scheduled images not enabled for server "
        f"{SERVER_ID} (HTTP 404)"
    ]
    # The name lookup proved the server.
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers?name=myserver"),
        ("GET", SCHED_PATH),
    ]


def test_enable_weekly_by_uuid_posts_the_schedule(nova, mock):
    # Read first, to tell whether the retention goes down: no schedule
    # yet, so no image request.
    mock.get(SCHED_URL, status_code=404, json=NO_SCHEDULE_404)
    mock.post(
        SCHED_URL,
        json={"image_schedule": {"day_of_week": "SATURDAY", "retention": 4}},
    )
    result = nova(
        "scheduled-images-enable", "--day-of-week", "saturday", SERVER_ID, "4"
    )
    assert (result.code, result.out, result.error_lines) == (0, "", [])
    assert api_calls(mock) == [("GET", SCHED_PATH), ("POST", SCHED_PATH)]
    assert mock.last_request.json() == {
        "image_schedule": {"retention": 4, "day_of_week": "SATURDAY"}
    }


def test_enable_daily_by_name(nova, mock, myserver_by_name):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 7}})
    mock.post(SCHED_URL, json={"image_schedule": {"retention": 31}})
    result = nova("scheduled-images-enable", "myserver", "31")
    assert result.code == 0
    assert api_calls(mock)[-1] == ("POST", SCHED_PATH)
    assert mock.last_request.json() == {"image_schedule": {"retention": 31}}


def test_disable_by_uuid_confirms_the_server(nova, mock):
    mock.get(SERVER_URL, json={"server": server(SERVER_ID, "myserver")})
    mock.delete(SCHED_URL, status_code=202)
    result = nova("scheduled-images-disable", SERVER_ID)
    assert (result.code, result.out, result.error_lines) == (0, "", [])
    assert api_calls(mock) == [("GET", SERVER_PATH), ("DELETE", SCHED_PATH)]


@pytest.mark.parametrize(
    ("alias", "answer"),
    [
        ("os-si-image-schedule", NO_SCHEDULE_404),
        ("rax-si-image-schedule", None),
    ],
)
def test_disable_of_a_server_without_schedule_is_a_success(
    nova, mock, monkeypatch, alias, answer
):
    monkeypatch.setenv(m.ALIAS_ENV, alias)
    url = f"{COMPUTE}/servers/{SERVER_ID}/{alias}"
    mock.get(SERVER_URL, json={"server": server(SERVER_ID, "myserver")})
    if answer is None:
        mock.delete(url, status_code=202)  # Rackspace's answer
    else:
        mock.delete(url, status_code=404, json=answer)
    result = nova("scheduled-images-disable", SERVER_ID)
    assert (result.code, result.out, result.error_lines) == (0, "", [])


def test_disable_by_name_is_one_lookup_and_one_delete(
    nova, mock, myserver_by_name
):
    mock.delete(SCHED_URL, status_code=202)
    result = nova("scheduled-images-disable", "myserver")
    assert (result.code, result.error_lines) == (0, [])
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers?name=myserver"),
        ("DELETE", SCHED_PATH),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scheduled-images-enable", SERVER_ID, "0"], "Invalid retention '0'"),
        (["scheduled-images-enable", SERVER_ID, "-1"], "Invalid retention"),
        (["scheduled-images-enable", SERVER_ID, "1.5"], "Invalid retention"),
        (["scheduled-images-enable", SERVER_ID, "abc"], "Invalid retention"),
        (["scheduled-images-enable", SERVER_ID, ""], "Invalid retention"),
        (["scheduled-images-enable", SERVER_ID, "٣"], "Invalid retention"),
        (
            [
                "scheduled-images-enable",
                "--day-of-week",
                "satur",
                SERVER_ID,
                "4",
            ],
            "Invalid day of week 'satur'",
        ),
        (
            ["scheduled-images-enable", "--day-of-week", "", SERVER_ID, "4"],
            "Invalid day of week",
        ),
        (
            ["scheduled-images-enable", "--day-of-week", "6", SERVER_ID, "4"],
            "Invalid day of week '6'",
        ),
        (["scheduled-images-show", ""], "server name or ID is required"),
        (["scheduled-images-disable", "  "], "server name or ID is required"),
    ],
)
def test_bad_input_is_one_line_and_sends_nothing(nova, mock, argv, message):
    result = nova(*argv)
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("ERROR (CommandError): ")
    assert message in result.error_lines[0]
    assert "Traceback" not in result.err
    assert api_calls(mock) == []


def test_ambiguous_name_gets_novaclients_message(nova, mock):
    both = {"servers": [server(WEB1, "web"), server(WEB2, "web")]}
    mock.get(f"{COMPUTE}/servers?name=web", json=both)
    for id_ in (WEB1, WEB2):
        mock.get(
            f"{COMPUTE}/servers/{id_}", json={"server": server(id_, "web")}
        )
    result = nova("scheduled-images-enable", "web", "3")
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (CommandError): Multiple server matches found for 'web', "
        "use an ID to be more specific."
    ]
    assert not any(method == "POST" for method, _ in api_calls(mock))


def test_unknown_name_gets_novaclients_message(nova, mock):
    mock.get(f"{COMPUTE}/servers?name=nosuch", json={"servers": []})
    result = nova("scheduled-images-show", "nosuch")
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (CommandError): No server with a name or ID of 'nosuch' exists."
    ]


# The server is read to confirm the API's answer, then a server named
# like the UUID is looked for; POST checks the server itself.
UNKNOWN_CASES = {
    "show": (
        ["scheduled-images-show", UNKNOWN],
        lambda served: [
            *probe("GET", served),
            ("GET", UNKNOWN_PATH),
            ("GET", f"/v2/p1/servers?name={UNKNOWN}"),
        ],
    ),
    "disable": (
        ["scheduled-images-disable", UNKNOWN],
        lambda served: [
            ("GET", UNKNOWN_PATH),
            ("GET", f"/v2/p1/servers?name={UNKNOWN}"),
        ],
    ),
    "enable": (
        ["scheduled-images-enable", UNKNOWN, "3"],
        # The current schedule is read (is the retention lowered?),
        # unconfirmed: the POST that follows checks the server.
        lambda served: [
            *probe("GET", served),
            ("POST", f"{UNKNOWN_PATH}/{served}"),
            ("GET", f"/v2/p1/servers?name={UNKNOWN}"),
        ],
    ),
    "image-list": (
        ["scheduled-images-image-list", UNKNOWN],
        lambda served: [
            *probe("GET", served),
            ("GET", UNKNOWN_PATH),
            ("GET", f"/v2/p1/servers?name={UNKNOWN}"),
        ],
    ),
    "image-release": (
        ["scheduled-images-image-release", STRAY_IMAGE],
        lambda served: [
            ("GET", f"/v2/images/{STRAY_IMAGE}"),
            *probe("GET", served),
            ("GET", UNKNOWN_PATH),
        ],
    ),
}


@pytest.mark.parametrize("served", m.ALIASES)
@pytest.mark.parametrize("case", UNKNOWN_CASES)
def test_unknown_uuid_says_no_such_server_and_changes_nothing(
    nova, mock, served, case
):
    register_unknown_server_and_stray_image(mock, served)
    argv, expected = UNKNOWN_CASES[case]
    result = nova(*argv)
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        f"ERROR (CommandError): No server with a name or ID of '{UNKNOWN}' "
        "exists."
    ]
    assert api_calls(mock) == expected(served)


def test_unknown_uuid_on_a_cloud_that_serves_neither_alias(nova, mock):
    # Nova's generic 404 on both aliases: novaclient's own lookup says
    # whether the server exists.
    for alias in m.ALIASES:
        mock.get(
            f"{COMPUTE}/servers/{UNKNOWN}/{alias}",
            status_code=404,
            json=GENERIC_404,
        )
    mock.get(f"{COMPUTE}/servers/{UNKNOWN}", status_code=404, json=GENERIC_404)
    mock.get(f"{COMPUTE}/servers?name={UNKNOWN}", json={"servers": []})
    result = nova("scheduled-images-show", UNKNOWN)
    assert result.code == 1
    assert result.error_lines == [
        f"ERROR (CommandError): No server with a name or ID of '{UNKNOWN}' "
        "exists."
    ]


def test_rackspace_alias_fallback_in_the_shell(nova, mock):
    mock.get(SCHED_URL, status_code=404, json=GENERIC_404)
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}/rax-si-image-schedule",
        json={"image_schedule": {"retention": 2}},
    )
    result = nova("scheduled-images-show", SERVER_ID)
    assert result.out == "Schedule type: Daily\nRetention: 2\n"


def test_pinned_alias_from_environment_in_the_shell(nova, mock, monkeypatch):
    monkeypatch.setenv(m.ALIAS_ENV, m.RACKSPACE_ALIAS)
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}/rax-si-image-schedule",
        json={"image_schedule": {"retention": 2}},
    )
    result = nova("scheduled-images-show", SERVER_ID)
    assert result.code == 0
    assert api_calls(mock) == [
        ("GET", f"/v2/p1/servers/{SERVER_ID}/rax-si-image-schedule")
    ]


def test_help_lists_days_and_explains_retention(nova):
    result = nova("help", "scheduled-images-enable")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert (
        "usage: nova scheduled-images-enable [--day-of-week <day>] "
        "[--dry-run] <server> <retention>"
    ) in text
    assert (
        "sunday, monday, tuesday, wednesday, thursday, friday, saturday"
    ) in text
    assert "How many scheduled images of this server to keep" in text


def test_nova_help_lists_the_three_commands_once(nova):
    result = nova("help")
    assert result.code == 0
    for command in (
        "scheduled-images-enable",
        "scheduled-images-disable",
        "scheduled-images-show",
    ):
        assert result.out.count(f"    {command} ") == 1

"""``openstack server image schedule set``, end to end, and its parser
alone on osc-lib's fake app.

The real ``openstack`` shell runs in-process (see conftest.py); each
test checks what a user sees and the requests sent to the compute API.
"""

from __future__ import annotations

import pytest
from osc_lib import exceptions
from osc_lib.test import fakes

from rax_scheduled_images_python_novaclient_ext.osc import schedules

from ..conftest import IMAGE
from .conftest import (
    COMPUTE,
    DAILY_31,
    GENERIC_404,
    SCHED_PATH,
    SCHED_URL,
    SERVER_ID,
    SERVER_PATH,
    SERVER_URL,
    WEB1,
    WEB2,
    WEB3,
    WEEKLY_SAT_8,
    api_calls,
    bodies,
    echo,
    no_schedule_404,
    sched_path,
    sched_url,
    server,
)

# -- set ------------------------------------------------------------------


def test_set_retention_alone_keeps_weekly_day(openstack, mock):
    mock.get(SCHED_URL, json=WEEKLY_SAT_8)
    mock.post(SCHED_URL, json=echo)
    # Lowered 8 -> 4: the server's images are read for the warning.
    mock.get(f"{IMAGE}/v2/images", json={"images": []})
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "4", SERVER_ID
    )
    assert (result.code, result.out) == (
        0,
        f"{SERVER_ID}: Schedule type: Weekly on: SATURDAY, Retention: 4\n",
    )
    assert result.error_lines == [
        f"Retention 8 -> 4: the next scheduled image of {SERVER_ID} "
        "deletes no images."
    ]
    # A UUID needs no lookup: the schedule call proves the server exists.
    assert api_calls(mock) == [
        ("GET", SCHED_PATH),
        ("GET", f"/v2/images?instance_uuid={SERVER_ID}&limit=1000"),
        ("POST", SCHED_PATH),
    ]
    assert bodies(mock) == {
        SCHED_PATH: {
            "image_schedule": {"retention": 4, "day_of_week": "SATURDAY"}
        }
    }


def test_set_day_alone_keeps_retention(openstack, mock):
    mock.get(SCHED_URL, json=DAILY_31)
    mock.post(SCHED_URL, json=echo)
    result = openstack(
        "server", "image", "schedule", "set", "--day-of-week", "sun",
        SERVER_ID,
    )  # fmt: skip
    assert result.code == 0
    assert bodies(mock) == {
        SCHED_PATH: {
            "image_schedule": {"retention": 31, "day_of_week": "SUNDAY"}
        }
    }


def test_set_daily_drops_the_day(openstack, mock):
    mock.get(SCHED_URL, json=WEEKLY_SAT_8)
    mock.post(SCHED_URL, json=echo)
    result = openstack(
        "server", "image", "schedule", "set", "--daily", SERVER_ID
    )
    assert (result.code, result.out) == (
        0,
        f"{SERVER_ID}: Schedule type: Daily, Retention: 8\n",
    )
    assert bodies(mock) == {SCHED_PATH: {"image_schedule": {"retention": 8}}}


@pytest.mark.parametrize(
    ("flags", "body"),
    [
        (["--daily"], {"retention": 5}),
        (["--day-of-week", "sun"], {"retention": 5, "day_of_week": "SUNDAY"}),
    ],
)
def test_set_a_whole_schedule_is_one_post(openstack, mock, flags, body):
    # With a retention and a day (or --daily) nothing carries over; the
    # current schedule is read only to tell whether the retention goes
    # down (here there is none: no image request either).
    mock.get(SCHED_URL, status_code=404, json=no_schedule_404(SERVER_ID))
    mock.post(SCHED_URL, json=echo)
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "5", *flags,
        SERVER_ID,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert api_calls(mock) == [("GET", SCHED_PATH), ("POST", SCHED_PATH)]
    assert bodies(mock) == {SCHED_PATH: {"image_schedule": body}}


def test_set_by_name_enables_a_new_daily_schedule(openstack, mock, myserver):
    mock.get(SCHED_URL, status_code=404, json=no_schedule_404(SERVER_ID))
    mock.post(SCHED_URL, json=echo)
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "7", "myserver"
    )
    assert (result.code, result.out) == (
        0,
        "myserver: Schedule type: Daily, Retention: 7\n",
    )
    assert api_calls(mock) == [
        # One lookup for a name: the list is enough, no read by id.
        ("GET", "/v2/p1/servers?name=myserver"),
        ("GET", SCHED_PATH),
        ("POST", SCHED_PATH),
    ]
    assert bodies(mock) == {SCHED_PATH: {"image_schedule": {"retention": 7}}}


def test_set_without_schedule_needs_retention_and_posts_nothing(
    openstack, mock
):
    mock.get(SCHED_URL, status_code=404, json=no_schedule_404(SERVER_ID))
    mock.get(SERVER_URL, json={"server": server(SERVER_ID, "myserver")})
    result = openstack(
        "server", "image", "schedule", "set", "--day-of-week", "mon",
        SERVER_ID,
    )  # fmt: skip
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        f"{SERVER_ID}: This server has no image schedule yet: a retention "
        "is required.",
    ]
    # The 404 alone would fit an unknown server too: it is confirmed.
    assert api_calls(mock) == [("GET", SCHED_PATH), ("GET", SERVER_PATH)]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--retention", "0"],
            "Invalid retention '0': it must be a positive integer "
            "(1 or more).",
        ),
        (
            # 1.1.0 worded 0 and 3x differently for one mistake.
            ["--retention", "3x"],
            "Invalid retention '3x': it must be a positive integer "
            "(1 or more).",
        ),
        (
            ["--retention", "seven"],
            "Invalid retention 'seven': it must be a positive integer "
            "(1 or more).",
        ),
        (
            ["--day-of-week", "funday"],
            "Invalid day of week 'funday': use one of sunday, monday, "
            "tuesday, wednesday, thursday, friday, saturday (or their first "
            "three letters).",
        ),
        (
            [],
            "Nothing to set: give --retention, --day-of-week or --daily.",
        ),
    ],
)
def test_set_bad_input_is_one_line_and_sends_nothing(
    openstack, mock, args, message
):
    result = openstack("server", "image", "schedule", "set", *args, WEB1, WEB2)
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [message]
    assert api_calls(mock) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--day-of-week", "sat", "--daily"],
            "argument --daily: not allowed with argument --day-of-week",
        ),
        (
            ["--retention", "3", "--concurrency", "0"],
            "argument --concurrency: invalid count '0': it must be a "
            "positive integer.",
        ),
        (["--retention", "3"], "the following arguments are required: "),
    ],
)
def test_set_bad_flags_are_refused_by_the_parser(
    openstack, mock, args, message
):
    servers = [] if message.startswith("the following") else [WEB1]
    result = openstack("server", "image", "schedule", "set", *args, *servers)
    assert result.code == 2
    assert result.out == ""
    # argparse's usage, then its one-line error.
    assert result.error_lines[-1].startswith(
        "openstack server image schedule set: error: " + message
    )
    assert api_calls(mock) == []


def test_set_empty_server_name_sends_nothing(openstack, mock):
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "3", WEB1, " "
    )
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        "A server name or ID is required, not an empty string."
    ]
    assert api_calls(mock) == []


def test_set_several_servers_one_failing_the_others_done(openstack, mock):
    mock.get(sched_url(WEB1), json=WEEKLY_SAT_8)
    mock.get(sched_url(WEB2), json=DAILY_31)
    mock.get(
        sched_url(WEB3),
        status_code=403,
        json={
            "forbidden": {
                "message": "Policy doesn't allow scheduled images.",
                "code": 403,
            }
        },
    )
    for id_ in (WEB1, WEB2, WEB3):
        mock.post(sched_url(id_), json=echo)
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "40",
        WEB1, WEB3, WEB2,
    )  # fmt: skip
    assert result.code == 1
    # One line per server, in the order given.
    assert result.out == (
        f"{WEB1}: Schedule type: Weekly on: SATURDAY, Retention: 40\n"
        f"{WEB2}: Schedule type: Daily, Retention: 40\n"
    )
    assert result.error_lines == [
        f"{WEB3}: Policy doesn't allow scheduled images. (HTTP 403)",
        "1 of 3 servers failed.",
    ]
    assert bodies(mock) == {
        sched_path(WEB1): {
            "image_schedule": {"retention": 40, "day_of_week": "SATURDAY"}
        },
        sched_path(WEB2): {"image_schedule": {"retention": 40}},
    }


def test_set_unknown_uuid_is_reported_with_novaclients_message(
    openstack, mock
):
    for alias in ("os-si-image-schedule", "rax-si-image-schedule"):
        mock.get(sched_url(WEB2, alias), status_code=404, json=GENERIC_404)
    mock.get(f"{COMPUTE}/servers/{WEB2}", status_code=404, json=GENERIC_404)
    mock.get(f"{COMPUTE}/servers?name={WEB2}", json={"servers": []})
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "5", WEB2
    )
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        f"{WEB2}: No server with a name or ID of '{WEB2}' exists.",
    ]
    assert [m for m, _ in api_calls(mock)].count("POST") == 0


def test_set_same_server_twice_is_done_once(openstack, mock):
    mock.get(SCHED_URL, json=DAILY_31)
    mock.post(SCHED_URL, json=echo)
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "33",
        SERVER_ID, SERVER_ID,
    )  # fmt: skip
    assert result.code == 0
    assert api_calls(mock) == [("GET", SCHED_PATH), ("POST", SCHED_PATH)]


def test_set_pinned_rackspace_alias_option(openstack, mock):
    rax = sched_url(SERVER_ID, "rax-si-image-schedule")
    mock.get(rax, json=DAILY_31)
    mock.post(rax, json=echo)
    result = openstack(
        "--os-scheduled-images-api-alias", "rax-si-image-schedule",
        "server", "image", "schedule", "set", "--retention", "33", SERVER_ID,
    )  # fmt: skip
    assert result.code == 0
    rax_path = sched_path(SERVER_ID, "rax-si-image-schedule")
    assert api_calls(mock) == [("GET", rax_path), ("POST", rax_path)]


def test_set_falls_back_to_the_rackspace_alias(openstack, mock):
    mock.get(SCHED_URL, status_code=404, json=GENERIC_404)
    rax = sched_url(SERVER_ID, "rax-si-image-schedule")
    mock.get(rax, json=DAILY_31)
    mock.post(rax, json=echo)
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "33", SERVER_ID
    )
    assert result.code == 0
    rax_path = sched_path(SERVER_ID, "rax-si-image-schedule")
    # The alias that answered is kept: the POST goes straight to it.
    assert api_calls(mock) == [
        ("GET", SCHED_PATH),
        ("GET", rax_path),
        ("POST", rax_path),
    ]


# -- the command classes alone, on osc-lib's fake app ----------------------


@pytest.fixture
def app():
    """osc-lib's FakeApp: a client manager WITHOUT scheduled_images, so
    any use of the client fails with AttributeError, not CommandError."""
    app = fakes.FakeApp(fakes.FakeStdout(), fakes.FakeLog())
    app.client_manager = fakes.FakeClientManager()
    return app


def parse(cmd, argv):
    return cmd.get_parser("openstack server image schedule set").parse_args(
        argv
    )


def test_set_parser_defaults(app):
    parsed = parse(schedules.SetSchedule(app, None), ["web1", "web2"])
    assert vars(parsed) == {
        "server": ["web1", "web2"],
        "retention": None,
        "day_of_week": None,
        "daily": False,
        "concurrency": 8,
        "dry_run": False,
    }


def test_set_parser_refuses_day_with_daily(app, capsys):
    with pytest.raises(SystemExit):
        parse(
            schedules.SetSchedule(app, None),
            ["--day-of-week", "sat", "--daily", "web1"],
        )
    assert "not allowed with argument" in capsys.readouterr().err


def test_set_bad_retention_fails_before_the_client_is_touched(app):
    cmd = schedules.SetSchedule(app, None)
    with pytest.raises(exceptions.CommandError) as caught:
        cmd.take_action(parse(cmd, ["--retention", "-1", "web1"]))
    assert str(caught.value) == (
        "Invalid retention '-1': it must be a positive integer (1 or more)."
    )

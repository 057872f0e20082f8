"""``openstack server image schedule show|unset|list``, end to end.

The real ``openstack`` shell runs in-process with Keystone and Nova
mocked; each test checks what a user sees (stdout, stderr, exit code)
and the requests sent to the compute API.
"""

from __future__ import annotations

import json

import pytest

from .conftest import (
    COMPUTE,
    DAILY_31,
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
    no_schedule_404,
    sched_path,
    sched_url,
    server,
)

# -- show -----------------------------------------------------------------


def test_show_weekly_by_uuid_as_json(openstack, mock, myserver):
    mock.get(SCHED_URL, json=WEEKLY_SAT_8)
    result = openstack(
        "server", "image", "schedule", "show", SERVER_ID, "-f", "json"
    )
    assert result.code == 0
    assert json.loads(result.out) == {
        "server_id": SERVER_ID,
        "server_name": "myserver",
        "type": "weekly",
        "day_of_week": "SATURDAY",
        "retention": 8,
    }
    assert result.error_lines == []
    # The name is part of the answer, so even a UUID is looked up.
    assert api_calls(mock) == [("GET", SERVER_PATH), ("GET", SCHED_PATH)]


@pytest.mark.parametrize(
    ("attribute", "served"),
    [
        ("OS-SI:image_schedule", "os-si-image-schedule"),
        ("RAX-SI:image_schedule", "rax-si-image-schedule"),
    ],
)
def test_show_by_uuid_reads_the_schedule_the_server_shows(
    openstack, mock, attribute, served
):
    # GET /servers/{id} carries the schedule: one request, either alias.
    detail = {**server(SERVER_ID, "myserver"), attribute: WEEKLY_SAT_8[
        "image_schedule"
    ]}  # fmt: skip
    mock.get(f"{COMPUTE}/servers/{SERVER_ID}", json={"server": detail})
    result = openstack(
        "server", "image", "schedule", "show", SERVER_ID, "-f", "value",
        "-c", "day_of_week", "-c", "retention",
    )  # fmt: skip
    assert (result.code, result.out) == (0, "SATURDAY\n8\n")
    assert api_calls(mock) == [("GET", SERVER_PATH)]


def test_show_a_malformed_attribute_is_one_line(openstack, mock):
    detail = {
        **server(SERVER_ID, "myserver"),
        "OS-SI:image_schedule": {"retention": "many"},
    }
    mock.get(f"{COMPUTE}/servers/{SERVER_ID}", json={"server": detail})
    result = openstack("server", "image", "schedule", "show", SERVER_ID)
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "no valid retention" in result.error_lines[0]


def test_show_daily_by_name_as_table(openstack, mock, myserver):
    mock.get(SCHED_URL, json=DAILY_31)
    result = openstack("server", "image", "schedule", "show", "myserver")
    assert (result.code, result.out) == (
        0,
        "+-------------+--------------------------------------+\n"
        "| Field       | Value                                |\n"
        "+-------------+--------------------------------------+\n"
        f"| server_id   | {SERVER_ID} |\n"
        "| server_name | myserver                             |\n"
        "| type        | daily                                |\n"
        "| day_of_week |                                      |\n"
        "| retention   | 31                                   |\n"
        "+-------------+--------------------------------------+\n",
    )
    assert api_calls(mock) == [
        # One lookup for a name: the list is enough, no read by id.
        ("GET", "/v2/p1/servers?name=myserver"),
        ("GET", SCHED_PATH),
    ]


def test_show_one_column_as_value(openstack, mock, myserver):
    mock.get(SCHED_URL, json=WEEKLY_SAT_8)
    result = openstack(
        "server", "image", "schedule", "show", SERVER_ID,
        "-c", "day_of_week", "-c", "retention", "-f", "value",
    )  # fmt: skip
    assert (result.code, result.out) == (0, "SATURDAY\n8\n")


def test_show_not_enabled_is_one_line_and_exit_1(openstack, mock, myserver):
    mock.get(SCHED_URL, status_code=404, json=no_schedule_404(SERVER_ID))
    result = openstack("server", "image", "schedule", "show", "myserver")
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        f"Scheduled images not enabled for server {SERVER_ID}"
    ]


def test_show_unknown_name_gets_novaclients_message(openstack, mock):
    mock.get(f"{COMPUTE}/servers?name=nope", json={"servers": []})
    result = openstack("server", "image", "schedule", "show", "nope")
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [
        "No server with a name or ID of 'nope' exists."
    ]
    assert all(method == "GET" for method, _ in api_calls(mock))


def test_show_ambiguous_name_gets_novaclients_message(openstack, mock):
    mock.get(
        f"{COMPUTE}/servers?name=web",
        json={"servers": [server(WEB1, "web"), server(WEB2, "web")]},
    )
    for id_ in (WEB1, WEB2):
        mock.get(
            f"{COMPUTE}/servers/{id_}", json={"server": server(id_, "web")}
        )
    result = openstack("server", "image", "schedule", "show", "web")
    assert result.code == 1
    assert result.error_lines == [
        "Multiple server matches found for 'web', use an ID to be more "
        "specific."
    ]
    assert ("GET", sched_path(WEB1)) not in api_calls(mock)


# -- unset ----------------------------------------------------------------


def test_unset_by_uuid_confirms_the_server_then_deletes(openstack, mock):
    mock.get(SERVER_URL, json={"server": server(SERVER_ID, "myserver")})
    mock.delete(SCHED_URL, status_code=202)
    result = openstack("server", "image", "schedule", "unset", SERVER_ID)
    assert (result.code, result.out) == (
        0,
        f"{SERVER_ID}: scheduled images disabled\n",
    )
    # DELETE answers 202 (or its 404) for an unknown server too: only
    # the read of the server proves something was there to disable.
    assert api_calls(mock) == [("GET", SERVER_PATH), ("DELETE", SCHED_PATH)]


def test_unset_by_name(openstack, mock, myserver):
    mock.delete(SCHED_URL, status_code=202)
    result = openstack("server", "image", "schedule", "unset", "myserver")
    assert (result.code, result.out) == (
        0,
        "myserver: scheduled images disabled\n",
    )
    assert api_calls(mock) == [
        # One lookup for a name: the list is enough, no read by id.
        ("GET", "/v2/p1/servers?name=myserver"),
        ("DELETE", SCHED_PATH),
    ]


def test_unset_several_one_failing(openstack, mock):
    for id_ in (WEB1, WEB2, WEB3):
        mock.get(f"{COMPUTE}/servers/{id_}", json={"server": server(id_, "")})
    mock.delete(sched_url(WEB1), status_code=202)
    # Older services answer "no schedule" with their 404: still disabled.
    mock.delete(sched_url(WEB2), status_code=404, json=no_schedule_404(WEB2))
    mock.delete(
        sched_url(WEB3),
        status_code=500,
        json={"computeFault": {"message": "Backend down.", "code": 500}},
    )
    result = openstack(
        "server", "image", "schedule", "unset", WEB1, WEB2, WEB3
    )
    assert result.code == 1
    assert result.out == (
        f"{WEB1}: scheduled images disabled\n"
        f"{WEB2}: scheduled images disabled\n"
    )
    assert result.error_lines == [
        f"{WEB3}: Backend down. (HTTP 500)",
        "1 of 3 servers failed.",
    ]
    assert sorted(p for m, p in api_calls(mock) if m == "DELETE") == sorted(
        sched_path(id_) for id_ in (WEB1, WEB2, WEB3)
    )


# -- list -----------------------------------------------------------------


def listed(id_, name, schedule=None):
    found = server(id_, name)
    if schedule is not None:
        found["OS-SI:image_schedule"] = schedule
    return found


def test_list_shows_scheduled_servers_as_table(openstack, mock):
    mock.get(
        f"{COMPUTE}/servers/detail?OS-SI:image_schedule=True",
        json={
            "servers": [
                listed(WEB1, "web1", {"retention": 7}),
                listed(
                    WEB2, "web2", {"retention": 4, "day_of_week": "SUNDAY"}
                ),
            ]
        },
    )
    result = openstack("server", "image", "schedule", "list")
    assert (result.code, result.out) == (
        0,
        "+--------------------------------------+------+--------+--------+"
        "-----------+\n"
        "| ID                                   | Name | Type   | Day    |"
        " Retention |\n"
        "+--------------------------------------+------+--------+--------+"
        "-----------+\n"
        f"| {WEB1} | web1 | Daily  |        |         7 |\n"
        f"| {WEB2} | web2 | Weekly | SUNDAY |         4 |\n"
        "+--------------------------------------+------+--------+--------+"
        "-----------+\n",
    )
    assert result.error_lines == []
    assert api_calls(mock) == [
        # (requests-mock shows queries lower-cased.)
        ("GET", "/v2/p1/servers/detail?os-si:image_schedule=true"),
    ]


def test_list_all_servers_as_json(openstack, mock):
    mock.get(
        f"{COMPUTE}/servers/detail",
        json={
            "servers": [
                listed(WEB1, "web1", {"retention": 7}),
                listed(WEB3, "web3"),
            ]
        },
    )
    result = openstack(
        "server", "image", "schedule", "list", "--all-servers", "-f", "json"
    )
    assert result.code == 0
    assert json.loads(result.out) == [
        {"ID": WEB1, "Name": "web1", "Type": "Daily", "Day": None,
         "Retention": 7},
        {"ID": WEB3, "Name": "web3", "Type": None, "Day": None,
         "Retention": None},
    ]  # fmt: skip
    assert api_calls(mock) == [("GET", "/v2/p1/servers/detail")]


def _mixed_fleet(mock):
    """web1 daily 7, web2 weekly 4, web3 without a schedule."""
    mock.get(
        f"{COMPUTE}/servers/detail",
        json={
            "servers": [
                listed(WEB1, "web1", {"retention": 7}),
                listed(WEB3, "web3"),
                listed(
                    WEB2, "web2", {"retention": 4, "day_of_week": "SUNDAY"}
                ),
            ]
        },
    )


@pytest.mark.parametrize(
    ("flags", "order"),
    [
        (["--sort-column", "Retention"], ["web2", "web1", "web3"]),
        (["--sort-column", "Retention", "--sort-descending"],
         ["web3", "web1", "web2"]),
        (["--sort-column", "Day"], ["web2", "web1", "web3"]),
        (["--sort-column", "Type"], ["web1", "web2", "web3"]),
    ],
)  # fmt: skip
def test_list_sorts_on_columns_with_missing_values(
    openstack, mock, flags, order
):
    _mixed_fleet(mock)
    result = openstack(
        "server", "image", "schedule", "list", "--all-servers",
        "-f", "value", "-c", "Name", *flags,
    )  # fmt: skip
    assert (result.code, result.out.split(), result.err) == (0, order, "")


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("csv", f'"ID","Name","Type","Day","Retention"\n'
                f'"{WEB1}","web1","Daily","",7\n'
                f'"{WEB3}","web3","","",""\n'
                f'"{WEB2}","web2","Weekly","SUNDAY",4\n'),
        ("value", f"{WEB1} web1 Daily  7\n"
                  f"{WEB3} web3   \n"
                  f"{WEB2} web2 Weekly SUNDAY 4\n"),
        ("yaml", f"- Day: null\n  ID: {WEB1}\n  Name: web1\n"
                 "  Retention: 7\n  Type: Daily\n"
                 f"- Day: null\n  ID: {WEB3}\n  Name: web3\n"
                 "  Retention: null\n  Type: null\n"
                 f"- Day: SUNDAY\n  ID: {WEB2}\n  Name: web2\n"
                 "  Retention: 4\n  Type: Weekly\n"),
    ],
)  # fmt: skip
def test_list_shows_a_missing_value_alike_in_each_format(
    openstack, mock, form, expected
):
    _mixed_fleet(mock)
    result = openstack(
        "server", "image", "schedule", "list", "--all-servers", "-f", form
    )
    assert (result.code, result.out) == (0, expected)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("value", "daily\n\n31\n"),
        ("shell", 'type="daily"\nday_of_week=""\nretention="31"\n'),
        ("json", '{\n  "type": "daily",\n  "day_of_week": null,\n'
                 '  "retention": 31\n}\n'),
    ],
)  # fmt: skip
def test_show_daily_day_is_missing_as_in_list(
    openstack, mock, myserver, form, expected
):
    mock.get(SCHED_URL, json=DAILY_31)
    result = openstack(
        "server", "image", "schedule", "show", "myserver", "-f", form,
        "-c", "type", "-c", "day_of_week", "-c", "retention",
    )  # fmt: skip
    assert (result.code, result.out) == (0, expected)

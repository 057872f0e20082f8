"""``nova scheduled-images-list``: every schedule at once, in the
``nova`` shell.

Each test checks what a user sees (stdout, stderr, exit code) and the
requests the command sent to Nova.
"""

from __future__ import annotations

import pytest

from .conftest import COMPUTE, SERVERS, WEB1, WEB2, WEB3, cloud_calls

pytestmark = pytest.mark.usefixtures("no_alias_env")


FILTER = "OS-SI:image_schedule=True"


def server(id_, name, sched=None, attr="OS-SI:image_schedule"):
    body = {"id": id_, "name": name, "status": "ACTIVE", "links": []}
    if sched is not None:
        body[attr] = sched
    return body


def page(servers, next_query=None):
    body = {"servers": servers}
    if next_query is not None:
        body["servers_links"] = [
            {"rel": "next", "href": f"{SERVERS}?{next_query}"}
        ]
    return body


SCHEDULE_TABLE = (
    "+--------------------------------------+------+--------+----------+"
    "-----------+\n"
    "| ID                                   | Name | Type   | Day      |"
    " Retention |\n"
    "+--------------------------------------+------+--------+----------+"
    "-----------+\n"
    f"| {WEB1} | web1 | Daily  |          | 7         |\n"
    f"| {WEB3} | web3 | Weekly | SATURDAY | 4         |\n"
    "+--------------------------------------+------+--------+----------+"
    "-----------+\n"
)


def test_list_shows_every_scheduled_server_across_empty_pages(nova, mock):
    mock.get(
        f"{SERVERS}?{FILTER}",
        json=page([server(WEB1, "web1", {"retention": 7})], f"{FILTER}&m=1"),
    )
    mock.get(f"{SERVERS}?{FILTER}&m=1", json=page([], f"{FILTER}&m=2"))
    mock.get(
        f"{SERVERS}?{FILTER}&m=2",
        json=page(
            [server(WEB3, "web3", {"retention": 4, "day_of_week": "SATURDAY"})]
        ),
    )
    result = nova("scheduled-images-list")
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == SCHEDULE_TABLE
    assert cloud_calls(mock) == [
        ("GET", f"/v2/p1/servers/detail?{FILTER}"),
        ("GET", f"/v2/p1/servers/detail?{FILTER}&m=1"),
        ("GET", f"/v2/p1/servers/detail?{FILTER}&m=2"),
    ]


def test_list_all_servers_has_blank_rows(nova, mock):
    mock.get(
        SERVERS,
        json=page(
            [
                server(WEB1, "web1", {"retention": 7}),
                server(WEB2, "web2"),
                server(
                    WEB3, "web3", {"retention": 4, "day_of_week": "SATURDAY"}
                ),
            ]
        ),
    )
    result = nova("scheduled-images-list", "--all-servers")
    assert (result.code, result.error_lines) == (0, [])
    assert result.out.splitlines()[3:6] == [
        f"| {WEB1} | web1 | Daily  |          | 7         |",
        f"| {WEB2} | web2 |        |          |           |",
        f"| {WEB3} | web3 | Weekly | SATURDAY | 4         |",
    ]
    assert cloud_calls(mock) == [("GET", "/v2/p1/servers/detail")]


def test_list_on_a_rackspace_cloud(nova, mock):
    mock.get(
        f"{SERVERS}?{FILTER}",
        json=page(
            [
                server(
                    WEB1, "web1", {"retention": 7}, "RAX-SI:image_schedule"
                ),
                server(WEB2, "web2"),
            ]
        ),
    )
    result = nova("scheduled-images-list")
    assert result.code == 0
    assert f"| {WEB1} | web1 | Daily | " in result.out
    assert WEB2 not in result.out


def test_list_falls_back_and_says_so(nova, mock):
    every = [server(WEB1, "web1"), server(WEB2, "web2")]
    mock.get(f"{SERVERS}?{FILTER}", json=page(every))
    mock.get(f"{SERVERS}?RAX-SI:image_schedule=True", json=page(every))
    mock.get(
        f"{COMPUTE}/servers/{WEB1}/os-si-image-schedule",
        json={"image_schedule": {"retention": 2}},
    )
    mock.get(
        f"{COMPUTE}/servers/{WEB2}/os-si-image-schedule",
        status_code=404,
        json={
            "itemNotFound": {
                "message": f"Image schedule does not exist for server {WEB2}"
            }
        },
    )
    result = nova("scheduled-images-list")
    assert result.code == 0
    assert result.error_lines == [
        "This cloud's server list does not show image schedules: each "
        "server's schedule was asked for on its own."
    ]
    assert result.out.splitlines()[3:] == [
        f"| {WEB1} | web1 | Daily |     | 2         |",
        "+--------------------------------------+------+-------+-----+"
        "-----------+",
    ]


def test_list_with_no_scheduled_server(nova, mock):
    mock.get(f"{SERVERS}?{FILTER}", json=page([]))
    result = nova("scheduled-images-list")
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        "+----+------+------+-----+-----------+\n"
        "| ID | Name | Type | Day | Retention |\n"
        "+----+------+------+-----+-----------+\n"
        "+----+------+------+-----+-----------+\n"
    )


def test_list_error_is_one_line(nova, mock):
    mock.get(
        f"{SERVERS}?{FILTER}",
        status_code=403,
        json={"forbidden": {"message": "Policy forbids it", "code": 403}},
    )
    result = nova("scheduled-images-list")
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (Forbidden): Policy forbids it (HTTP 403)"
    ]

"""``ScheduleManager.list_schedules``: every schedule at once, from the
server listing or one GET per server, against a mocked Nova.
"""

from __future__ import annotations

import threading
import time

import pytest
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import manager as m
from rax_scheduled_images_python_novaclient_ext import schedule as s

from .conftest import COMPUTE, SERVERS, WEB1, WEB2, WEB3, calls

pytestmark = pytest.mark.usefixtures("no_alias_env")


# --- list_schedules --------------------------------------------------------

OS_ATTR = "OS-SI:image_schedule"
RAX_ATTR = "RAX-SI:image_schedule"


def server(id_, name, attr=None, sched=None):
    body = {"id": id_, "name": name, "status": "ACTIVE", "links": []}
    if attr is not None:
        body[attr] = sched
    return body


def page(servers, next_query=None, host=COMPUTE):
    body = {"servers": servers}
    if next_query is not None:
        body["servers_links"] = [
            {"rel": "next", "href": f"{host}/servers/detail?{next_query}"}
        ]
    return body


def compute_calls(mock):
    return calls(mock, "compute.test")


def test_list_schedules_follows_short_and_empty_pages(client, mock):
    f = "OS-SI:image_schedule=True"
    mock.get(
        f"{SERVERS}?{f}",
        json=page(
            [server(WEB1, "web1", OS_ATTR, {"retention": 7})],
            f"{f}&marker={WEB1}",
        ),
    )
    mock.get(
        f"{SERVERS}?{f}&marker={WEB1}",
        json=page([], f"{f}&marker=m2"),
    )
    mock.get(
        f"{SERVERS}?{f}&marker=m2",
        json=page(
            [
                server(
                    WEB3,
                    "web3",
                    OS_ATTR,
                    {"retention": 4, "day_of_week": "SATURDAY"},
                )
            ]
        ),
    )
    rows = m.ScheduleManager(client).list_schedules()
    assert rows == [
        s.ServerSchedule(WEB1, "web1", s.Schedule(7)),
        s.ServerSchedule(WEB3, "web3", s.Schedule(4, "SATURDAY")),
    ]
    assert rows.used_fallback is False
    assert compute_calls(mock) == [
        ("GET", "/v2/p1/servers/detail?OS-SI:image_schedule=True"),
        (
            "GET",
            f"/v2/p1/servers/detail?OS-SI:image_schedule=True&marker={WEB1}",
        ),
        ("GET", "/v2/p1/servers/detail?OS-SI:image_schedule=True&marker=m2"),
    ]


def test_list_schedules_next_link_on_another_host(client, mock):
    f = "OS-SI:image_schedule=True"
    mock.get(
        f"{SERVERS}?{f}",
        json=page([], f"{f}&marker=m", host="http://nova-internal:8774/v2/p1"),
    )
    mock.get(
        f"{SERVERS}?{f}&marker=m",
        json=page([server(WEB1, "web1", OS_ATTR, {"retention": 2})]),
    )
    rows = m.ScheduleManager(client).list_schedules()
    assert [r.server_id for r in rows] == [WEB1]


def test_list_schedules_none(client, mock):
    mock.get(f"{SERVERS}?OS-SI:image_schedule=True", json={"servers": []})
    rows = m.ScheduleManager(client).list_schedules()
    assert (rows, rows.used_fallback) == ([], False)
    assert len(compute_calls(mock)) == 1


def test_list_schedules_all_servers_is_one_unfiltered_listing(client, mock):
    mock.get(
        SERVERS,
        json=page(
            [
                server(WEB1, "web1", OS_ATTR, {"retention": 7}),
                server(WEB2, "web2"),
                server(WEB3, "web3", OS_ATTR, None),
            ]
        ),
    )
    rows = m.ScheduleManager(client).list_schedules(all_servers=True)
    assert rows == [
        s.ServerSchedule(WEB1, "web1", s.Schedule(7)),
        s.ServerSchedule(WEB2, "web2", None),
        s.ServerSchedule(WEB3, "web3", None),
    ]
    assert compute_calls(mock) == [("GET", "/v2/p1/servers/detail")]


def test_list_schedules_learns_the_rackspace_alias(client, mock):
    # The default filter is unknown there, so it is ignored: every server
    # comes back, and the RAX-SI attribute tells which have a schedule.
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page(
            [
                server(WEB1, "web1", RAX_ATTR, {"retention": 3}),
                server(WEB2, "web2"),
            ]
        ),
    )
    manager = m.ScheduleManager(client)
    rows = manager.list_schedules()
    assert rows == [s.ServerSchedule(WEB1, "web1", s.Schedule(3))]
    assert manager.alias == m.RACKSPACE_ALIAS
    assert len(compute_calls(mock)) == 1


def test_list_schedules_pinned_rackspace_alias(client, mock, monkeypatch):
    monkeypatch.setenv(m.ALIAS_ENV, m.RACKSPACE_ALIAS)
    mock.get(
        f"{SERVERS}?RAX-SI:image_schedule=True",
        json=page([server(WEB1, "web1", RAX_ATTR, {"retention": 3})]),
    )
    rows = m.ScheduleManager(client).list_schedules()
    assert [r.server_id for r in rows] == [WEB1]
    assert compute_calls(mock) == [
        ("GET", "/v2/p1/servers/detail?RAX-SI:image_schedule=True")
    ]


def test_list_schedules_pinned_alias_ignores_the_other_attribute(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(WEB1, "web1", RAX_ATTR, {"retention": 3})]),
    )
    mock.get(
        f"{COMPUTE}/servers/{WEB1}/os-si-image-schedule",
        json={"image_schedule": {"retention": 9}},
    )
    rows = m.ScheduleManager(client, alias=m.DEFAULT_ALIAS).list_schedules()
    assert rows == [s.ServerSchedule(WEB1, "web1", s.Schedule(9))]
    assert rows.used_fallback is True


def test_list_schedules_all_servers_checks_the_filter_when_none_shows(
    client, mock
):
    mock.get(SERVERS, json=page([server(WEB1, "web1"), server(WEB2, "web2")]))
    mock.get(f"{SERVERS}?OS-SI:image_schedule=True", json=page([]))
    manager = m.ScheduleManager(client)
    rows = manager.list_schedules(all_servers=True)
    assert rows == [
        s.ServerSchedule(WEB1, "web1", None),
        s.ServerSchedule(WEB2, "web2", None),
    ]
    assert rows.used_fallback is False
    assert len(compute_calls(mock)) == 2


def no_attribute_cloud(mock, scheduled):
    """Nova ignores both filters and shows no attribute; the sub-resource
    answers under the default alias."""
    every = [server(WEB1, "web1"), server(WEB2, "web2"), server(WEB3, "web3")]
    for query in (
        "",
        "?OS-SI:image_schedule=True",
        "?RAX-SI:image_schedule=True",
    ):
        mock.get(f"{SERVERS}{query}", json=page(every))
    for id_ in (WEB1, WEB2, WEB3):
        url = f"{COMPUTE}/servers/{id_}/os-si-image-schedule"
        if id_ in scheduled:
            mock.get(url, json={"image_schedule": scheduled[id_]})
        else:
            mock.get(
                url,
                status_code=404,
                json={
                    "itemNotFound": {
                        "message": "Image schedule does not exist for "
                        f"server {id_}",
                        "code": 404,
                    }
                },
            )


def test_list_schedules_falls_back_to_one_get_per_server(client, mock):
    no_attribute_cloud(mock, {WEB2: {"retention": 5}})
    rows = m.ScheduleManager(client).list_schedules()
    assert rows == [s.ServerSchedule(WEB2, "web2", s.Schedule(5))]
    assert rows.used_fallback is True
    calls = compute_calls(mock)
    assert calls[:2] == [
        ("GET", "/v2/p1/servers/detail?OS-SI:image_schedule=True"),
        ("GET", "/v2/p1/servers/detail?RAX-SI:image_schedule=True"),
    ]
    # The first GET alone (it settles the alias), then the rest.
    assert calls[2] == ("GET", f"/v2/p1/servers/{WEB1}/os-si-image-schedule")
    assert sorted(calls[3:]) == [
        ("GET", f"/v2/p1/servers/{WEB2}/os-si-image-schedule"),
        ("GET", f"/v2/p1/servers/{WEB3}/os-si-image-schedule"),
    ]


def test_list_schedules_fallback_with_all_servers(client, mock):
    no_attribute_cloud(mock, {WEB2: {"retention": 5}})
    rows = m.ScheduleManager(client).list_schedules(all_servers=True)
    assert [r.cells() for r in rows] == [
        (WEB1, "web1", None, None, None),
        (WEB2, "web2", "Daily", None, 5),
        (WEB3, "web3", None, None, None),
    ]
    assert rows.used_fallback is True


def test_list_schedules_fallback_runs_at_most_concurrency_at_once(
    client, mock
):
    ids = [f"{n:08d}-1111-4111-8111-111111111111" for n in range(10)]
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(id_, f"s{n}") for n, id_ in enumerate(ids)]),
    )
    running, peak, lock = [0], [0], threading.Lock()
    manager = m.ScheduleManager(client, alias=m.DEFAULT_ALIAS)

    # requests-mock answers one request at a time (a global lock), so
    # the overlap is measured on the schedule GET itself.
    def slow_get(server_id, confirm=True):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return m.ImageSchedule(manager, {"retention": 1}, loaded=True)

    manager.get = slow_get
    rows = manager.list_schedules(concurrency=3)
    assert [r.server_id for r in rows] == ids  # in the listing's order
    assert peak[0] == 3


def test_list_schedules_fallback_skips_a_server_deleted_meanwhile(
    client, mock
):
    no_attribute_cloud(mock, {WEB1: {"retention": 2}})
    generic = {"itemNotFound": {"message": "The resource could not be found."}}
    for alias in m.ALIASES:
        mock.get(
            f"{COMPUTE}/servers/{WEB3}/{alias}", status_code=404, json=generic
        )
    rows = m.ScheduleManager(client).list_schedules(all_servers=True)
    assert [r.server_id for r in rows] == [WEB1, WEB2]


def test_list_schedules_fallback_when_no_alias_is_served(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(WEB1, "web1")]),
    )
    mock.get(
        f"{SERVERS}?RAX-SI:image_schedule=True",
        json=page([server(WEB1, "web1")]),
    )
    generic = {"itemNotFound": {"message": "The resource could not be found."}}
    for alias in m.ALIASES:
        mock.get(
            f"{COMPUTE}/servers/{WEB1}/{alias}", status_code=404, json=generic
        )
    with pytest.raises(exceptions.NotFound, match="could not be found"):
        m.ScheduleManager(client).list_schedules()


def test_list_schedules_listing_error(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        status_code=403,
        json={"forbidden": {"message": "Policy forbids it", "code": 403}},
    )
    with pytest.raises(exceptions.Forbidden, match="Policy forbids it"):
        m.ScheduleManager(client).list_schedules()


def test_list_schedules_malformed_attribute(client, mock):
    mock.get(
        f"{SERVERS}?OS-SI:image_schedule=True",
        json=page([server(WEB1, "web1", OS_ATTR, {"retention": "seven"})]),
    )
    with pytest.raises(s.MalformedResponseError, match="retention"):
        m.ScheduleManager(client).list_schedules()

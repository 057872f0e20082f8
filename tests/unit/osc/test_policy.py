"""``openstack server image schedule plan|apply|export`` in-process,
Keystone, Nova and Glance mocked; every request asserted."""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import pytest
import requests_mock as rm
from keystoneauth1 import fixture as ks_fixture

from rax_scheduled_images_python_novaclient_ext import policy as policies
from rax_scheduled_images_python_novaclient_ext import policy_actions as run
from rax_scheduled_images_python_novaclient_ext import policy_plan as plans
from rax_scheduled_images_python_novaclient_ext.schedule import Schedule

from ..conftest import AUTH_URL, COMPUTE, IMAGE, glance_image
from .conftest import api_calls, bodies, sched_path, sched_url

DB1 = "11111111-1111-4111-8111-111111111111"
DB2 = "22222222-2222-4222-8222-222222222222"
CI1 = "33333333-3333-4333-8333-333333333333"
WEB = "44444444-4444-4444-8444-444444444444"
OTHER = "55555555-5555-4555-8555-555555555555"
ATTR = "OS-SI:image_schedule"
LIST = "/v2/p1/servers/detail"
POLICY = """\
rules:
  - match: {name: "db-*"}
    schedule: {daily: true, retention: 2}
  - match: {metadata: {backup: weekly}, region: LON}
    schedule: {weekly: sunday, retention: 4}
  - match: {name: "ci-*"}
    schedule: none
  - match: {name: "gone-*"}
    schedule: none
default: unmanaged
"""
PLAN_CMD = ("server", "image", "schedule", "plan")
APPLY_CMD = ("server", "image", "schedule", "apply")


def listed(
    id_: str, name: str, retention: int | None = None, **meta: str
) -> dict[str, Any]:
    found: dict[str, Any] = {"id": id_, "name": name, "metadata": meta}
    if retention is not None:
        found[ATTR] = {"retention": retention}
    return found


FLEET = [
    listed(DB1, "db-1", 5),  # decrease 5 -> 2: its images are read
    listed(DB2, "db-2"),  # create
    listed(CI1, "ci-1", 3),  # delete
    listed(WEB, "web", backup="weekly"),  # create, weekly
    listed(OTHER, "other", 7),  # unmanaged
]


def register_lon(mock: rm.Mocker) -> None:
    """The catalog's endpoints are in region LON."""
    token = ks_fixture.V3Token(project_id="p1", project_name="demo")
    for service, url in (("compute", COMPUTE), ("image", IMAGE)):
        token.add_service(service).add_standard_endpoints(
            public=url, region="LON"
        )
    mock.post(
        AUTH_URL + "/auth/tokens",
        json=token,
        headers={"X-Subject-Token": "tok"},
        status_code=201,
    )


def register_fleet(mock: rm.Mocker, fleet: list[dict[str, Any]]) -> None:
    register_lon(mock)
    mock.get(f"{COMPUTE}/servers/detail", json={"servers": fleet})
    # Five images of db-1: with retention 2 the next run keeps the newest
    # one and the new image, and deletes days 1 to 4.
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={DB1}",
        json={
            "images": [
                glance_image(f"img-{day}", day, server=DB1)
                for day in range(1, 6)
            ]
        },
    )


@pytest.fixture
def fleet(mock: rm.Mocker) -> None:
    register_fleet(mock, FLEET)


@pytest.fixture
def policy_file(tmp_path: pathlib.Path) -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(POLICY)
    return str(path)


def echo(request: Any, context: Any) -> Any:
    return request.json()


def register_changes(mock: rm.Mocker, now: dict[str, int] | None = None):
    """Each server's schedule as re-read before its change (by default
    as listed), and the changes themselves."""
    shown = {DB1: 5, CI1: 3, **(now or {})}
    for server_id in (DB1, DB2, CI1, WEB):
        if server_id in shown:
            mock.get(
                sched_url(server_id),
                json={"image_schedule": {"retention": shown[server_id]}},
            )
        else:
            mock.get(
                sched_url(server_id),
                status_code=404,
                json={"itemNotFound": {"message": "Image schedule does not "
                      f"exist for server {server_id}", "code": 404}},
            )  # fmt: skip
        mock.post(sched_url(server_id), json=echo)
    mock.delete(sched_url(CI1), status_code=202)
    mock.get(f"{COMPUTE}/servers/{CI1}", json={"server": listed(CI1, "ci-1")})


def test_plan_shows_each_change_and_the_images_a_decrease_costs(
    openstack, mock, fleet, policy_file
):
    shown = openstack(*PLAN_CMD, policy_file, "-f", "json")
    assert shown.code == 0, shown.err
    rows = json.loads(shown.out)
    assert [list(row) for row in rows] == [list(plans.COLUMNS)] * 5
    assert [(r["server_name"], r["action"]) for r in rows] == [
        ("db-1", "change"),
        ("db-2", "create"),
        ("ci-1", "delete"),
        ("web", "create"),
        ("other", "unmanaged"),
    ]
    assert rows[0]["current"] == "daily, retention 5"
    assert rows[0]["wanted"] == "daily, retention 2"
    assert [i["id"] for i in rows[0]["doomed_images"]] == [
        "img-1",
        "img-2",
        "img-3",
        "img-4",
    ]
    assert rows[3]["wanted"] == "weekly on SUNDAY, retention 4"
    assert rows[2]["wanted"] is None and rows[0]["region"] == "LON"
    assert shown.error_lines == [
        f"{policy_file}:8: warning: rule 4 matches no server",
        "Plan: 2 to create, 1 to change, 1 to delete; 4 images deleted at "
        "the next run; 1 unmanaged.",
    ]
    # Pages only: the server list, and the images of the decrease.
    assert api_calls(mock) == [
        ("GET", LIST),
        ("GET", f"/v2/images?instance_uuid={DB1}&limit=1000"),
    ]


def test_plan_value_lists_the_doomed_image_ids(
    openstack, mock, fleet, policy_file
):
    shown = openstack(
        *PLAN_CMD, policy_file, "-f", "value", "-c", "server_name",
        "-c", "doomed_images",
    )  # fmt: skip
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0] == "db-1 img-1 img-2 img-3 img-4"
    assert "{" not in shown.out and "None" not in shown.out


@pytest.mark.parametrize(
    ("fleet_shown", "code"),
    [(FLEET, 2), ([listed(DB1, "db-1", 2), listed(OTHER, "other")], 0)],
)
def test_detailed_exitcode_is_two_for_changes_zero_for_none(
    openstack, mock, policy_file, fleet_shown, code
):
    register_fleet(mock, fleet_shown)
    shown = openstack(*PLAN_CMD, policy_file, "--detailed-exitcode")
    assert shown.code == code, shown.err
    assert "| other " in shown.out
    plain = openstack(*PLAN_CMD, policy_file)
    assert plain.code == 0


def test_a_bad_file_is_one_line_and_sends_nothing(openstack, mock, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - match: {}\n    schedule: {daily: true}\n")
    for argv in ((*PLAN_CMD, str(bad)), (*APPLY_CMD, str(bad), "--yes")):
        shown = openstack(*argv)
        assert shown.code == 1
        assert shown.error_lines == [
            f"{bad}:3:15: the schedule of rule 1 has no retention"
        ]
    missing = openstack(*PLAN_CMD, str(tmp_path / "none.yaml"))
    assert missing.code == 1
    assert missing.error_lines == [
        f"{tmp_path / 'none.yaml'}: No such file or directory"
    ]
    # Only osc's own login, which it makes before any command runs.
    assert api_calls(mock) == []


def test_apply_yes_makes_exactly_the_plans_changes(
    openstack, mock, fleet, policy_file
):
    register_changes(mock)
    done = openstack(*APPLY_CMD, policy_file, "--yes", "--concurrency", "1")
    assert done.code == 0, done.err
    assert done.out.splitlines() == [
        f"change db-1 ({DB1}) in LON: daily, retention 5 -> daily, "
        "retention 2",
        "    deletes at the next run: img-1 Daily-myserver-1701",
        "    deletes at the next run: img-2 Daily-myserver-1702",
        "    deletes at the next run: img-3 Daily-myserver-1703",
        "    deletes at the next run: img-4 Daily-myserver-1704",
        f"create db-2 ({DB2}) in LON: no schedule -> daily, retention 2",
        f"delete ci-1 ({CI1}) in LON: daily, retention 3 -> no schedule",
        f"create web ({WEB}) in LON: no schedule -> weekly on "
        "SUNDAY, retention 4",
        "Plan: 2 to create, 1 to change, 1 to delete; 4 images deleted at "
        "the next run; 1 unmanaged.",
        f"db-1 ({DB1}) in LON: change: daily, retention 5 -> daily, "
        "retention 2",
        f"db-2 ({DB2}) in LON: create: daily, retention 2",
        f"ci-1 ({CI1}) in LON: delete: scheduled images disabled",
        f"web ({WEB}) in LON: create: weekly on SUNDAY, retention 4",
    ]
    changes = [
        call for call in api_calls(mock)[2:] if call[0] in ("POST", "DELETE")
    ]
    assert changes == [
        ("POST", sched_path(DB1)),
        ("POST", sched_path(DB2)),
        ("DELETE", sched_path(CI1)),
        ("POST", sched_path(WEB)),
    ]
    assert api_calls(mock)[2:] == [
        ("GET", sched_path(DB1)),
        ("POST", sched_path(DB1)),
        ("GET", sched_path(DB2)),
        ("POST", sched_path(DB2)),
        ("GET", sched_path(CI1)),
        ("GET", f"/v2/p1/servers/{CI1}"),  # confirmed, as unset does
        ("DELETE", sched_path(CI1)),
        ("GET", sched_path(WEB)),
        ("POST", sched_path(WEB)),
    ]
    assert bodies(mock) == {
        sched_path(DB1): {"image_schedule": {"retention": 2}},
        sched_path(DB2): {"image_schedule": {"retention": 2}},
        sched_path(WEB): {
            "image_schedule": {"retention": 4, "day_of_week": "SUNDAY"}
        },
    }


def test_apply_skips_a_server_changed_since_the_plan(
    openstack, mock, fleet, policy_file
):
    # Someone set db-1 to 9 and enabled db-2 by hand after the listing.
    register_changes(mock, now={DB1: 9, DB2: 1})
    done = openstack(*APPLY_CMD, policy_file, "--yes", "--concurrency", "1")
    assert done.code == 1
    assert done.error_lines[-3:] == [
        f"db-1 ({DB1}) in LON: skipped: its schedule changed since "
        "the plan (planned from daily, retention 5, now daily, retention "
        "9); nothing changed",
        f"db-2 ({DB2}) in LON: skipped: its schedule changed since "
        "the plan (planned from no schedule, now daily, retention 1); "
        "nothing changed",
        "2 of 4 changes not made: 0 failed, 2 skipped (changed since the "
        "plan).",
    ]
    posted = [path for method, path in api_calls(mock) if method == "POST"]
    assert posted == [sched_path(WEB)]
    assert ("DELETE", sched_path(CI1)) in api_calls(mock)


def test_apply_refuses_without_yes_when_stdin_is_not_a_terminal(
    openstack, mock, fleet, policy_file, monkeypatch
):
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    refused = openstack(*APPLY_CMD, policy_file)
    assert refused.code == 2
    assert refused.error_lines[-1] == (
        "Not applied: standard input is not a terminal to ask on; give "
        "--yes to apply the plan above without asking."
    )
    assert {method for method, _ in api_calls(mock)} == {"GET"}
    assert len(api_calls(mock)) == 2  # the list and the forecast


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code"), [("no\n", 1), ("yes\n", 0)])
def test_apply_asks_on_a_terminal_and_only_yes_applies(
    openstack, mock, fleet, policy_file, monkeypatch, answer, code
):
    register_changes(mock)
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    done = openstack(*APPLY_CMD, policy_file)
    assert done.code == code, done.err
    assert "Apply these changes? Only 'yes' applies them: " in done.out
    posted = [path for method, path in api_calls(mock) if method == "POST"]
    assert len(posted) == (3 if answer == "yes\n" else 0)


def test_apply_with_nothing_to_change_sends_no_change(
    openstack, mock, policy_file
):
    register_fleet(mock, [listed(DB1, "db-1", 2)])
    done = openstack(*APPLY_CMD, policy_file)
    assert done.code == 0, done.err
    assert done.out == "No changes; 0 unmanaged.\n"
    assert api_calls(mock) == [("GET", LIST)]


def test_export_writes_a_policy_that_plans_no_changes(
    openstack, mock, fleet, tmp_path
):
    exported = openstack("server", "image", "schedule", "export")
    assert exported.code == 0, exported.err
    assert exported.out == (
        "rules:\n"
        "- match: {name: ci-1}\n"
        "  schedule: {daily: true, retention: 3}\n"
        "- match: {name: db-1}\n"
        "  schedule: {daily: true, retention: 5}\n"
        "- match: {name: other}\n"
        "  schedule: {daily: true, retention: 7}\n"
        "default: unmanaged\n"
    )
    assert api_calls(mock) == [("GET", LIST)]
    path = tmp_path / "exported.yaml"
    path.write_text(exported.out)
    again = openstack(*PLAN_CMD, str(path), "--detailed-exitcode")
    assert again.code == 0, again.err


# --- the Python API: apply is given a plan and changes its rows only -----


class Recorder:
    """A schedule manager that records what it is asked."""

    def __init__(self, now: dict[str, Schedule | None]):
        self.now = now
        self.calls: list[tuple[str, str]] = []

    def get(self, server: str, *, confirm: bool = True) -> Any:
        from rax_scheduled_images_python_novaclient_ext.errors import (
            NoSchedule,
        )

        self.calls.append(("get", server))
        found = self.now[server]
        if found is None:
            raise NoSchedule(f"Scheduled images not enabled for {server}")
        return _Shown(found)

    def set(self, server: str, wanted: Schedule) -> Any:
        self.calls.append(("set", server))
        self.now[server] = wanted
        return _Shown(wanted)

    def disable(self, server: str) -> None:
        self.calls.append(("disable", server))
        self.now[server] = None


class _Shown:
    def __init__(self, schedule: Schedule):
        self.schedule = schedule

    def to_schedule(self) -> Schedule:
        return self.schedule


def test_apply_changes_only_the_rows_of_the_plan_it_is_given() -> None:
    servers = [
        plans.FleetServer(DB1, "db-1", Schedule(5)),
        plans.FleetServer(DB2, "db-2", None),
    ]
    policy = policies.parse(POLICY, "p.yaml")
    plan = plans.decide(policy, servers)
    assert [row.server_id for row in plan.rows] == [DB1, DB2]
    # After the plan, a new server appears that the policy would change,
    # and db-2's row is dropped from what is given to apply: neither is
    # touched.
    recorder = Recorder({DB1: Schedule(5), DB2: None, CI1: Schedule(3)})
    only_first = plans.Plan(plan.rows[:1])
    out, err = io.StringIO(), io.StringIO()
    outcome = run.apply(
        only_first, [run.RegionClients(None, recorder, dict)], 4, out, err
    )
    assert outcome.all_done
    assert recorder.calls == [("get", DB1), ("set", DB1)]
    assert out.getvalue() == (
        f"db-1 ({DB1}): change: daily, retention 5 -> daily, retention 2\n"
    )
    with pytest.raises(TypeError):
        run.apply(plan.rows, [], 1, out, err)  # type: ignore[arg-type]


def test_ctrl_c_during_apply_reports_what_was_done_and_exits_130(
    openstack, mock, fleet, policy_file
):
    from .test_bulk_commands import CtrlCAfter

    register_changes(mock)
    # The plan is 9 lines; Ctrl-C comes as the first change is reported.
    done = openstack(
        *APPLY_CMD, policy_file, "--yes", "--concurrency", "1",
        stdout=CtrlCAfter(10),
    )  # fmt: skip
    assert done.code == 130
    assert done.out.splitlines()[-1] == (
        f"db-1 ({DB1}) in LON: change: daily, retention 5 -> daily, "
        "retention 2"
    )
    assert done.error_lines[-1] == (
        f"Interrupted: 1 of 4 done; not started: db-2 ({DB2}) in LON, "
        f"ci-1 ({CI1}) in LON, web ({WEB}) in LON"
    )
    changed = [c for c in api_calls(mock) if c[0] in ("POST", "DELETE")]
    assert changed == [("POST", sched_path(DB1))]

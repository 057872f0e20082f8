"""policy_plan.py: the plan (match, diff, forecast) and the export,
pure."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import policy as policies
from rax_scheduled_images_python_novaclient_ext import policy_plan as plans
from rax_scheduled_images_python_novaclient_ext.schedule import (
    CREATED_BY_KEY,
    CREATED_BY_VALUE,
    Schedule,
)

POLICY = """\
rules:
  - match: {name: "db-*"}
    schedule: {daily: true, retention: 14}
  - match: {metadata: {backup: weekly}, region: LON}
    schedule: {weekly: sunday, retention: 4}
  - match: {name: "ci-*"}
    schedule: none
  - match: {name: "db-*", region: LON}
    schedule: {daily: true, retention: 1}
"""


def server(
    name: str,
    schedule: Schedule | None = None,
    region: str | None = "LON",
    **metadata: str,
) -> plans.FleetServer:
    return plans.FleetServer(f"id-{name}", name, schedule, metadata, region)


def plan_of(
    text: str, *servers: plans.FleetServer, default: str = ""
) -> plans.Plan:
    return plans.decide(policies.parse(text + default, "p.yaml"), servers)


def test_first_match_wins_and_each_action_is_planned() -> None:
    plan = plan_of(
        POLICY,
        server("db-1"),  # rule 1 (not rule 4, later)
        server("db-2", Schedule(20)),
        server("db-3", Schedule(14)),  # already as wanted: no row
        server("app", Schedule(4, "SUNDAY"), backup="weekly"),
        server("app2", Schedule(7), backup="weekly"),
        server("app3", Schedule(7), region="DFW", backup="weekly"),
        server("ci-1", Schedule(2)),
        server("ci-2"),
        server("web"),
    )
    assert [
        (r.server_name, r.action, r.current, r.wanted) for r in plan.rows
    ] == [
        ("db-1", "create", None, Schedule(14)),
        ("db-2", "change", Schedule(20), Schedule(14)),
        ("app2", "change", Schedule(7), Schedule(4, "SUNDAY")),
        ("ci-1", "delete", Schedule(2), None),
    ]
    assert [s.name for s in plan.unmanaged] == ["app3", "web"]
    assert [r.number for r in plan.unused_rules] == []
    assert plan.has_changes
    assert plans.summary(plan) == (
        "Plan: 1 to create, 2 to change, 1 to delete; 2 unmanaged."
    )


def test_a_rule_that_holds_for_no_server_is_a_warning_with_its_line() -> None:
    plan = plan_of(POLICY, server("db-1", region="DFW"))
    assert [r.number for r in plan.unused_rules] == [2, 3, 4]
    assert plans.unused_rule_warnings(plan, "p.yaml") == [
        "p.yaml:4: warning: rule 2 matches no server",
        "p.yaml:6: warning: rule 3 matches no server",
        "p.yaml:8: warning: rule 4 matches no server",
    ]


def test_a_rule_shadowed_for_every_server_is_used_not_warned() -> None:
    # Rule 4 holds for db-1 in LON (rule 1 wins): it is not a typo.
    plan = plan_of(POLICY, server("db-1"))
    assert 4 not in [r.number for r in plan.unused_rules]


@pytest.mark.parametrize(
    ("default", "action", "wanted"),
    [
        ("default: none\n", "delete", None),
        ("default: {daily: true, retention: 2}\n", "change", Schedule(2)),
    ],
)
def test_default_covers_the_servers_no_rule_matches(
    default: str, action: str, wanted: Schedule | None
) -> None:
    plan = plan_of(POLICY, server("web", Schedule(3)), default=default)
    assert [(r.action, r.wanted) for r in plan.rows] == [(action, wanted)]
    assert plan.unmanaged == ()


def test_no_changes_when_every_server_is_as_wanted() -> None:
    plan = plan_of(POLICY, server("db-1", Schedule(14)), server("x"))
    assert not plan.has_changes
    assert plans.summary(plan) == "No changes; 1 unmanaged."


def image(
    image_id: str, created: str, owner: str = "id-db-1", marked: bool = True
) -> dict[str, str]:
    found = {
        "id": image_id,
        "name": f"Daily-db-1-{image_id}",
        "status": "active",
        "created_at": created,
        "instance_uuid": owner,
    }
    if marked:
        found[CREATED_BY_KEY] = CREATED_BY_VALUE
    return found


def test_a_decrease_lists_what_the_next_run_deletes_oldest_first() -> None:
    plan = plan_of(
        POLICY, server("db-1", Schedule(20)), server("db-2", Schedule(3))
    )
    assert [r.server_name for r in plan.decreases()] == ["db-1"]
    images = [
        image(f"i{n}", f"2026-01-{n:02d}T00:00:00Z") for n in range(1, 17)
    ]
    images.append(image("kept", "2025-01-01T00:00:00Z", marked=False))
    images.append(image("other", "2025-01-01T00:00:00Z", owner="x"))
    shown = plans.forecast(plan, {("LON", "id-db-1"): images})
    # Retention 14: the newest 13 survive the next image; i1..i3 go.
    assert [i.id for i in shown.rows[0].doomed] == ["i1", "i2", "i3"]
    assert shown.rows[1].doomed == ()
    assert plans.summary(shown) == (
        "Plan: 0 to create, 2 to change, 0 to delete; 3 images deleted at "
        "the next run; 0 unmanaged."
    )


def test_a_plan_and_its_rows_cannot_be_changed() -> None:
    plan = plan_of(POLICY, server("db-1"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.rows = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.rows[0].wanted = None  # type: ignore[misc]
    assert isinstance(plan.rows, tuple)


# --- export -------------------------------------------------------------

NAMES = st.sampled_from(["db", "db*", "a?b", "[x]", "web", "w-1", "é ☕", "*"])
SCHEDULES = st.none() | st.builds(
    Schedule,
    st.integers(1, 30),
    st.none() | st.sampled_from(["SUNDAY", "FRIDAY"]),
)
FLEETS = st.lists(
    st.tuples(NAMES, SCHEDULES, st.sampled_from(["LON", "DFW"])),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(FLEETS, st.booleans())
def test_an_exported_fleet_plans_no_changes(
    fleet: list[tuple[str, Schedule | None, str]], with_region: bool
) -> None:
    servers = [
        plans.FleetServer(
            f"id-{n}", name, sched, {}, region if with_region else None
        )
        for n, (name, sched, region) in enumerate(fleet)
    ]
    text = plans.export(servers, with_region)
    assert text.isascii()
    policy = policies.parse(text, "exported.yaml")
    plan = plans.decide(policy, servers)
    assert plan.rows == ()
    assert plan.unused_rules == ()
    assert [s.server_id for s in plan.unmanaged] == [
        s.server_id for s in servers if s.schedule is None
    ]


def test_export_escapes_globs_and_matches_shared_names_by_id() -> None:
    servers = [
        server("db*", Schedule(3), region=None),
        server("db-1", Schedule(2, "SUNDAY"), region=None),
        plans.FleetServer("a", "web", Schedule(5), {}, None),
        plans.FleetServer("b", "web", None, {}, None),
    ]
    assert plans.export(servers, with_region=False) == (
        "rules:\n"
        "- match: {name: 'db[*]'}\n"
        "  schedule: {daily: true, retention: 3}\n"
        "- match: {name: db-1}\n"
        "  schedule: {weekly: sunday, retention: 2}\n"
        "- match: {name: web, id: a}\n"
        "  schedule: {daily: true, retention: 5}\n"
        "default: unmanaged\n"
    )

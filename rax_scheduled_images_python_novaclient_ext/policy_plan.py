# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""A policy against the fleet: the plan, and the fleet as a policy (pure).

:func:`decide` matches every server to the first rule that holds (else
the default) and compares what the rule wants with what the server has:
the rows of a :class:`Plan` are the changes (``create``, ``change``,
``delete``), and the servers no rule covers under ``default: unmanaged``
are kept beside them. A plan is immutable: ``apply`` is given the plan
that was shown and changes its rows, nothing else.

A retention decrease costs images: :func:`forecast` adds to each such
row the images the service's next run deletes (the forecast ``set``
prints, :func:`.schedule.plan_prune`), from that server's images, which
the caller reads for decreases only (:meth:`Plan.decreases`).

:func:`export` writes the fleet's schedules as a policy whose plan is
empty: one rule per scheduled server that matches it exactly.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from rax_scheduled_images_python_novaclient_ext import policy as policies
from rax_scheduled_images_python_novaclient_ext import schedule as domain

CREATE = "create"
CHANGE = "change"
DELETE = "delete"
UNMANAGED = policies.UNMANAGED
ACTIONS = (CREATE, CHANGE, DELETE)
# The plan's columns; also the keys of each row in ``-f json``.
COLUMNS = (
    "region",
    "server_id",
    "server_name",
    "action",
    "current",
    "wanted",
    "doomed_images",
)


@dataclasses.dataclass(frozen=True)
class FleetServer:
    """A server as a plan sees it: where it is, what it has."""

    server_id: str
    name: str
    schedule: domain.Schedule | None
    metadata: Mapping[str, str] = dataclasses.field(
        default_factory=dict, compare=False
    )
    region: str | None = None


@dataclasses.dataclass(frozen=True)
class DoomedImage:
    """An image the service's next run deletes once a row is applied."""

    id: str
    name: str
    created_at: str


@dataclasses.dataclass(frozen=True)
class PlanRow:
    """One server's change: ``current`` -> ``wanted`` (None: no
    schedule), and for a retention decrease the images that costs."""

    region: str | None
    server_id: str
    server_name: str
    action: str
    current: domain.Schedule | None
    wanted: domain.Schedule | None
    doomed: tuple[DoomedImage, ...] = ()

    @property
    def is_decrease(self) -> bool:
        """True when the retention goes down (images may be deleted)."""
        return (
            self.current is not None
            and self.wanted is not None
            and self.wanted.retention < self.current.retention
        )

    @property
    def label(self) -> str:
        """How one-line reports name the server."""
        where = f" in {self.region}" if self.region else ""
        return f"{self.server_name} ({self.server_id}){where}"


@dataclasses.dataclass(frozen=True)
class Plan:
    """What applying a policy changes, and what it leaves alone."""

    rows: tuple[PlanRow, ...]
    unmanaged: tuple[FleetServer, ...] = ()
    unused_rules: tuple[policies.Rule, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.rows)

    def decreases(self) -> tuple[PlanRow, ...]:
        """The rows whose server's images must be read for a forecast."""
        return tuple(row for row in self.rows if row.is_decrease)


class _RuleIndex:
    """The rules that may hold for a server, in order.

    An exported policy has one rule per server, each matching one exact
    name: testing every rule on every server would cost rules x servers
    glob matches (20 million for 2,000 rules and 10,000 servers), so
    rules whose glob matches one name only are looked up by that name.
    """

    def __init__(self, rules: Sequence[policies.Rule]):
        self.by_name: dict[str, list[policies.Rule]] = {}
        self.others: list[policies.Rule] = []
        for rule in rules:
            name = rule.match.name
            literal = None if name is None else policies.literal_of(name)
            if literal is None:
                self.others.append(rule)
            else:
                self.by_name.setdefault(literal, []).append(rule)

    def holding(self, server: FleetServer) -> list[policies.Rule]:
        """Every rule that holds for ``server``, in the file's order."""
        named = self.by_name.get(server.name, [])
        candidates = (
            sorted(named + self.others, key=lambda rule: rule.number)
            if named
            else self.others
        )
        return [
            rule
            for rule in candidates
            if rule.match.holds(
                server.name, server.metadata, server.region, server.server_id
            )
        ]


def decide(policy: policies.Policy, servers: Iterable[FleetServer]) -> Plan:
    """The plan that makes ``servers`` as ``policy`` wants them.

    Each server gets the first rule that holds (else the default). Rows
    are in the order of ``servers``; a server whose schedule is already
    the wanted one gets none. ``unused_rules`` are the rules that hold
    for no server, for a warning.
    """
    index = _RuleIndex(policy.rules)
    rows: list[PlanRow] = []
    unmanaged: list[FleetServer] = []
    used: set[int] = set()
    for server in servers:
        holding = index.holding(server)
        used.update(rule.number for rule in holding)
        wanted = holding[0].wanted if holding else policy.default
        if isinstance(wanted, str):  # UNMANAGED
            unmanaged.append(server)
            continue
        action = _action(server.schedule, wanted)
        if action is not None:
            rows.append(
                PlanRow(
                    server.region, server.server_id, server.name, action,
                    server.schedule, wanted,
                )
            )  # fmt: skip
    unused = tuple(r for r in policy.rules if r.number not in used)
    return Plan(tuple(rows), tuple(unmanaged), unused)


def _action(current: domain.Schedule | None, wanted: Any) -> str | None:
    if wanted == current:
        return None
    if current is None:
        return CREATE
    return DELETE if wanted is None else CHANGE


def forecast(
    plan: Plan,
    images: Mapping[tuple[str | None, str], Sequence[Mapping[str, Any]]],
) -> Plan:
    """``plan`` with each decrease's doomed images.

    :param images: the images of each decreasing row's server, by
        ``(region, server_id)``; a row without them gets none.
    """
    rows = []
    for row in plan.rows:
        listed = images.get((row.region, row.server_id))
        if row.is_decrease and listed is not None and row.wanted:
            doomed = domain.plan_prune(
                listed, row.server_id, row.wanted.retention
            )
            row = dataclasses.replace(
                row,
                doomed=tuple(
                    DoomedImage(
                        str(image.get("id")),
                        str(image.get("name") or ""),
                        str(image.get("created_at") or ""),
                    )
                    for image in domain.sort_oldest_first(listed)
                    if str(image.get("id")) in doomed
                ),
            )
        rows.append(row)
    return dataclasses.replace(plan, rows=tuple(rows))


def describe(schedule: domain.Schedule | None) -> str | None:
    """``daily, retention 7``, ``weekly on SUNDAY, retention 4``; None
    for no schedule."""
    if schedule is None:
        return None
    when = (
        f"weekly on {schedule.day_of_week}"
        if schedule.day_of_week
        else "daily"
    )
    return f"{when}, retention {schedule.retention}"


def summary(plan: Plan) -> str:
    """``Plan: 1 to create, 2 to change, 0 to delete; 3 unmanaged.``"""
    counts = Counter(row.action for row in plan.rows)
    unmanaged = f"; {len(plan.unmanaged)} unmanaged"
    if not plan.rows:
        return f"No changes{unmanaged}."
    doomed = sum(len(row.doomed) for row in plan.rows)
    cost = f"; {doomed} images deleted at the next run" if doomed else ""
    return (
        f"Plan: {counts[CREATE]} to create, {counts[CHANGE]} to change, "
        f"{counts[DELETE]} to delete{cost}{unmanaged}."
    )


def unused_rule_warnings(plan: Plan, path: str) -> list[str]:
    """``FILE:LINE: warning: rule N matches no server`` for each."""
    return [
        f"{path}:{rule.line}: warning: rule {rule.number} matches no server"
        for rule in plan.unused_rules
    ]


# --- the fleet as a policy ----------------------------------------------


def export(servers: Sequence[FleetServer], with_region: bool) -> str:
    """A policy file that wants exactly the schedules ``servers`` have.

    One rule per scheduled server, ordered by region and name, and
    ``default: unmanaged``. A rule
    matches its server's name as a glob with ``*``, ``?`` and ``[``
    escaped (``[*]``); a name that more than one server of the region
    has (scheduled or not) is matched by ``id`` too, so that no rule
    covers a server it was not written for. ``with_region`` adds each
    server's region (for a fleet read from several regions).
    """
    names = Counter((server.region, server.name) for server in servers)
    rules = []
    # By region and name, not in the list's order (newest first, which
    # every new server shifts): a file kept in version control then
    # changes by the lines of what changed.
    for server in sorted(
        servers, key=lambda s: (s.region or "", s.name, s.server_id)
    ):
        if server.schedule is None:
            continue
        match: dict[str, str] = {"name": policies.escape_glob(server.name)}
        if names[(server.region, server.name)] > 1:
            match["id"] = server.server_id
        if with_region and server.region is not None:
            match["region"] = server.region
        rules.append({"match": match, "schedule": _as_yaml(server.schedule)})
    document = {"rules": rules, "default": UNMANAGED}
    # ASCII only (names escaped as YAML's \u sequences): the file is the
    # same text whatever the terminal or locale it is written through.
    text: str = yaml.safe_dump(
        document,
        sort_keys=False,
        default_flow_style=None,
        allow_unicode=False,
        width=2**16,
    )
    return text


def _as_yaml(schedule: domain.Schedule) -> dict[str, Any]:
    if schedule.day_of_week is None:
        return {"daily": True, "retention": schedule.retention}
    return {
        "weekly": schedule.day_of_week.lower(),
        "retention": schedule.retention,
    }

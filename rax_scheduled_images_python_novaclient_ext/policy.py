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
"""A policy file: which schedule each server should have (pure, no I/O).

The file is YAML, read with PyYAML's safe loader into nodes (which keep
their line and column) and validated here against the schema below, so
that every mistake is one line, ``FILE:LINE:COLUMN: message``, before
any request is sent::

    rules:                    # first match wins
      - match: {name: "db-*"}
        schedule: {daily: true, retention: 14}
      - match: {metadata: {backup: weekly}, region: LON}
        schedule: {weekly: sunday, retention: 4}
      - match: {name: "ci-*"}
        schedule: none        # deliberately without a schedule
    default: unmanaged        # or a schedule, or none

``match`` keys, all of which must hold: ``name`` (a glob, case
sensitive: ``*``, ``?``, ``[...]``; ``[*]`` is a literal star),
``metadata`` (a mapping of key to value, a null value meaning "has the
key"; or a key alone), ``region`` and ``id`` (a server's exact id).
An empty match (``{}``) or ``name: "*"`` is a catch-all: a rule after
it could never match, and is refused.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from rax_scheduled_images_python_novaclient_ext import schedule as domain

UNMANAGED = "unmanaged"
NONE = "none"
TOP_KEYS = ("rules", "default")
RULE_KEYS = ("match", "schedule")
MATCH_KEYS = ("name", "metadata", "region", "id")
SCHEDULE_KEYS = ("daily", "weekly", "retention")
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"


class PolicyError(ValueError):
    """A policy file the client refuses, at a place in the file.

    ``str()`` is the one line a user sees: ``FILE:LINE:COLUMN: message``
    (line and column counted from 1).
    """

    def __init__(self, path: str, line: int, column: int, message: str):
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"{path}:{line}:{column}: {message}")


@dataclasses.dataclass(frozen=True)
class Match:
    """What a server must be to match a rule; None: anything."""

    name: str | None = None
    metadata: tuple[tuple[str, str | None], ...] = ()
    region: str | None = None
    server_id: str | None = None

    @property
    def is_catch_all(self) -> bool:
        """True when every server matches (a later rule never would)."""
        return (
            not self.metadata
            and self.region is None
            and self.server_id is None
            and (self.name is None or set(self.name) == {"*"})
        )

    def holds(
        self,
        name: str,
        metadata: Mapping[str, str],
        region: str | None,
        server_id: str,
    ) -> bool:
        """True when a server with these values matches: all keys hold."""
        if self.server_id is not None and self.server_id != server_id:
            return False
        if self.region is not None and self.region != region:
            return False
        if self.name is not None and not fnmatch.fnmatchcase(name, self.name):
            return False
        return all(
            key in metadata and (value is None or metadata[key] == value)
            for key, value in self.metadata
        )


# What a rule (or the default) wants: a schedule, or None for "none".
Wanted = domain.Schedule | None


@dataclasses.dataclass(frozen=True)
class Rule:
    """``match`` -> ``wanted``; ``line`` is where the rule starts."""

    match: Match
    wanted: Wanted
    line: int
    number: int


@dataclasses.dataclass(frozen=True)
class Policy:
    """A validated policy file. ``default`` is :data:`UNMANAGED`, a
    schedule, or None (``none``: no schedule)."""

    path: str
    rules: tuple[Rule, ...]
    default: Wanted | str = UNMANAGED


def escape_glob(name: str) -> str:
    """A glob that matches exactly ``name``: ``*``, ``?`` and ``[`` each
    in brackets (``db[*]1`` matches only ``db*1``)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def literal_of(glob: str) -> str | None:
    """The one name ``glob`` matches, when it matches only one (no
    wildcard; ``[c]`` a single character); else None."""
    out: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char in "*?":
            return None
        if char == "[":
            inner = glob[index + 1 : index + 3]
            if len(inner) < 2 or inner[1] != "]" or inner[0] in "!]":
                return None
            out.append(inner[0])
            index += 3
            continue
        out.append(char)
        index += 1
    return "".join(out)


def parse(text: str, path: str) -> Policy:
    """Read and validate a policy file's text.

    :param path: the file's name, for the error lines.
    :raises PolicyError: for YAML syntax, a missing ``rules``, an unknown
        key, a value of the wrong type, a bad retention or day, or a rule
        after a catch-all.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "not YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PolicyError(
            path, line, column, f"YAML syntax: {problem}"
        ) from None
    except yaml.YAMLError as error:
        raise PolicyError(path, 1, 1, f"YAML syntax: {error}") from None
    return _Reader(path).policy(root)


class _Reader:
    """Turns the composed nodes into a :class:`Policy`, or the first
    :class:`PolicyError` in file order."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, node: yaml.Node, message: str) -> PolicyError:
        mark = node.start_mark
        return PolicyError(self.path, mark.line + 1, mark.column + 1, message)

    def mapping(
        self, node: yaml.Node, what: str, keys: tuple[str, ...]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The keys of a mapping node (each once, each known)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            name = self.text(key, f"a key of {what}")
            if name not in keys:
                raise self.fail(
                    key,
                    f"unknown key '{name}' in {what} "
                    f"(expected {', '.join(keys)})",
                )
            if name in found:
                raise self.fail(key, f"duplicate key '{name}' in {what}")
            found[name] = (key, value)
        return found

    def text(self, node: yaml.Node, what: str) -> str:
        """A scalar's text as written (``yes`` stays "yes", ``14`` "14")."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL:
            raise self.fail(node, f"{what} must be a string")
        return str(node.value)

    def policy(self, root: yaml.Node | None) -> Policy:
        if root is None:
            return self._missing_rules(1, 1)
        top = self.mapping(root, "the policy", TOP_KEYS)
        if "rules" not in top:
            mark = root.start_mark
            return self._missing_rules(mark.line + 1, mark.column + 1)
        rules_node = top["rules"][1]
        if not isinstance(rules_node, yaml.SequenceNode):
            raise self.fail(rules_node, "rules must be a list of rules")
        rules: list[Rule] = []
        for number, node in enumerate(rules_node.value, 1):
            if rules and rules[-1].match.is_catch_all:
                raise self.fail(
                    node,
                    f"rule {number} comes after rule {number - 1}, which "
                    "matches every server: it would never match",
                )
            rules.append(self.rule(node, number))
        default: Wanted | str = UNMANAGED
        if "default" in top:
            value = top["default"][1]
            if _is_word(value, UNMANAGED):
                default = UNMANAGED
            else:
                default = self.wanted(value, "default")
        return Policy(self.path, tuple(rules), default)

    def _missing_rules(self, line: int, column: int) -> Policy:
        raise PolicyError(
            self.path, line, column, "the policy has no 'rules' list"
        )

    def rule(self, node: yaml.Node, number: int) -> Rule:
        what = f"rule {number}"
        keys = self.mapping(node, what, RULE_KEYS)
        for needed in RULE_KEYS:
            if needed not in keys:
                raise self.fail(node, f"{what} has no '{needed}'")
        return Rule(
            match=self.match(keys["match"][1], what),
            wanted=self.wanted(keys["schedule"][1], f"the schedule of {what}"),
            line=node.start_mark.line + 1,
            number=number,
        )

    def match(self, node: yaml.Node, rule: str) -> Match:
        what = f"the match of {rule}"
        keys = self.mapping(node, what, MATCH_KEYS)
        values = {
            key: self.text(value, f"{key} in {what}")
            for key, (_, value) in keys.items()
            if key != "metadata"
        }
        metadata: tuple[tuple[str, str | None], ...] = ()
        if "metadata" in keys:
            metadata = self.metadata(keys["metadata"][1], what)
        return Match(
            name=values.get("name"),
            metadata=metadata,
            region=values.get("region"),
            server_id=values.get("id"),
        )

    def metadata(
        self, node: yaml.Node, what: str
    ) -> tuple[tuple[str, str | None], ...]:
        """``{key: value}`` (null: any value), or a key alone."""
        if isinstance(node, yaml.ScalarNode) and node.tag != _NULL:
            return ((str(node.value), None),)
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(
                node,
                f"metadata in {what} must be a key or a mapping of "
                "keys to values",
            )
        pairs: dict[str, str | None] = {}
        for key, value in node.value:
            name = self.text(key, f"a metadata key in {what}")
            if name in pairs:
                raise self.fail(key, f"duplicate metadata key '{name}'")
            if isinstance(value, yaml.ScalarNode) and value.tag == _NULL:
                pairs[name] = None
            else:
                pairs[name] = self.text(value, f"metadata '{name}' value")
        return tuple(pairs.items())

    def wanted(self, node: yaml.Node, what: str) -> Wanted:
        """A schedule mapping, or ``none``."""
        if _is_word(node, NONE):
            return None
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(
                node,
                f"{what} must be a schedule ({{daily: true, retention: N}} "
                f"or {{weekly: DAY, retention: N}}) or none",
            )
        keys = self.mapping(node, what, SCHEDULE_KEYS)
        if "retention" not in keys:
            raise self.fail(node, f"{what} has no retention")
        if ("daily" in keys) == ("weekly" in keys):
            raise self.fail(
                node, f"{what} needs either daily: true or weekly: DAY"
            )
        _, retention_node = keys["retention"]
        retention = self.value(retention_node, "retention")
        if isinstance(retention, bool) or not isinstance(retention, int):
            # As written in the file: `true`, not Python's True.
            retention = getattr(retention_node, "value", retention)
        try:
            number = domain.parse_retention(retention)
        except domain.ScheduleError as error:
            raise self.fail(retention_node, str(error)) from None
        if "daily" in keys:
            daily = keys["daily"][1]
            if daily.tag != _BOOL or self.value(daily, "daily") is not True:
                raise self.fail(
                    daily,
                    "daily must be true (for a weekly schedule, give "
                    "weekly: DAY instead)",
                )
            return domain.Schedule(number)
        day_node = keys["weekly"][1]
        try:
            day = domain.parse_day_of_week(self.value(day_node, "weekly"))
        except domain.ScheduleError as error:
            raise self.fail(day_node, str(error)) from None
        return domain.Schedule(number, day)

    def value(self, node: yaml.Node, what: str) -> Any:
        """A scalar as safe YAML reads it (``14`` an int, ``true`` a
        bool)."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        return SafeConstructor().construct_object(node, deep=True)


def _is_word(node: yaml.Node, word: str) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == _STR
        and node.value == word
    )

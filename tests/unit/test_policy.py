"""policy.py: a policy file read and validated, each mistake one line
``FILE:LINE:COLUMN: message`` (line and column from 1)."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import policy as policies
from rax_scheduled_images_python_novaclient_ext.schedule import Schedule

ISSUE_EXAMPLE = """\
rules:                  # first match wins
  - match: {name: "db-*"}
    schedule: {daily: true, retention: 14}
  - match: {metadata: {backup: weekly}, region: LON}
    schedule: {weekly: sunday, retention: 4}
  - match: {name: "ci-*"}
    schedule: none      # deliberately without a schedule
default: unmanaged      # or a schedule, or none
"""


def error_of(text: str) -> str:
    with pytest.raises(policies.PolicyError) as caught:
        policies.parse(text, "fleet.yaml")
    return str(caught.value)


def test_the_issue_example_reads_as_three_rules_and_unmanaged() -> None:
    policy = policies.parse(ISSUE_EXAMPLE, "fleet.yaml")
    assert [rule.wanted for rule in policy.rules] == [
        Schedule(14),
        Schedule(4, "SUNDAY"),
        None,
    ]
    assert [rule.line for rule in policy.rules] == [2, 4, 6]
    assert policy.rules[1].match == policies.Match(
        metadata=(("backup", "weekly"),), region="LON"
    )
    assert policy.default == policies.UNMANAGED


def test_default_may_be_a_schedule_or_none_and_is_unmanaged_if_absent() -> (
    None
):
    rules = "rules:\n  - match: {name: a}\n    schedule: none\n"
    assert policies.parse(rules, "f").default == policies.UNMANAGED
    assert policies.parse(rules + "default: none\n", "f").default is None
    weekly = rules + "default: {weekly: SAT, retention: 2}\n"
    assert policies.parse(weekly, "f").default == Schedule(2, "SATURDAY")


def test_metadata_values_are_the_text_as_written_and_null_means_any() -> None:
    text = (
        "rules:\n"
        "  - match: {metadata: {backup: yes, tier: 1, owner: ~}}\n"
        "    schedule: none\n"
        "  - match: {metadata: env}\n"
        "    schedule: none\n"
    )
    first, second = policies.parse(text, "f").rules
    assert first.match.metadata == (
        ("backup", "yes"),
        ("tier", "1"),
        ("owner", None),
    )
    assert second.match.metadata == (("env", None),)


# Each mistake, with the exact place the error names.
ERRORS = [
    ("rules: [\n", "fleet.yaml:2:1: YAML syntax: expected the node content"),
    (
        "rules:\n  - match: {name: a\n    schedule: none\n",
        "fleet.yaml:3:13: YAML syntax: expected ',' or '}', but got ':'",
    ),
    ("", "fleet.yaml:1:1: the policy has no 'rules' list"),
    ("default: none\n", "fleet.yaml:1:1: the policy has no 'rules' list"),
    ("- a\n", "fleet.yaml:1:1: the policy must be a mapping"),
    ("rules: 3\n", "fleet.yaml:1:8: rules must be a list of rules"),
    (
        "rules: []\nrule: []\n",
        "fleet.yaml:2:1: unknown key 'rule' in the policy "
        "(expected rules, default)",
    ),
    (
        "rules: []\nrules: []\n",
        "fleet.yaml:2:1: duplicate key 'rules' in the policy",
    ),
    (
        "rules:\n  - match: {name: a}\n    schedule: none\n    when: x\n",
        "fleet.yaml:4:5: unknown key 'when' in rule 1 "
        "(expected match, schedule)",
    ),
    (
        "rules:\n  - match: {nmae: a}\n    schedule: none\n",
        "fleet.yaml:2:13: unknown key 'nmae' in the match of rule 1 "
        "(expected name, metadata, region, id)",
    ),
    (
        "rules:\n  - match: {name: a}\n",
        "fleet.yaml:2:5: rule 1 has no 'schedule'",
    ),
    ("rules:\n  - schedule: none\n", "fleet.yaml:2:5: rule 1 has no 'match'"),
    (
        "rules:\n  - match: {name: [a, b]}\n    schedule: none\n",
        "fleet.yaml:2:19: name in the match of rule 1 must be a string",
    ),
    (
        "rules:\n  - match: {region: ~}\n    schedule: none\n",
        "fleet.yaml:2:21: region in the match of rule 1 must be a string",
    ),
    (
        "rules:\n  - match: {metadata: [a]}\n    schedule: none\n",
        "fleet.yaml:2:23: metadata in the match of rule 1 must be a key or "
        "a mapping of keys to values",
    ),
    (
        "rules:\n  - match: {metadata: {a: [1]}}\n    schedule: none\n",
        "fleet.yaml:2:27: metadata 'a' value must be a string",
    ),
    (
        "rules:\n  - match: a\n    schedule: none\n",
        "fleet.yaml:2:12: the match of rule 1 must be a mapping",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {daily: true, retention: 0}\n",
        "fleet.yaml:3:40: Invalid retention '0': it must be a positive "
        "integer (1 or more).",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {daily: true, retention: -2}\n",
        "fleet.yaml:3:40: Invalid retention '-2': it must be a positive "
        "integer (1 or more).",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {daily: true, retention: 1.5}\n",
        "fleet.yaml:3:40: Invalid retention '1.5': it must be a positive "
        "integer (1 or more).",
    ),
    (
        "rules:\n  - match: {}\n"
        "    schedule: {daily: true, retention: true}\n",
        "fleet.yaml:3:40: Invalid retention 'true': it must be a positive "
        "integer (1 or more).",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {daily: true, retention: [1]}\n",
        "fleet.yaml:3:40: retention must be a single value",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {daily: true}\n",
        "fleet.yaml:3:15: the schedule of rule 1 has no retention",
    ),
    (
        "rules:\n  - match: {}\n"
        "    schedule: {weekly: funday, retention: 2}\n",
        "fleet.yaml:3:24: Invalid day of week 'funday': use one of sunday, "
        "monday, tuesday, wednesday, thursday, friday, saturday (or their "
        "first three letters).",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {weekly: 3, retention: 2}\n",
        "fleet.yaml:3:24: Invalid day of week '3': use one of sunday, "
        "monday, tuesday, wednesday, thursday, friday, saturday (or their "
        "first three letters).",
    ),
    (
        "rules:\n  - match: {}\n"
        "    schedule: {daily: true, weekly: sun, retention: 2}\n",
        "fleet.yaml:3:15: the schedule of rule 1 needs either daily: true "
        "or weekly: DAY",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {retention: 2}\n",
        "fleet.yaml:3:15: the schedule of rule 1 needs either daily: true "
        "or weekly: DAY",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {daily: no, retention: 2}\n",
        "fleet.yaml:3:23: daily must be true (for a weekly schedule, give "
        "weekly: DAY instead)",
    ),
    (
        "rules:\n  - match: {}\n    schedule: {daily: true, keep: 2}\n",
        "fleet.yaml:3:29: unknown key 'keep' in the schedule of rule 1 "
        "(expected daily, weekly, retention)",
    ),
    (
        "rules:\n  - match: {}\n    schedule: unmanaged\n",
        "fleet.yaml:3:15: the schedule of rule 1 must be a schedule "
        "({daily: true, retention: N} or {weekly: DAY, retention: N}) or none",
    ),
    (
        "rules: []\ndefault: sometimes\n",
        "fleet.yaml:2:10: default must be a schedule ({daily: true, "
        "retention: N} or {weekly: DAY, retention: N}) or none",
    ),
    (
        "rules:\n  - match: {}\n    schedule: none\n"
        "  - match: {name: db}\n    schedule: none\n",
        "fleet.yaml:4:5: rule 2 comes after rule 1, which matches every "
        "server: it would never match",
    ),
    (
        "rules:\n  - match: {name: '**'}\n    schedule: none\n"
        "  - match: {name: db}\n    schedule: none\n",
        "fleet.yaml:4:5: rule 2 comes after rule 1, which matches every "
        "server: it would never match",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_each_mistake_is_one_line_at_its_place(
    text: str, expected: str
) -> None:
    message = error_of(text)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_a_rule_after_a_narrower_rule_is_not_a_catch_all_error() -> None:
    text = (
        "rules:\n  - match: {name: '*', region: LON}\n    schedule: none\n"
        "  - match: {}\n    schedule: none\n"
    )
    assert len(policies.parse(text, "f").rules) == 2


def test_match_holds_only_when_every_key_holds() -> None:
    match = policies.Match(
        name="db-*",
        metadata=(("backup", "weekly"), ("env", None)),
        region="LON",
    )
    meta = {"backup": "weekly", "env": "prod"}
    assert match.holds("db-1", meta, "LON", "id")
    assert not match.holds("web-1", meta, "LON", "id")
    assert not match.holds("db-1", meta, "DFW", "id")
    assert not match.holds("db-1", {"backup": "daily", "env": "x"}, "LON", "i")
    assert not match.holds("db-1", {"backup": "weekly"}, "LON", "id")
    assert not match.holds("DB-1", meta, "LON", "id")  # case sensitive
    by_id = policies.Match(server_id="abc")
    assert by_id.holds("x", {}, None, "abc")
    assert not by_id.holds("x", {}, None, "abd")


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab*?[]!-^ ", max_size=8),
    st.text(alphabet="ab*?[]!-^ ", max_size=8),
)
def test_an_escaped_name_matches_itself_only(name: str, other: str) -> None:
    glob = policies.escape_glob(name)
    assert fnmatch.fnmatchcase(name, glob)
    assert fnmatch.fnmatchcase(other, glob) == (other == name)
    assert policies.literal_of(glob) == name


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab*?[]!-^", max_size=8),
    st.text(alphabet="ab*?[]!", max_size=6),
)
def test_a_literal_glob_matches_exactly_its_literal(
    glob: str, name: str
) -> None:
    literal = policies.literal_of(glob)
    if literal is not None:
        assert fnmatch.fnmatchcase(name, glob) == (name == literal)

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
"""The benchmark's cases, in the order they run and appear in the report.

Each case is one module here defining ``CASE``, a `Case`: its name (the
key in ``results.json`` and for ``--only``), its section title, the
function that measures it and the ones that render it and its goals.
Adding a case is one new module and one line in `NAMES`.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Registration: one module name per line, in report order (the section
# number is the position here).
NAMES = (
    "commands",
    "fleet",
    "bulk",
    "startup",
    "sandbox",
    "health",
    "orphans",
    "regions",
    "restore",
    "policy",
)

# (goal, measured, verdict): one row of the report's "Goals" table.
Goal = tuple[str, str, str]
Results = dict[str, Any]


def no_goals(case: Results) -> list[Goal]:
    return []


@dataclass(frozen=True)
class Case:
    name: str
    title: str  # the report's section heading, after its number
    measure: Callable[[argparse.Namespace], Results]
    render: Callable[[Results], list[str]]  # the section, after its heading
    goals: Callable[[Results], list[Goal]] = no_goals
    tag: str = ""  # the case's word in the Goals table; its name if empty

    @property
    def label(self) -> str:
        return self.tag or self.name


def load(name: str) -> Case:
    case = importlib.import_module(f"{__name__}.{name}").CASE
    if not isinstance(case, Case) or case.name != name:
        raise TypeError(f"bench.cases.{name}.CASE is not its Case")
    return case


def all_cases() -> list[Case]:
    return [load(name) for name in NAMES]

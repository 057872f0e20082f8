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
"""How the ``openstack`` commands show a value that is missing.

The rule, for every command and column: the domain gives a missing value
as ``None`` (never ``""``), and every output format shows it the same way
in every command: blank in ``table``, ``value`` and ``shell``, empty in
``csv``, null in ``json`` and ``yaml``. ``--sort-column`` puts it after
every value (before them with ``--sort-descending``).

cliff alone cannot do that: it prints a bare ``None`` as the word
``None`` in ``table``, ``value`` and ``shell``, and those last two read a
column's ``machine_readable()`` as JSON does. So :func:`shown` hands a
bare ``None`` to the machine formats and a :class:`Missing` to the human
ones.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from cliff import columns

# cliff's formatters that write for people; any other (json, yaml, csv,
# a plugin's) gets a bare None.
HUMAN_FORMATS = frozenset({"table", "value", "shell"})


class Missing(columns.FormattableColumn[None]):
    """A value that is not there, shown blank."""

    def __init__(self) -> None:
        super().__init__(None)

    def human_readable(self) -> str:
        return ""

    def machine_readable(self) -> Any:
        # Read by -f value and -f shell only: see shown().
        return ""

    # cliff sorts a column by its values, numbers or text next to these:
    # a missing value is greater than any of them (as cliff orders a bare
    # None), and equal to another missing one.
    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return not isinstance(other, Missing)

    def __hash__(self) -> int:
        return hash(None)


def shown(
    values: Iterable[Any], parsed_args: argparse.Namespace
) -> tuple[Any, ...]:
    """A row (or a ShowOne's values) for the format the user chose."""
    if getattr(parsed_args, "formatter", "table") not in HUMAN_FORMATS:
        return tuple(values)
    return tuple(Missing() if value is None else value for value in values)

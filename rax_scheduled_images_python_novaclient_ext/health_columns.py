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
"""The columns of ``list --long``: a table for people, keys for scripts.
Pure; both front ends print these."""

from __future__ import annotations

from typing import Any

from rax_scheduled_images_python_novaclient_ext import health
from rax_scheduled_images_python_novaclient_ext import schedule as domain

# Table titles (human units), after the schedule columns of ``list``.
LONG_COLUMNS: tuple[str, ...] = (
    *domain.SCHEDULE_COLUMNS,
    "Last image (UTC)",
    "Age",
    "Counted",
    "Failed",
    "Kept",
    "Size",
    "State",
)
# The keys of the machine formats (``-f json``, yaml, csv, value): a
# contract with scripts, so bytes, hours and ISO times, and None for
# "no value".
LONG_KEYS: tuple[str, ...] = (
    "server_id",
    "server_name",
    "type",
    "day_of_week",
    "retention",
    "last_image_id",
    "last_image_created",
    "age_hours",
    "counted",
    "failed",
    "kept",
    "size_bytes",
    "state",
    "reason",
)


def long_cells(row: health.ServerHealth) -> tuple[Any, ...]:
    """The table row, in the order of :data:`LONG_COLUMNS`; None where
    there is no value."""
    schedule = row.schedule
    return (
        row.server_id,
        row.server_name,
        None if schedule is None else schedule.kind,
        None if schedule is None else schedule.day_of_week,
        None if schedule is None else schedule.retention,
        None if row.last is None else health.format_time(row.last.created),
        None if row.age is None else health.format_age(row.age),
        row.counted,
        row.failed,
        row.kept,
        health.format_size(row.size),
        row.state,
    )


def long_values(row: health.ServerHealth) -> tuple[Any, ...]:
    """The machine row, in the order of :data:`LONG_KEYS`."""
    schedule = row.schedule
    age = None
    if row.age is not None:
        age = round(row.age.total_seconds() / 3600, 2)
    return (
        row.server_id,
        row.server_name,
        None if schedule is None else schedule.kind.lower(),
        None if schedule is None else schedule.day_of_week,
        None if schedule is None else schedule.retention,
        None if row.last is None else row.last.id,
        None if row.last is None else health.iso_time(row.last.created),
        age,
        row.counted,
        row.failed,
        row.kept,
        row.size,
        row.state,
        row.reason,
    )

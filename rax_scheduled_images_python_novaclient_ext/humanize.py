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
"""Ages, sizes and times in the words the health view and the check use.
Pure."""

from __future__ import annotations

import datetime


def format_age(age: datetime.timedelta, seconds: bool = False) -> str:
    """An age in words: ``8d 4h`` from three days on, ``30h 10m`` below,
    ``45s`` under a minute.

    Rounded down to the minute (to the second under a minute, or with
    ``seconds``), so 27 h 59 m 59 s never reads as 28 h.
    """
    total = int(age.total_seconds() // 1)
    sign = "-" if total < 0 else ""
    total = abs(total)
    minutes, secs = divmod(total, 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days < 3:
        # Under three days, hours read better ("30h", "52h": the daily
        # ages people reason in).
        days, hours = 0, hours + 24 * days
    if seconds:
        parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
        first = next((n for n, (v, _) in enumerate(parts) if v), 3)
        return sign + " ".join(f"{v}{u}" for v, u in parts[first:])
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {minutes}m" if minutes else f"{hours}h"
    elif minutes:
        text = f"{minutes}m"
    else:
        text = f"{secs}s"
    return sign + text


def format_beyond(age: datetime.timedelta, limit: datetime.timedelta) -> str:
    """``age`` (which is more than ``limit``) in words that differ from
    ``limit``'s: to the second when the minutes alone read the same
    ("28h 0m 1s old (daily warning after 28h)"), else "more than" it."""
    text = format_age(age)
    if text != format_age(limit):
        return text
    text = format_age(age, seconds=True)
    if text != format_age(limit, seconds=True):
        return text
    return f"more than {format_age(limit)}"


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(size: int) -> str:
    """Bytes in binary units with one decimal: ``1.5 GiB``, ``512 B``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_time(when: datetime.datetime) -> str:
    """An image time as the tables show it: UTC to the minute."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def iso_time(when: datetime.datetime) -> str:
    """An image time as JSON shows it: ISO 8601, UTC, ``Z``."""
    utc = when.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")

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
"""Seeded, reproducible fault injection for the sandbox's API routes.

The n-th API request a sandbox receives always meets the same fate for a
given seed and settings, so a client's retry logic can be tested with
failures that happen at known places. Admin routes never draw from the
generator, so inspecting the sandbox does not shift the sequence.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

DEFAULT_FAULT_CODES = (503, 429, 413)
# Codes a client is told to retry later; they carry Retry-After.
RETRY_LATER_CODES = frozenset({413, 429, 503})


@dataclass(frozen=True)
class Fate:
    """What happens to one request: nothing, an error answer, or a drop."""

    kind: str  # "pass", "error" or "drop"
    code: int = 0


PASS = Fate("pass")


@dataclass
class FaultSettings:
    seed: int = 0
    fault_rate: float = 0.0
    drop_rate: float = 0.0
    fault_codes: tuple[int, ...] = DEFAULT_FAULT_CODES
    retry_after: int = 1
    latency_ms: int = 0
    fault_identity: bool = False

    def validate(self) -> None:
        """Raise ValueError for settings no request could be judged by."""
        for name in ("fault_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if not self.fault_codes:
            raise ValueError("fault_codes must name at least one code")
        for code in self.fault_codes:
            if not 400 <= code <= 599:
                raise ValueError(f"fault code {code} is not a 4xx or 5xx")
        if self.retry_after < 0 or self.latency_ms < 0:
            raise ValueError("retry_after and latency_ms must be >= 0")

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "fault_rate": self.fault_rate,
            "drop_rate": self.drop_rate,
            "fault_codes": list(self.fault_codes),
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "fault_identity": self.fault_identity,
        }


def parse_codes(text: str) -> tuple[int, ...]:
    """`"503,429"` → (503, 429); raises ValueError on anything else."""
    codes = tuple(int(part) for part in text.split(",") if part.strip())
    if not codes:
        raise ValueError("no fault codes given")
    return codes


class FaultInjector:
    """Decides each API request's fate from a seeded generator.

    Every API request draws exactly three numbers whatever the settings,
    so changing a rate does not change which later requests are hit by
    the other kind of fault.
    """

    def __init__(self, settings: FaultSettings) -> None:
        settings.validate()
        self._lock = threading.Lock()
        self.settings = settings
        self._rng = random.Random(settings.seed)

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        """Apply changes from the admin API; a new seed restarts the run."""
        current = self.settings.to_json()
        unknown = set(changes) - set(current)
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        current.update(changes)
        try:
            settings = FaultSettings(
                seed=int(current["seed"]),
                fault_rate=float(current["fault_rate"]),
                drop_rate=float(current["drop_rate"]),
                fault_codes=tuple(int(c) for c in current["fault_codes"]),
                retry_after=int(current["retry_after"]),
                latency_ms=int(current["latency_ms"]),
                fault_identity=bool(current["fault_identity"]),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault settings: {exc}") from exc
        settings.validate()
        with self._lock:
            if "seed" in changes:
                self._rng = random.Random(settings.seed)
            self.settings = settings
        return settings

    def draw(self) -> Fate:
        with self._lock:
            drop, fault, pick = (self._rng.random() for _ in range(3))
            settings = self.settings
        if drop < settings.drop_rate:
            return Fate("drop")
        if fault < settings.fault_rate:
            codes = settings.fault_codes
            return Fate("error", codes[int(pick * len(codes)) % len(codes)])
        return PASS

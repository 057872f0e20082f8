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
"""How hard to try again when the cloud is briefly unwell.

Retried: connection failures (refused, reset, dropped) and over-limit or
unavailable answers (413, 429, 502, 503, 504). keystoneauth's session can
retry both, and was the first choice, but it falls short twice for a
command run from cron: it sleeps for whatever ``Retry-After`` says,
uncapped, and it retries timeouts too, so a hung endpoint would hold a
command for several times the ``--timeout`` its user set. So the loop is
here, small, and keystoneauth still does the sending.

Not retried: timeouts (the user's bound), 4xx answers other than 413 and
429 (the request itself is wrong), and 500 (the service failed; trying
again hides nothing useful). Every request this client sends is safe to
repeat: GET and DELETE are idempotent, a schedule POST carries the whole
schedule, and an image patch sets or removes one marker.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from keystoneauth1 import exceptions as ks_exceptions
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import config

T = TypeVar("T")

RETRIABLE_STATUS = frozenset({413, 429, 502, 503, 504})

# Looked up at each pause, so tests can replace it without touching the
# time module everyone else shares.
pause = time.sleep

ENV_RETRIES = config.ENV_RETRIES
ENV_MAX_DELAY = config.ENV_MAX_DELAY


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff.

    :param retries: retries after the first try, for each request, both
        for connection failures and for retriable answers; 0 disables.
    :param backoff: the first delay in seconds, doubled each retry.
    :param max_delay: the cap, in seconds, on any one delay, including
        one asked for by ``Retry-After``.
    """

    retries: int = config.DEFAULT_RETRIES
    backoff: float = config.DEFAULT_BACKOFF
    max_delay: float = config.DEFAULT_MAX_DELAY

    def __post_init__(self) -> None:
        for name in ("retries", "backoff", "max_delay"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(
                    f"RetryPolicy {name} cannot be negative (got {value})."
                )

    def delay(self, attempt: int, retry_after: object = None) -> float:
        """Seconds to wait before retry number ``attempt`` (from 1).

        A positive ``Retry-After`` in seconds wins over the backoff,
        within the cap; 0, an HTTP-date or garbage is no hint (novaclient
        reports a missing header as 0).
        """
        wanted = self.backoff * (2 ** (attempt - 1))
        try:
            hinted = float(str(retry_after).strip())
        except ValueError:
            hinted = 0.0
        if hinted > 0:
            wanted = hinted
        return min(wanted, self.max_delay)

    @classmethod
    def from_env(cls, environ: Any = None) -> RetryPolicy:
        """The default policy, changed by environment variables.

        :raises ValueError: naming the variable, for a value that is not
            a number, is negative, or (the delay) is not finite.
        """
        env = os.environ if environ is None else environ
        base = cls()
        retries = env.get(ENV_RETRIES)
        max_delay = env.get(ENV_MAX_DELAY)
        return cls(
            retries=parse_retries(retries, ENV_RETRIES)
            if retries
            else base.retries,
            backoff=base.backoff,
            max_delay=parse_max_delay(max_delay, ENV_MAX_DELAY)
            if max_delay
            else base.max_delay,
        )


def parse_retries(value: object, source: str) -> int:
    """A retry count set by ``source`` (a variable's or option's name).

    :raises ValueError: saying what is wrong: not a whole number, or
        negative.
    """
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(
            f"{source} must be a whole number of retries, 0 or more "
            f"(got '{value}')."
        ) from None
    if number < 0:
        raise ValueError(
            f"{source} cannot be negative (got {number}): give the number of "
            "retries, or 0 to turn retries off."
        )
    return number


def parse_max_delay(value: object, source: str) -> float:
    """A longest delay in seconds set by ``source``.

    :raises ValueError: saying what is wrong: not a number, negative, or
        not finite (``nan``, ``inf``).
    """
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise ValueError(
            f"{source} must be a number of seconds, 0 or more (got '{value}')."
        ) from None
    if not math.isfinite(seconds):
        raise ValueError(
            f"{source} must be a finite number of seconds (got '{value}')."
        )
    if seconds < 0:
        raise ValueError(
            f"{source} cannot be negative (got {value}): give the longest "
            "wait before a retry, in seconds."
        )
    return seconds


def is_retriable(error: BaseException) -> bool:
    """True for a failure that a repeat of the same request may cure."""
    if isinstance(error, ks_exceptions.ConnectFailure):
        return True  # refused, reset, dropped; never ConnectTimeout
    return (
        isinstance(error, exceptions.ClientException)
        and getattr(error, "code", None) in RETRIABLE_STATUS
    )


def call(
    policy: RetryPolicy,
    send: Callable[[], T],
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run ``send`` and repeat it on a retriable answer, per ``policy``.

    The last error is raised when the retries are used up.
    """
    attempt = 0
    while True:
        try:
            return send()
        except (
            exceptions.ClientException,
            ks_exceptions.ConnectFailure,
        ) as error:
            if not is_retriable(error) or attempt >= policy.retries:
                raise
            attempt += 1
            delay = policy.delay(attempt, getattr(error, "retry_after", None))
            (sleep or pause)(delay)

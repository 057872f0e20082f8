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
"""What time the commands take as "now".

The real time, unless ``SCHEDULED_IMAGES_NOW`` says otherwise: a sandbox
cloud keeps its own clock, and tests and demos against it must agree
with it on how old an image is. The decisions that use "now" take it as
an argument (see :mod:`.schedule`); only the front ends call this.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping

from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.config import NOW_ENV


def now(environ: Mapping[str, str] | None = None) -> datetime.datetime:
    """The current time (aware, UTC), or the one ``SCHEDULED_IMAGES_NOW``
    sets.

    :raises ScheduleError: for a value that is not an ISO 8601 time.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(NOW_ENV, "").strip()
    if not text:
        return datetime.datetime.now(datetime.timezone.utc)
    when = domain.parse_timestamp(text)
    if when is None:
        raise domain.ScheduleError(
            f"Invalid {NOW_ENV} '{text}': use an ISO 8601 time such as "
            "2026-12-01T12:00:00Z."
        )
    return when.astimezone(datetime.timezone.utc)

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
"""The names and defaults a user can set: API alias and retries.

Standard library only: the ``openstack`` plugin reads these while every
``openstack`` command starts, long before (and mostly without) any of
this package's commands running, so they must cost nothing to import.
"""

from __future__ import annotations

# The same API has had two names; a cloud serves one of them.
DEFAULT_ALIAS = "os-si-image-schedule"
RACKSPACE_ALIAS = "rax-si-image-schedule"
ALIASES: tuple[str, ...] = (DEFAULT_ALIAS, RACKSPACE_ALIAS)
ALIAS_ENV = "SCHEDULED_IMAGES_API_ALIAS"

# The server attribute and list filter that go with each alias.
SERVER_ATTRIBUTE = {
    DEFAULT_ALIAS: "OS-SI:image_schedule",
    RACKSPACE_ALIAS: "RAX-SI:image_schedule",
}

ENV_RETRIES = "SCHEDULED_IMAGES_RETRIES"
ENV_MAX_DELAY = "SCHEDULED_IMAGES_RETRY_MAX_DELAY"
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_DELAY = 10.0

# The time the commands take as "now" (ISO 8601 with a zone), for tests
# and demos against a sandbox whose clock is not the real one; unset, it
# is the real time.
NOW_ENV = "SCHEDULED_IMAGES_NOW"
# How many requests a command on several servers or images (and
# `list_schedules` on a cloud whose server list shows no schedules) sends
# at once.
DEFAULT_CONCURRENCY = 8

# The check's default ages (api.md, "Failures and their signs"): a daily
# schedule is late after one missed run plus the hours a snapshot and its
# retries take, missed after two (Rackspace's "contact support"); a
# weekly one after one and two missed weeks plus its day-long window.
DAILY_WARNING_HOURS = 28
DAILY_CRITICAL_HOURS = 52
WEEKLY_WARNING_DAYS = 8
WEEKLY_CRITICAL_DAYS = 15

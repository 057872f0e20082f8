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
"""The environment variables that point a command at a sandbox.

`Sandbox.env()` gives the OS_* variables of a seeded user, `now_env` the
sandbox's clock as the client's "now", and `subprocess_environ` a process
environment with the caller's own cloud settings taken out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .model import format_time
from .seed import SEED_USERS, SeedUser

if TYPE_CHECKING:
    from .server import Sandbox

# The variable from which the client's commands take "now" (the
# client's config.NOW_ENV; written out here because the sandbox imports
# nothing of the client).
NOW_VARIABLE = "SCHEDULED_IMAGES_NOW"


def now_env(sandbox: Sandbox) -> dict[str, str]:
    """``SCHEDULED_IMAGES_NOW`` set to the sandbox's clock, so that the
    commands measure image ages as the sandbox's time has it. Read it
    again after a tick or a change of the clock."""
    with sandbox.lock:
        return {NOW_VARIABLE: format_time(sandbox.state.clock)}


# The variables through which a caller's own cloud could leak into a
# command meant for the sandbox.
CLOUD_VARIABLE_PREFIXES = ("OS_", "NOVA_", "SCHEDULED_IMAGES_")


def subprocess_environ(
    cloud_env: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``environ`` (default: this process's) with its cloud settings
    replaced by ``cloud_env`` (e.g. ``Sandbox.env()``), for running
    ``nova``, ``openstack`` or a script against the sandbox."""
    base = os.environ if environ is None else environ
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(CLOUD_VARIABLE_PREFIXES)
    }
    env.update(cloud_env)
    return env


def _seed_user(name: str) -> SeedUser:
    for seed_user in SEED_USERS:
        if seed_user.name == name:
            return seed_user
    raise ValueError(f"no seeded user {name!r}")


def client_env(sandbox: Sandbox, user: str, keystone: str) -> dict[str, str]:
    """OS_* variables for seeded `user` (see `Sandbox.env`)."""
    seed_user = _seed_user(user)
    env = {
        "OS_USERNAME": seed_user.name,
        "OS_PROJECT_NAME": seed_user.project_name,
        "OS_REGION_NAME": sandbox.settings.region,
    }
    if keystone == "rax":
        # nova insists on a project even though rackspaceauth never
        # sends it; the sandbox scopes to the user's own project.
        env["OS_AUTH_TYPE"] = "rackspace_apikey"
        env["OS_AUTH_URL"] = sandbox.auth_url("v2.0")
        env["OS_API_KEY"] = seed_user.api_key
        env["OS_PROJECT_ID"] = seed_user.project_id
        return env
    if keystone not in ("v3", "v2.0"):
        raise ValueError("keystone must be 'v3', 'v2.0' or 'rax'")
    env["OS_AUTH_TYPE"] = "password"
    env["OS_AUTH_URL"] = sandbox.auth_url(keystone)
    env["OS_PASSWORD"] = seed_user.password
    if keystone == "v3":
        env["OS_USER_DOMAIN_ID"] = "default"
        env["OS_PROJECT_DOMAIN_ID"] = "default"
    env["OS_IDENTITY_API_VERSION"] = "3" if keystone == "v3" else "2"
    return env

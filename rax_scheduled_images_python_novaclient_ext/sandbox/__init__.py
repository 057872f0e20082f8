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
"""A local stand-in for a cloud that serves Scheduled Images.

It speaks just enough Keystone (v3, and v2.0 with Rackspace API keys),
Nova (a legacy v2.0 endpoint with the scheduled images extension) and
Glance v2 for `nova`, `openstack` and this project's tools to run against
it, and it plays the scheduled images service itself: `tick()` makes the
day's images and prunes the old ones.

    with Sandbox() as cloud:
        env = cloud.env()          # OS_* variables for a subprocess
        cloud.tick()               # one day passes
"""

from .environment import subprocess_environ
from .model import MYSERVER_ID, OS_SI_ALIAS, RAX_SI_ALIAS
from .seed import SEED_USERS
from .server import Sandbox

__all__ = [
    "MYSERVER_ID",
    "OS_SI_ALIAS",
    "RAX_SI_ALIAS",
    "SEED_USERS",
    "Sandbox",
    "subprocess_environ",
]

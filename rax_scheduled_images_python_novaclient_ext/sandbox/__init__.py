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

from .server import Sandbox, subprocess_environ
from .state import MYSERVER_ID, OS_SI_ALIAS, RAX_SI_ALIAS, SEED_USERS

__all__ = [
    "MYSERVER_ID",
    "OS_SI_ALIAS",
    "RAX_SI_ALIAS",
    "SEED_USERS",
    "Sandbox",
    "subprocess_environ",
]

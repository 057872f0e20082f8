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
"""Meanings as exception types, caught by type at each front end's
error boundary.

The schedule manager is the one place that reads the text of the
cloud's 404 answers and raises :class:`NoSchedule` or
:class:`NoSuchServer`; both are ``novaclient.exceptions.NotFound``
subclasses, so a program written for 0.3.1, which caught ``NotFound``,
still catches them. :class:`Refused` is a command declining to go on
where its answer could be false.
"""

from __future__ import annotations

from novaclient import exceptions


class NoSchedule(exceptions.NotFound):
    """The server has no image schedule.

    The message is 0.3.1's, ``Scheduled images not enabled for server
    <id>``, and ``str()`` adds ``(HTTP 404)`` as it did.
    """

    def __init__(self, server_id: str) -> None:
        super().__init__(
            404, f"Scheduled images not enabled for server {server_id}"
        )
        self.server_id = server_id


class NoSuchServer(exceptions.NotFound):
    """No server of this project has the id.

    The message is novaclient's for an unknown server, ``No server with
    a name or ID of '<id>' exists.``, so that a mistyped UUID reads like
    a mistyped name. Another project's server is unknown too: Nova
    answers it as if it did not exist.
    """

    def __init__(self, server_id: str) -> None:
        super().__init__(
            404, f"No server with a name or ID of '{server_id}' exists."
        )
        self.server_id = server_id


class Refused(ValueError):
    """The command will not go on: what it would report could be false.

    E.g. a session scoped to no project (its own images cannot be told
    from others'), or compute and image endpoints in different regions
    (every server would look deleted). The message is one line.
    """

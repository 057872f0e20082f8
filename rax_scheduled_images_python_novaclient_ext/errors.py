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
"""What the cloud's 404s mean, as exception types.

The schedule manager is the one place that reads the text of the
cloud's 404 answers and raises these; everything else catches them by
type. Both are ``novaclient.exceptions.NotFound`` subclasses, so a
program written for 0.3.1, which caught ``NotFound``, still catches them.
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

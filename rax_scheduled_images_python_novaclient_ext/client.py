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
"""A python-novaclient client for programs, with this extension loaded."""

from __future__ import annotations

from typing import Any


def client_for(session: Any, **kwargs: Any) -> Any:
    """A python-novaclient client on ``session``, with this extension.

    The client has the schedule manager as
    ``client.rax_scheduled_images_python_novaclient_ext``, as the ``nova``
    shell's client has; a plain ``novaclient.client.Client("2",
    session=...)`` does not, because only a client that loads the
    extension gets its manager. Only this extension is loaded:
    ``client.discover_extensions("2")`` would load every one installed,
    and one that is broken would break this program too.

    :param session: a keystoneauth ``Session``.
    :param kwargs: passed on to ``novaclient.client.Client`` (e.g.
        ``region_name``, ``endpoint_type``, ``endpoint_override``).
    """
    from novaclient import client, extension

    from rax_scheduled_images_python_novaclient_ext import novaclient_ext

    loaded = extension.Extension(novaclient_ext.EXTENSION_NAME, novaclient_ext)
    # "2.0": the plain v2 API, no microversion header, as the openstack
    # plugin's client; the schedule routes need none.
    return client.Client("2.0", session=session, extensions=[loaded], **kwargs)

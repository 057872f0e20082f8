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
"""Where the session's requests go: the region of a catalog endpoint.

A catalog can list a service in several regions; with no region chosen,
keystoneauth takes the first endpoint of each service, and two services
may then be in two regions. Reading which region an adapter picked
costs no request beyond the login.
"""

from __future__ import annotations

from typing import Any

from keystoneauth1 import exceptions as ks_exceptions


def catalog_region(adapter: Any) -> str | None:
    """The region of the catalog endpoint ``adapter`` sends requests to.

    Read from the token's catalog with the adapter's own filters (the
    same pick keystoneauth makes: the first match), so it costs no
    request beyond the login. None for an endpoint given by hand, for
    an auth plugin without a catalog, or an endpoint with no region.
    """
    if getattr(adapter, "endpoint_override", None):
        return None
    session = getattr(adapter, "session", None)
    auth = getattr(adapter, "auth", None) or getattr(session, "auth", None)
    get_access = getattr(auth, "get_access", None)
    if get_access is None:
        return None
    catalog = getattr(get_access(session), "service_catalog", None)
    if not catalog:
        return None
    try:
        data = catalog.endpoint_data_for(
            service_type=adapter.service_type,
            interface=adapter.interface or "public",
            region_name=adapter.region_name,
            service_name=getattr(adapter, "service_name", None),
        )
    except ks_exceptions.EndpointNotFound:
        return None
    return getattr(data, "region_name", None) or None

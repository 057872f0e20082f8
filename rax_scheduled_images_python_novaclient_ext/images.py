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
"""The Python API for the images the scheduled images service makes.

python-novaclient no longer speaks the Image API, so this module does,
on the nova client's own keystoneauth session: the same token, the
image endpoint from the same catalog. Images are plain dicts as the
Image API v2 returns them (properties are top-level keys).

``ImageManager`` is deliberately not a ``novaclient.base.Manager``:
those are built on the compute endpoint, and ``novaclient_ext`` must hold
exactly one Manager subclass (see its docstring).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any
from urllib import parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from novaclient import exceptions
from oslo_utils import uuidutils

from rax_scheduled_images_python_novaclient_ext import provenance, retry
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.catalog import catalog_region
from rax_scheduled_images_python_novaclient_ext.errors import Refused
from rax_scheduled_images_python_novaclient_ext.manager import quote_id

IMAGES_PATH = "/v2/images"
# Glance's media type for a JSON patch of an image (v2.1 paths, "/key").
JSON_PATCH = "application/openstack-images-v2.1-json-patch"

# A catalog's image endpoint may or may not end in a version ("/v2",
# "/v2.1"; Rackspace's does, devstack's does not). Paths here carry the
# version, so the endpoint is cut back to its root: that costs no version
# discovery request and works with both kinds of catalog.
_VERSION_SUFFIX = re.compile(r"/v\d+(\.\d+)?/*\Z")
_TAGS = re.compile(r"<[^>]*>")

_EXPLANATION_404 = "The resource could not be found."


PAGE_SIZE = 1000


class NoProjectError(Refused):
    """The session's token is scoped to no project, so the project's own
    images cannot be told from other projects' public or shared ones."""


def image_root(endpoint: str) -> str:
    """The catalog's image endpoint without a trailing version segment."""
    return _VERSION_SUFFIX.sub("", endpoint.rstrip("/")).rstrip("/")


def _path_from_link(link: str) -> str:
    """The ``/v2/...`` path and query of a ``next`` link.

    Glance writes ``next`` relative to its root ("/v2/images?marker=")
    but behind a proxy or path prefix the link can carry a host or prefix
    the client cannot reach; only the part from ``/v2/`` on is trusted.
    """
    split = parse.urlsplit(link)
    path = split.path
    start = path.find("/v2/")
    if start > 0:
        path = path[start:]
    return path + (f"?{split.query}" if split.query else "")


def _error_text(resp: Any) -> Any:
    """The error body in a shape ``exceptions.from_response`` reads.

    Glance answers errors as JSON (``{"message": ...}``, sometimes with
    HTML line breaks in it) or as text/HTML; either way the user should
    see one clean line.
    """
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("message")
        if message is None and len(body) == 1:
            inner = next(iter(body.values()))
            message = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(message, str):
            return {"message": _glance_message(message), "details": body}
        return body
    text = _glance_message(getattr(resp, "text", "") or "")
    return {"message": text} if text else None


def _glance_message(text: str) -> str:
    """Glance's error text as one plain line: no HTML, no line breaks."""
    words = _TAGS.sub(" ", text).split()
    line = " ".join(words)
    # Glance's 404 repeats webob's generic explanation before the
    # specific one ("The resource could not be found. No image found
    # with ID x"); the specific part alone reads better.
    if line.startswith(_EXPLANATION_404) and line != _EXPLANATION_404:
        line = line[len(_EXPLANATION_404) :].strip()
    return line


class ImageManager:
    """List a server's images, find one, keep or release it.

    :param api: a ``novaclient.v2.client.Client``: its session, interface
        and region are used to reach the catalog's ``image`` service.
    :param session: instead of ``api``, a keystoneauth session (the
        ``openstack`` plugin has one).
    :param auth: the auth plugin, when the session has none of its own.
    :param interface: endpoint interface (``public`` by default).
    :param region_name: endpoint region.
    :param endpoint_override: the Image API root to use instead of the
        catalog's.

    The endpoint is looked up on the first request, from the catalog the
    token already carries: no extra request.
    """

    def __init__(
        self,
        api: Any = None,
        *,
        session: Any = None,
        auth: Any = None,
        interface: str | None = None,
        region_name: str | None = None,
        endpoint_override: str | None = None,
        retry_policy: retry.RetryPolicy | None = None,
    ) -> None:
        self.retry_policy = retry_policy or retry.RetryPolicy.from_env()
        user_agent = None
        if api is not None:
            http = api.client
            session = session or getattr(http, "session", None)
            # The nova shell gives its auth plugin to its adapter, not to
            # the session: the token and catalog come from there.
            auth = auth or getattr(http, "auth", None)
            user_agent = getattr(http, "user_agent", None)
            interface = interface or getattr(http, "interface", None)
            region_name = region_name or getattr(http, "region_name", None)
        if session is None:
            raise TypeError(
                "ImageManager needs a nova client built on a "
                "keystoneauth session, or a session."
            )
        self._adapter = ks_adapter.Adapter(
            session,
            service_type="image",
            auth=auth,
            interface=interface or "public",
            region_name=region_name,
            user_agent=user_agent,
        )
        self._root = (
            image_root(endpoint_override) if endpoint_override else None
        )
        self._root_lock = threading.Lock()
        self._overridden = endpoint_override is not None

    # -- the Python API ---------------------------------------------------

    def list_for_server(self, server_id: str) -> list[dict[str, Any]]:
        """Every image of ``server_id`` (marked or not), in API order.

        One request per page of the Image API's list filtered by
        ``instance_uuid``; every ``next`` link is followed.

        :raises novaclient.exceptions.ClientException: (its subclass for
            the HTTP status) when the Image API refuses the request.
        """
        # Glance answers 25 images a page unless asked; 1000 is its usual
        # ceiling, so a month of daily images takes one request, not two.
        query = parse.urlencode(
            {domain.INSTANCE_KEY: server_id, "limit": PAGE_SIZE}
        )
        return self._list(f"{IMAGES_PATH}?{query}")

    def project_image_pages(
        self,
        marked_only: bool = False,
        fields: Collection[str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The images the session's project owns, one list per page.

        One request per page of ``GET /v2/images?owner=<project>``, 1000
        images a page; with ``marked_only`` the Image API also filters on
        the service's marker, so only its images cost pages. A caller
        may stop early: pages are read as they are consumed.

        Images of other projects (public ones, or shared with this
        project) are never yielded, even from a cloud that ignored the
        ``owner`` filter: the scheduled images service counts, prunes
        and bills only the project's own images.

        :param fields: keep only these keys of each image (``owner`` is
            checked first), so a fleet-wide read holds what it shows.
        :raises NoProjectError: when the token names no project.
        :raises novaclient.exceptions.ClientException: when the Image API
            refuses the request.
        """
        project_id = self._adapter.get_project_id()
        if not project_id:
            raise NoProjectError(
                "The session is not scoped to a project: log in with a "
                "project to list its own images."
            )
        filters: dict[str, Any] = {"owner": project_id, "limit": PAGE_SIZE}
        if marked_only:
            filters[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
        query = parse.urlencode(filters)
        for page in self._pages(f"{IMAGES_PATH}?{query}"):
            own = [image for image in page if image.get("owner") == project_id]
            if fields is not None:
                own = [
                    {key: image[key] for key in fields if key in image}
                    for image in own
                ]
            yield own

    def get(self, image_id: str) -> dict[str, Any]:
        """The image with id ``image_id``.

        :raises novaclient.exceptions.NotFound: when there is none.
        :raises ValueError: for "", "." and ".." (nothing is sent).
        """
        _, body = self._request("GET", f"{IMAGES_PATH}/{quote_id(image_id)}")
        return dict(body)

    def find(self, name_or_id: str) -> dict[str, Any]:
        """The one image whose ID, or else whose name, is ``name_or_id``.

        An ID is tried first when the text looks like a UUID (one
        request); otherwise, or when no image has that ID, images are
        looked up by exact name (one request per page).

        :raises novaclient.exceptions.NotFound: ``No image with a name or
            ID of '<x>' exists.``
        :raises novaclient.exceptions.NoUniqueMatch: ``Multiple image
            matches found for '<x>', use an ID to be more specific.``
        """
        if not name_or_id.strip():
            raise exceptions.NotFound(
                404, f"No image with a name or ID of '{name_or_id}' exists."
            )
        if uuidutils.is_uuid_like(name_or_id):
            try:
                return self.get(name_or_id)
            except exceptions.NotFound:
                pass  # a name may look like a UUID
        query = parse.urlencode({"name": name_or_id})
        matches = [
            image
            for image in self._list(f"{IMAGES_PATH}?{query}")
            # Glance reads "in:a,b" as a list of names; only exact
            # names count here.
            if image.get("name") == name_or_id
        ]
        if not matches:
            raise exceptions.NotFound(
                404, f"No image with a name or ID of '{name_or_id}' exists."
            )
        if len(matches) > 1:
            raise exceptions.NoUniqueMatch(
                f"Multiple image matches found for '{name_or_id}', "
                "use an ID to be more specific."
            )
        return matches[0]

    def keep(self, image: dict[str, Any]) -> bool:
        """Exempt ``image`` from the service's counting and pruning.

        Removes the ``org.openstack__1__created_by`` property, by which
        the service recognises its images, and in the same PATCH records
        that the service made it (``scheduled_images_kept =
        scheduled_images_service``, this project's own property), so
        the health view still counts it as proof that the schedule ran.
        Nothing else on the image changes. An image without the marker
        is already kept: nothing is sent and False is returned.

        :returns: True when the image was changed.
        :raises novaclient.exceptions.ClientException: when the Image API
            refuses (e.g. ``NotFound``, ``Forbidden`` for an image of
            another project).
        """
        if not domain.is_marked(image):
            return False
        self._patch_to(
            image,
            provenance.keep_patch(image),
            done=lambda now: not domain.is_marked(now),
        )
        return True

    def release(self, image: dict[str, Any]) -> bool:
        """Hand ``image`` back to the service: mark it as its own again.

        From the next scheduled image of its server on, the service
        counts it against the retention and may delete it. The property
        ``keep`` recorded (``scheduled_images_kept``) is removed in the
        same PATCH. An image that
        already carries the marker is left alone: nothing is sent and
        False is returned.

        :returns: True when the image was changed.
        :raises ScheduleError: when the image belongs to no server
            (nothing is sent).
        :raises novaclient.exceptions.ClientException: when the Image API
            refuses.
        """
        domain.check_releasable(image)
        if domain.is_marked(image):
            return False
        self._patch_to(
            image, provenance.release_patch(image), done=domain.is_marked
        )
        return True

    def delete(self, image: dict[str, Any]) -> None:
        """Delete ``image`` (``DELETE /v2/images/{id}``).

        A 404 after a retry means the first DELETE did its work and its
        answer was lost; a 404 on the first try is the Image API's own
        answer (the image was never there, or another project's) and is
        raised.

        :raises novaclient.exceptions.ClientException: when the Image API
            refuses (e.g. ``Forbidden`` for a protected image).
        """
        path = f"{IMAGES_PATH}/{quote_id(image['id'])}"
        tries: list[None] = []

        def send() -> None:
            tries.append(None)
            try:
                self._request("DELETE", path, retried=False)
            except exceptions.NotFound:
                if len(tries) == 1:
                    raise

        retry.call(self.retry_policy, send)

    def project_id(self) -> str | None:
        """The id of the project the session's token is scoped to."""
        found = self._adapter.get_project_id()
        return str(found) if found else None

    def endpoint_region(self) -> str | None:
        """The region of the image endpoint this manager uses; None when
        it is not from the catalog (an override) or the catalog names
        none."""
        if self._overridden:
            return None
        return catalog_region(self._adapter)

    # -- HTTP -------------------------------------------------------------

    @property
    def root(self) -> str:
        """The Image API root URL (looked up in the catalog once)."""
        with self._root_lock:
            if self._root is None:
                endpoint = self._adapter.get_endpoint()
                if not endpoint:
                    raise ks_exceptions.EndpointNotFound(
                        "No image service endpoint in the catalog."
                    )
                self._root = image_root(str(endpoint))
            return self._root

    def _patch_to(
        self,
        image: dict[str, Any],
        ops: list[dict[str, Any]],
        done: Callable[[dict[str, Any]], bool],
    ) -> None:
        """Send ``ops``; a 409 is fine when the image is already ``done``.

        A patch whose answer was lost is sent again by the retries, and
        the repeat is refused with 409 (nothing left to remove, or a key
        that now exists): the image is read again and the change counts
        as made when it shows.
        """
        try:
            self._patch(image, ops)
        except exceptions.Conflict:
            if not done(self.get(str(image["id"]))):
                raise

    def _patch(self, image: dict[str, Any], ops: list[dict[str, Any]]) -> None:
        self._request(
            "PATCH",
            f"{IMAGES_PATH}/{quote_id(image['id'])}",
            json=ops,
            headers={"Content-Type": JSON_PATCH},
        )

    def _list(self, path: str) -> list[dict[str, Any]]:
        return [image for page in self._pages(path) for image in page]

    def _pages(self, path: str) -> Iterator[list[dict[str, Any]]]:
        """Each page of an image list, every ``next`` link followed."""
        seen = {path}
        next_path: str | None = path
        while next_path is not None:
            _, body = self._request("GET", next_path)
            page = body.get("images")
            yield domain.object_list(
                page,
                "The Image API's image list has no list of image objects "
                "under 'images'",
                page,
            )
            link = body.get("next")
            if link is not None and not isinstance(link, str):
                raise domain.MalformedResponseError(
                    "The Image API's image list has an invalid 'next' link "
                    f"(got {domain.describe_value(link)})."
                )
            next_path = _path_from_link(link) if link else None
            if next_path in seen:
                return  # a link back to a page already read: stop
            if next_path is not None:
                seen.add(next_path)

    def _request(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
        retried: bool = True,
    ) -> tuple[Any, Any]:
        url = self.root + path
        all_headers = {"Accept": "application/json"}
        all_headers.update(headers or {})
        kwargs: dict[str, Any] = {"headers": all_headers, "raise_exc": False}
        if json is not None:
            kwargs["json"] = json

        def send() -> Any:
            resp = self._adapter.request(url, method, **kwargs)
            if resp.status_code >= 400:
                raise exceptions.from_response(
                    resp, _error_text(resp), url, method
                )
            return resp

        resp = retry.call(self.retry_policy, send) if retried else send()
        if not resp.content:
            return resp, {}
        try:
            body = resp.json()
        except ValueError:
            raise domain.MalformedResponseError(
                f"The Image API's answer to {method} {path} is not JSON "
                f"(got {domain.describe_value(resp.text)})."
            ) from None
        if not isinstance(body, dict):
            raise domain.MalformedResponseError(
                f"The Image API's answer to {method} {path} is not a JSON "
                f"object (got {domain.describe_value(body)})."
            )
        return resp, body


# The 1.0.0 name, for programs that import it.
ScheduledImageManager = ImageManager

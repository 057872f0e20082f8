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
"""Bringing a server back from its images: pure decisions, no I/O.

Which image a restore uses, the plan a dry run prints and ``--yes``
carries out (nothing else), and every reason to refuse, each a
:class:`RestoreRefused` with one line, raised before anything is
changed. The rules are the Compute API's (api.md, "Restoring a server
from an image"): a rebuild is accepted only from ACTIVE, SHUTOFF or
ERROR with no task in progress, only from an ACTIVE image, and only
when the flavor's disk holds the image's ``min_disk``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rax_scheduled_images_python_novaclient_ext import (
    health,
    provenance,
    timestamps,
)
from rax_scheduled_images_python_novaclient_ext import schedule as domain

# The metadata that marks a throwaway server of ``restore-test``: the
# only servers its clean-up ever deletes.
TEST_TAG_KEY = "scheduled_images_restore_test"
TEST_TAG_VALUE = "1"
# The server a throwaway server was booted for (for people reading it).
TEST_OF_KEY = "scheduled_images_restore_test_of"

# A rebuild is accepted from these states only, with no task running.
RESTORABLE_STATES = ("ACTIVE", "SHUTOFF", "ERROR")
# Nova's limit on a server's and an image's name.
NAME_LIMIT = 255


class RestoreRefused(ValueError):
    """A restore that will not be done; the message is one line.

    Raised before anything is sent that changes anything (the
    ``openstack`` command exits 2).
    """


# --- which image -----------------------------------------------------------


def is_active(image: Mapping[str, Any]) -> bool:
    return str(image.get("status") or "").lower() == "active"


def newest_image(
    images: Iterable[Mapping[str, Any]], server_id: str, server_name: str
) -> Mapping[str, Any] | None:
    """The server's newest ACTIVE scheduled image, kept ones included
    (:func:`.provenance.made_by_service`: marked, kept by ``keep``, or
    kept before 1.2.0 and named as the service names the server's
    images); None when it has none. A manual snapshot is never one."""
    mine = [
        image
        for image in images
        if provenance.made_by_service(image, server_id, server_name)
        and is_active(image)
    ]
    return max(mine, key=timestamps.age_order, default=None)


def check_image(image: Mapping[str, Any], server: Mapping[str, Any]) -> None:
    """An image named with ``--image`` must be ACTIVE and the server's.

    :raises RestoreRefused: when it is another server's (or no
        server's) by ``instance_uuid``, or not ACTIVE.
    """
    owner = image.get(domain.INSTANCE_KEY)
    if owner != server.get("id"):
        whose = f"server {owner}" if owner else "no server"
        raise RestoreRefused(
            f"Image {image.get('id')} is an image of {whose}, not of "
            f"{server_label(server)}: a server is restored only from its "
            "own images."
        )
    if not is_active(image):
        raise RestoreRefused(
            f"Image {image.get('id')} is {image.get('status')}, not "
            "active: only an active image can be restored."
        )


# --- the plan --------------------------------------------------------------


def server_label(server: Mapping[str, Any]) -> str:
    return f"{server.get('name') or ''} ({server.get('id')})"


def utc_stamp(now: datetime.datetime) -> str:
    """``20261204T185600Z``: a time in a name, UTC, no separators that
    a shell or a URL would mind."""
    return now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _named(prefix: str, server_name: str, now: datetime.datetime) -> str:
    stamp = utc_stamp(now)
    room = NAME_LIMIT - len(prefix) - len(stamp) - 2
    return f"{prefix}-{server_name[:room]}-{stamp}"


def safety_image_name(server_name: str, now: datetime.datetime) -> str:
    """``pre-restore-<server>-<UTC time>``, within Nova's 255."""
    return _named("pre-restore", server_name, now)


def throwaway_name(server_name: str, now: datetime.datetime) -> str:
    """``restore-test-<server>-<UTC time>``, within Nova's 255."""
    return _named("restore-test", server_name, now)


@dataclasses.dataclass(frozen=True)
class ChosenImage:
    """The image a restore uses, as the plan shows it."""

    id: str
    name: str
    created: datetime.datetime | None
    size: int | None
    min_disk: int

    @classmethod
    def of(cls, image: Mapping[str, Any]) -> ChosenImage:
        size = image.get("size")
        return cls(
            id=str(image.get("id")),
            name=str(image.get("name") or ""),
            created=timestamps.parse_timestamp(image.get("created_at")),
            size=size if isinstance(size, int) else None,
            min_disk=_whole(image.get("min_disk")),
        )


def _whole(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


@dataclasses.dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    disk: int

    @classmethod
    def of(cls, flavor: Mapping[str, Any]) -> Flavor:
        return cls(
            id=str(flavor.get("id")),
            name=str(flavor.get("name") or flavor.get("original_name") or ""),
            disk=_whole(flavor.get("disk")),
        )


@dataclasses.dataclass(frozen=True)
class RestorePlan:
    """What a restore does, and nothing else: the dry run prints it and
    ``--yes`` carries it out.

    In place (``new_name`` None): a safety image named
    ``safety_image_name`` first (unless None), then a rebuild of the
    server from ``image``. Otherwise a new server ``new_name`` of
    ``flavor`` on ``networks`` (empty: the cloud's default).
    """

    server_id: str
    server_name: str
    image: ChosenImage
    flavor: Flavor
    now: datetime.datetime
    new_name: str | None = None
    networks: tuple[str, ...] = ()
    safety_image_name: str | None = None

    @property
    def in_place(self) -> bool:
        return self.new_name is None

    @property
    def age(self) -> datetime.timedelta | None:
        created = self.image.created
        return None if created is None else self.now - created

    def lines(self) -> list[str]:
        """The plan in words, as the dry run prints it."""
        image = self.image
        created = (
            "an unknown time"
            if image.created is None
            else f"{health.format_time(image.created)} UTC"
        )
        age = "" if self.age is None else f", {health.format_age(self.age)}"
        size = "" if image.size is None else health.format_size(image.size)
        lines = [
            f"Server: {self.server_name} ({self.server_id})",
            f"Image: {image.id} {image.name}",
            f"  created {created}{age} ago; size {size or 'unknown'}",
        ]
        if self.in_place:
            lines += [
                "Restore: in place: rebuild the server from this image. "
                "Its system disk is replaced; its id and addresses stay.",
                f"  Lost: every change on its system disk since {created}.",
            ]
            lines.append(
                f"Safety image first: {self.safety_image_name} (of the "
                "server as it is now; the scheduled images service never "
                "counts or deletes it)"
                if self.safety_image_name
                else "No safety image (--no-safety-image): there will be "
                "no way back to the server as it is now."
            )
        else:
            networks = ", ".join(self.networks) or "the cloud's default"
            lines += [
                f"Restore: as a new server {self.new_name}, flavor "
                f"{self.flavor.name} ({self.flavor.id}), networks: "
                f"{networks}. {self.server_name} is not changed.",
            ]
        return lines


def check_server(server: Mapping[str, Any], in_place: bool) -> None:
    """:raises RestoreRefused: for a server booted from a volume; and,
    to be rebuilt, one not ACTIVE, SHUTOFF or ERROR or with a task in
    progress."""
    if not server.get("image"):
        raise RestoreRefused(
            f"Server {server_label(server)} boots from a volume: an image "
            "restores only a system disk, never a volume."
        )
    if not in_place:
        return
    status = str(server.get("status") or "").upper()
    task = server.get("OS-EXT-STS:task_state")
    if status not in RESTORABLE_STATES:
        raise RestoreRefused(
            f"Server {server_label(server)} is {status or 'in no state'}: "
            "it can be rebuilt only when ACTIVE, SHUTOFF or ERROR."
        )
    if task:
        raise RestoreRefused(
            f"Server {server_label(server)} has a task in progress "
            f"({task}): wait until it is done."
        )


def check_fits(image: ChosenImage, flavor: Flavor) -> None:
    """:raises RestoreRefused: when the image's ``min_disk`` is more than
    the flavor's disk (a flavor of disk 0 boots from a volume)."""
    if not image.min_disk or image.min_disk <= flavor.disk:
        return
    if flavor.disk == 0:
        raise RestoreRefused(
            f"Flavor {flavor.name} ({flavor.id}) has no local disk (disk 0: "
            f"it boots from a volume) and image {image.id} needs "
            f"{image.min_disk} GB: an image restores only a local disk."
        )
    raise RestoreRefused(
        f"Image {image.id} needs a disk of {image.min_disk} GB and flavor "
        f"{flavor.name} ({flavor.id}) has {flavor.disk} GB."
    )


def check_new_name(name: str, taken: Sequence[Mapping[str, Any]]) -> None:
    """:raises RestoreRefused: for an empty name, or one a server has."""
    if not name.strip():
        raise RestoreRefused("--as-new needs a name, not an empty string.")
    same = [s for s in taken if s.get("name") == name]
    if same:
        raise RestoreRefused(
            f"A server named {name} already exists ({same[0].get('id')}): "
            "give --as-new a name no server has."
        )


def plan_restore(
    server: Mapping[str, Any],
    image: Mapping[str, Any],
    flavor: Mapping[str, Any],
    now: datetime.datetime,
    *,
    new_name: str | None = None,
    taken: Sequence[Mapping[str, Any]] = (),
    networks: Sequence[str] = (),
    safety_image: bool = True,
) -> RestorePlan:
    """The plan to restore ``server`` from ``image``, or a refusal.

    :param flavor: the flavor the restored server will have (the
        server's own in place).
    :param taken: the servers whose name is ``new_name`` (as-new only).
    :raises RestoreRefused: see :func:`check_server`,
        :func:`check_image`, :func:`check_fits`, :func:`check_new_name`.
    """
    in_place = new_name is None
    check_server(server, in_place)
    check_image(image, server)
    chosen = ChosenImage.of(image)
    size = Flavor.of(flavor)
    check_fits(chosen, size)
    if new_name is not None:
        check_new_name(new_name, taken)
    name = str(server.get("name") or server.get("id"))
    return RestorePlan(
        server_id=str(server.get("id")),
        server_name=name,
        image=chosen,
        flavor=size,
        now=now,
        new_name=new_name,
        networks=tuple(networks),
        safety_image_name=(
            safety_image_name(name, now) if in_place and safety_image else None
        ),
    )


def flavor_id(server: Mapping[str, Any]) -> str:
    """The id of a server's flavor (``{"id"}`` before microversion 2.47;
    from 2.47 only ``original_name`` names it)."""
    found = server.get("flavor")
    if isinstance(found, Mapping):
        return str(found.get("id") or found.get("original_name") or "")
    return str(found or "")


def image_id(server: Mapping[str, Any]) -> str | None:
    """The id of the image a server runs; None when it boots from a
    volume (``image: ""``)."""
    found = server.get("image")
    if isinstance(found, Mapping):
        return str(found.get("id")) if found.get("id") else None
    return None


def addresses(server: Mapping[str, Any]) -> list[str]:
    """Every address of a server, IPv4 first, in the API's order."""
    found: list[tuple[int, str]] = []
    for network in (server.get("addresses") or {}).values():
        for entry in network or []:
            if isinstance(entry, Mapping) and entry.get("addr"):
                found.append((int(entry.get("version") != 4), entry["addr"]))
    return [addr for _, addr in sorted(found, key=lambda item: item[0])]

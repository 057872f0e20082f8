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
"""The Python API of a restore and of a restore test.

:class:`RestoreManager` reads what a plan needs (:meth:`~RestoreManager.
plan`: reads only), carries out a plan in steps a front end can report
on (safety image, rebuild or create, wait), and boots a throwaway copy
of a server from its newest image (:meth:`~RestoreManager.test_server`)
that is deleted whatever happens. The decisions are :mod:`.restore`'s
and :mod:`.restore_test`'s; the requests :mod:`.servers`' and
:mod:`.images`'.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import actions, retry, servers
from rax_scheduled_images_python_novaclient_ext import restore as decide
from rax_scheduled_images_python_novaclient_ext import restore_test as verdict
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.images import ImageManager

DEFAULT_TIMEOUT = 1800.0

Progress = Callable[[Mapping[str, Any], float], None]


class SafetyImageFailed(Exception):
    """The safety image did not become ACTIVE: nothing was rebuilt."""

    def __init__(self, image_id: str | None, reason: str) -> None:
        self.image_id = image_id
        super().__init__(
            f"The safety image {image_id or '(none made)'} failed: {reason}. "
            "Nothing was rebuilt."
        )


class RestoreManager:
    """Restore a server from its scheduled images; test that they boot.

    :param api: a ``novaclient.v2.client.Client``.
    :param images: the Image API manager on the same session.
    """

    def __init__(
        self,
        api: Any,
        images: ImageManager,
        retry_policy: retry.RetryPolicy | None = None,
    ) -> None:
        self.api = api
        self.images = images
        self.retry_policy = retry_policy or images.retry_policy
        self.servers = servers.ServerManager(api, self.retry_policy)

    # -- restore ----------------------------------------------------------

    def find(self, server: str) -> dict[str, Any]:
        """The server named or identified by ``server``, as Nova shows it.

        :raises novaclient.exceptions.CommandError: none, or ambiguous.
        """
        found = actions.find_server(self.api, server, self.retry_policy)
        info = getattr(found, "_info", None)
        info = dict(info) if isinstance(info, dict) else {}
        if "status" not in info:
            # Found by name: Nova's short list has only id and name.
            info = self.servers.get(str(found.id))
        return info

    def plan(
        self,
        server: str,
        image: str | None = None,
        *,
        new_name: str | None = None,
        flavor: str | None = None,
        networks: Sequence[str] = (),
        safety_image: bool = True,
        now: datetime.datetime | None = None,
    ) -> decide.RestorePlan:
        """The plan to restore ``server``; sends reads only.

        :param image: name or id; default the server's newest ACTIVE
            scheduled image (kept ones included).
        :param new_name: restore as a new server of this name.
        :param flavor: the new server's flavor (default the server's).
        :raises RestoreRefused: see :func:`.restore.plan_restore`, and
            for a server with no ACTIVE scheduled image.
        :raises novaclient.exceptions.CommandError: an unknown or
            ambiguous server, image or flavor.
        """
        now = now or datetime.datetime.now(datetime.timezone.utc)
        found = self.find(server)
        decide.check_server(found, new_name is None)
        chosen = self._image(found, image)
        flavor_ref = flavor or decide.flavor_id(found)
        size = (
            self.servers.find_flavor(flavor_ref)
            if flavor
            else self.servers.flavor(flavor_ref)
        )
        taken = self.servers.named(new_name) if new_name else []
        return decide.plan_restore(
            found,
            chosen,
            size,
            now,
            new_name=new_name,
            taken=taken,
            networks=networks,
            safety_image=safety_image,
        )

    def _image(
        self, server: Mapping[str, Any], image: str | None
    ) -> Mapping[str, Any]:
        if image is not None:
            actions.require_name(image, "image")
            try:
                return self.images.find(image)
            except (exceptions.NotFound, exceptions.NoUniqueMatch) as error:
                text = getattr(error, "message", None) or str(error)
                raise exceptions.CommandError(text) from None
        server_id = str(server.get("id"))
        newest = decide.newest_image(
            self.images.list_for_server(server_id),
            server_id,
            str(server.get("name") or ""),
        )
        if newest is None:
            raise decide.RestoreRefused(
                f"Server {decide.server_label(server)} has no ACTIVE "
                "scheduled image to restore from."
            )
        return newest

    def take_safety_image(
        self,
        plan: decide.RestorePlan,
        timeout: float = DEFAULT_TIMEOUT,
        stop: threading.Event | None = None,
    ) -> str:
        """Snapshot the server as it is now, and wait until the image is
        ACTIVE and the server's snapshot task is over. Returns its id.

        :raises SafetyImageFailed: it was refused, failed or timed out.
        :raises servers.WaitStopped: ``stop`` was set.
        """
        name = plan.safety_image_name or decide.safety_image_name(
            plan.server_name, plan.now
        )
        try:
            image_id = self.servers.create_image(plan.server_id, name)
        except (exceptions.ClientException, ValueError) as error:
            raise SafetyImageFailed(None, _one_line(error)) from None
        try:
            image = servers.wait_for(
                lambda: self.images.get(image_id),
                lambda found: str(found.get("status")).lower() == "active",
                servers.image_failure,
                timeout,
                stop=stop,
            )
            # Nova copies the properties of the image a server was built
            # from onto its snapshots: a server restored from a
            # scheduled image would hand the service's marker on, and the
            # service would count and prune the safety image.
            if domain.is_marked(image):
                self.images.keep(dict(image))
            servers.wait_for(
                lambda: self.servers.get(plan.server_id),
                lambda found: not found.get("OS-EXT-STS:task_state"),
                servers.server_failure,
                timeout,
                stop=stop,
            )
        except (servers.WaitFailed, servers.WaitTimedOut) as error:
            raise SafetyImageFailed(image_id, str(error)) from None
        return image_id

    def start(self, plan: decide.RestorePlan) -> str:
        """Rebuild the server (in place) or create the new one; returns
        the id of the server to watch. Sent once."""
        if plan.in_place:
            self.servers.rebuild(plan.server_id, plan.image.id)
            return plan.server_id
        return self.servers.create(
            str(plan.new_name),
            plan.image.id,
            plan.flavor.id,
            plan.networks,
        )

    def wait(
        self,
        server_id: str,
        timeout: float = DEFAULT_TIMEOUT,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        rebuilt: bool = False,
    ) -> Mapping[str, Any]:
        """Wait until the server is ACTIVE with no task.

        :param rebuilt: the server was rebuilt: SHUTOFF counts as done
            too (Nova leaves a server that was stopped stopped).
        :raises servers.WaitFailed: ERROR (the fault's message).
        :raises servers.WaitTimedOut: not done after ``timeout`` s.
        """
        states = ("ACTIVE", "SHUTOFF") if rebuilt else ("ACTIVE",)
        return servers.wait_for(
            lambda: self.servers.get(server_id),
            lambda found: servers.server_settled(found, states),
            servers.server_failure,
            timeout,
            stop=stop,
            progress=progress,
        )

    def restore(
        self,
        plan: decide.RestorePlan,
        wait: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> tuple[str | None, str]:
        """Carry out ``plan``: the safety image (if planned), then the
        rebuild or the create; with ``wait``, until ACTIVE.

        :returns: (the safety image's id or None, the server's id).
        :raises SafetyImageFailed: nothing was rebuilt.
        """
        safety = None
        if plan.in_place and plan.safety_image_name:
            safety = self.take_safety_image(plan, timeout)
        server_id = self.start(plan)
        if wait:
            self.wait(server_id, timeout, rebuilt=plan.in_place)
        return safety, server_id

    # -- restore test -----------------------------------------------------

    def leftovers(self) -> list[dict[str, Any]]:
        """The throwaway servers an earlier restore test left behind:
        those tagged as this command's, in this project only."""
        project = self.images.project_id()
        return [
            server
            for server in self.servers.list_all()
            if (server.get("metadata") or {}).get(decide.TEST_TAG_KEY)
            == decide.TEST_TAG_VALUE
            and (project is None or server.get("tenant_id") in (None, project))
        ]

    def clean_leftovers(self) -> list[str]:
        """Delete :meth:`leftovers`; returns their names."""
        gone = self.leftovers()
        for server in gone:
            self.servers.delete(str(server["id"]))
        return [str(server.get("name") or server.get("id")) for server in gone]

    def test_server(
        self,
        server: Mapping[str, Any],
        *,
        flavor: str | None = None,
        networks: Sequence[str] = (),
        port: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stop: threading.Event | None = None,
        now: datetime.datetime | None = None,
    ) -> verdict.Outcome:
        """Boot a throwaway copy of ``server`` (``id``, ``name``) from its
        newest ACTIVE scheduled image, wait, check ``port``; the copy is
        deleted in every outcome (an exception, ``stop`` included).
        """
        server_id = str(server.get("id"))
        name = str(server.get("name") or server_id)
        try:
            # A server already read in full (found by name) is not read
            # again; a listed one (id and name only) is.
            found = (
                dict(server)
                if "flavor" in server
                else self.servers.get(server_id)
            )
            image = decide.newest_image(
                self.images.list_for_server(server_id),
                server_id,
                str(found.get("name") or name),
            )
        except exceptions.ClientException as error:
            return _outcome(server_id, name, verdict.FAILED, error, True)
        if image is None:
            return verdict.Outcome(
                server_id,
                name,
                verdict.NO_IMAGE,
                "no ACTIVE scheduled image",
            )
        chosen = decide.ChosenImage.of(image)
        base = verdict.Outcome(
            server_id,
            name,
            verdict.FAILED,
            image_id=chosen.id,
            image_created=str(image.get("created_at") or "") or None,
        )
        throwaway = decide.throwaway_name(
            name, now or datetime.datetime.now(datetime.timezone.utc)
        )
        return self._boot(
            base, throwaway, flavor or decide.flavor_id(found), networks,
            port, timeout, stop,
        )  # fmt: skip

    def _boot(
        self,
        base: verdict.Outcome,
        throwaway: str,
        flavor: str,
        networks: Sequence[str],
        port: int | None,
        timeout: float,
        stop: threading.Event | None,
    ) -> verdict.Outcome:
        made: list[str] = []
        try:
            outcome = self._judge(
                base, throwaway, flavor, networks, port, timeout, stop, made
            )
        finally:
            # Never behind a stop: the throwaway goes in every case.
            failure = self._delete_all(made)
        if failure:
            outcome = _with(
                outcome,
                verdict.FAILED,
                "; ".join(filter(None, [outcome.reason, failure])),
                outcome.boot_seconds,
                outcome.port_open,
            )
        return outcome

    def _delete_all(self, made: Sequence[str]) -> str:
        """Delete the throwaway servers; "" or what could not be."""
        for server_id in made:
            try:
                self.servers.delete(server_id)
            except Exception as error:  # reported, and the tag finds it
                return (
                    f"the throwaway server {server_id} could not be "
                    f"deleted ({_one_line(error)}): the next run deletes it"
                )
        return ""

    def _judge(
        self,
        base: verdict.Outcome,
        throwaway: str,
        flavor: str,
        networks: Sequence[str],
        port: int | None,
        timeout: float,
        stop: threading.Event | None,
        made: list[str],
    ) -> verdict.Outcome:
        """Boot, wait and check; ``made`` gets the throwaway's id as soon
        as the cloud gives it."""
        from rax_scheduled_images_python_novaclient_ext import bulk

        started = time.monotonic()
        tag = {
            decide.TEST_TAG_KEY: decide.TEST_TAG_VALUE,
            decide.TEST_OF_KEY: base.server_id,
        }
        try:
            made.append(
                bulk.unless_stopped(self.servers.create)(
                    throwaway,
                    str(base.image_id),
                    flavor,
                    tuple(networks),
                    tag,
                )  # fmt: skip
            )
            booted = self.wait(made[0], timeout, stop=stop)
            seconds = round(time.monotonic() - started, 1)
            if port is None:
                return _with(base, verdict.PASSED, "", seconds)
            left = max(servers.CONNECT_SECONDS, timeout - seconds)
            if servers.port_answers(
                decide.addresses(booted), port, left, stop
            ):
                return _with(base, verdict.PASSED, "", seconds, True)
            return _with(
                base, verdict.FAILED,
                f"port {port} never answered", seconds, False,
            )  # fmt: skip
        except servers.WaitFailed as error:
            return _with(base, verdict.FAILED, f"boot failed: {error}")
        except servers.WaitTimedOut:
            return _with(
                base,
                verdict.TIMED_OUT,
                f"not ACTIVE after {int(timeout)} s",
            )
        except servers.WaitStopped:
            return _with(base, verdict.FAILED, "interrupted")
        except (exceptions.Forbidden, exceptions.OverLimit) as error:
            # A quota refusal proves nothing about the image.
            return _outcome_from(base, error, unknown=True)
        except exceptions.ClientException as error:
            return _outcome_from(base, error, unknown=False)


def _one_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return " ".join(str(text).split()) or type(error).__name__


def _outcome(
    server_id: str,
    name: str,
    result: str,
    error: BaseException,
    unknown: bool,
) -> verdict.Outcome:
    return verdict.Outcome(
        server_id, name, result, _one_line(error), unknown=unknown
    )


def _outcome_from(
    base: verdict.Outcome, error: BaseException, unknown: bool
) -> verdict.Outcome:
    return dataclasses.replace(base, reason=_one_line(error), unknown=unknown)


def _with(
    base: verdict.Outcome,
    result: str,
    reason: str,
    seconds: float | None = None,
    port_open: bool | None = None,
) -> verdict.Outcome:
    return dataclasses.replace(
        base,
        result=result,
        reason=reason,
        boot_seconds=seconds,
        port_open=port_open,
    )

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
"""``openstack scheduled image restore`` and ``... restore-test``.

The words and the exit codes only: the plan and the refusals are
:mod:`..restore`'s, the requests :class:`..restorer.RestoreManager`'s,
the verdicts :mod:`..restore_test`'s, the fan-out and its Ctrl-C
:mod:`..bulk`'s.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Mapping
from typing import Any

from novaclient import exceptions as nova_exceptions
from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import (
    bulk,
    clock,
    fleet,
    options,
    restorer,
    servers,
)
from rax_scheduled_images_python_novaclient_ext import restore as decide
from rax_scheduled_images_python_novaclient_ext import restore_test as verdict
from rax_scheduled_images_python_novaclient_ext.osc import columns, common

# A refusal, or options that do not go together: as argparse's own.
EXIT_REFUSED = 2
EXIT_FAILED = 1


def manager(app: Any) -> restorer.RestoreManager:
    """The restore manager on the plugin's session."""
    return restorer.RestoreManager(
        common.compute(app),
        common.images(app),
        common.schedules(app).retry_policy,
    )


def _seconds(value: str) -> float:
    return options.positive_seconds(
        value, "'{value}' is not a number of seconds above 0."
    )


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"'{value}' is not a TCP port.")
    return int(value)


def _add_timeout(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--timeout",
        metavar="<seconds>",
        type=_seconds,
        default=restorer.DEFAULT_TIMEOUT,
        help=f"{what} (default: {int(restorer.DEFAULT_TIMEOUT)})",
    )


def _add_flavor_network(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--flavor",
        metavar="<flavor>",
        default=None,
        help=f"Flavor of the {what} (name or ID; default: the server's)",
    )
    parser.add_argument(
        "--network",
        metavar="<network>",
        action="append",
        default=[],
        help=f"Network ID for the {what}; repeat for more (default: the "
        "cloud's)",
    )


class RestoreServer(common.EscapingOutput, command.Command):
    """Restore a server from one of its scheduled images.

    Without --yes, a dry run: prints the plan (the image, what is lost,
    the safety image) and changes nothing. In place, the server's system
    disk is replaced by the image (its id and addresses stay), after a
    safety image of the server as it is now has become ACTIVE; with
    --as-new, a new server is built from the image instead. Refused
    (exit 2) before anything is changed: an image not ACTIVE or of
    another server, a flavor disk smaller than the image's min_disk, a
    server booted from a volume, a server not ACTIVE, SHUTOFF or ERROR or
    with a task in progress, an --as-new name a server already has.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "server", metavar="<server>", help="Server (name or ID)"
        )
        parser.add_argument(
            "--image",
            metavar="<image>",
            default=None,
            help="Image of that server to restore (name or ID; default: "
            "its newest ACTIVE scheduled image, kept ones included)",
        )
        parser.add_argument(
            "--as-new",
            metavar="<name>",
            default=None,
            help="Build a new server of this name from the image instead "
            "of rebuilding the server",
        )
        _add_flavor_network(parser, "new server (with --as-new)")
        parser.add_argument(
            "--no-safety-image",
            action="store_true",
            default=False,
            help="Rebuild without first taking an image of the server as "
            "it is now (no way back)",
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            default=False,
            help="Restore (without it, only show what would be done)",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            default=False,
            help="Wait until the server is ACTIVE (or ERROR)",
        )
        _add_timeout(parser, "How long to wait for each step")
        return parser

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> int:
        args = parsed_args
        if args.as_new is None and (args.flavor or args.network):
            return self._refuse("--flavor and --network go with --as-new.")
        restore = manager(self.app)
        try:
            plan = restore.plan(
                args.server,
                args.image,
                new_name=args.as_new,
                flavor=args.flavor,
                networks=args.network,
                safety_image=not args.no_safety_image,
                now=clock.now(),
            )
        except decide.RestoreRefused as error:
            return self._refuse(str(error))
        if not args.yes:
            self._say("Dry run: nothing is changed. Add --yes to restore.")
            self._say(*plan.lines())
            return 0
        self._say(*plan.lines())
        return self._apply(restore, plan, args)

    def _say(self, *lines: str) -> None:
        for line in lines:
            self.app.stdout.write(line + "\n")
        self.app.stdout.flush()

    def _refuse(self, message: str) -> int:
        self.app.stderr.write(message + "\n")
        return EXIT_REFUSED

    def _apply(
        self,
        restore: restorer.RestoreManager,
        plan: decide.RestorePlan,
        args: argparse.Namespace,
    ) -> int:
        safety = None
        if plan.safety_image_name:
            self._say(f"Taking the safety image {plan.safety_image_name}...")
            try:
                safety = restore.take_safety_image(plan, args.timeout)
            except restorer.SafetyImageFailed as error:
                self.app.stderr.write(f"{error}\n")
                return EXIT_FAILED
            except KeyboardInterrupt:
                self.app.stderr.write(
                    "Interrupted: the safety image was started and goes on "
                    "in the cloud; nothing was rebuilt.\n"
                )
                return bulk.INTERRUPTED_EXIT
            self._say(f"Safety image {safety} is ACTIVE.")
        try:
            server_id = restore.start(plan)
        except nova_exceptions.ClientException as error:
            # Refused by the cloud (a state changed since the plan was
            # read): nothing was rebuilt, and the safety image stays.
            self.app.stderr.write(
                f"The cloud refused the restore: {bulk.one_line(error)}. "
                "Nothing was rebuilt.\n"
            )
            self._closing(plan, safety)
            return EXIT_FAILED
        what = (
            f"The rebuild of {plan.server_name} ({server_id})"
            if plan.in_place
            else f"The new server {plan.new_name} ({server_id})"
        )
        self._say(f"{what} from image {plan.image.id} has started.")
        code = 0
        if args.wait:
            code = self._wait(restore, server_id, what, args, plan.in_place)
        self._closing(plan, safety)
        return code

    def _wait(
        self,
        restore: restorer.RestoreManager,
        server_id: str,
        what: str,
        args: argparse.Namespace,
        rebuilt: bool,
    ) -> int:
        watch = f"watch it with: openstack server show {server_id}"
        shown = _progress(self.app.stderr)
        try:
            done = restore.wait(
                server_id,
                args.timeout,
                progress=shown,
                rebuilt=rebuilt,
            )
        except servers.WaitFailed as error:
            shown.end()
            self.app.stderr.write(f"{what} failed: {error}\n")
            return EXIT_FAILED
        except servers.WaitTimedOut:
            shown.end()
            self.app.stderr.write(
                f"Timed out after {int(args.timeout)} s: {what[0].lower()}"
                f"{what[1:]} goes on in the cloud; {watch}\n"
            )
            return EXIT_FAILED
        except KeyboardInterrupt:
            shown.end()
            self.app.stderr.write(
                f"Interrupted: stopped waiting only. {what} was started "
                f"and goes on in the cloud; {watch}\n"
            )
            return bulk.INTERRUPTED_EXIT
        shown.end()
        self._say(f"{what} is {done.get('status')}.")
        return 0

    def _closing(self, plan: decide.RestorePlan, safety: str | None) -> None:
        if not plan.in_place:
            return
        if safety is None:
            self._say("No safety image was taken (--no-safety-image).")
            return
        self._say(
            f"Safety image: {safety} ({plan.safety_image_name})",
            "To roll back to it: openstack scheduled image restore "
            f"{plan.server_id} --image {safety} --yes",
        )


class _progress:
    """A progress line on stderr, when stderr is a terminal (none in a
    pipe or a file)."""

    def __init__(self, stream: Any) -> None:
        isatty = getattr(stream, "isatty", None)
        self.stream = stream if isatty is not None and isatty() else None
        self.shown = False

    def __call__(self, server: Mapping[str, Any], waited: float) -> None:
        if self.stream is None:
            return
        task = server.get("OS-EXT-STS:task_state") or ""
        state = f"{server.get('status') or ''} {task}".strip()
        self.stream.write(f"\r{state}, {int(waited)} s   ")
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        if self.stream is not None and self.shown:
            self.stream.write("\n")


class RestoreTest(common.EscapingOutput, command.Lister):
    """Prove that servers' newest scheduled images boot (a Nagios plugin).

    For each server, boots a throwaway server from its newest ACTIVE
    scheduled image, named restore-test-<server>-<UTC time> and tagged in
    its metadata, waits until it is ACTIVE, with --port checks that its
    address answers TCP on that port, then deletes it: in every outcome,
    Ctrl-C included. Each run first deletes the throwaway servers an
    earlier run left behind (found by the tag, in this project only).
    Each test runs a billed server for its minutes and uses quota. Exit
    0 all passed; 1 a server without an ACTIVE image; 2 a boot that
    failed or timed out, or a port that never answered; 3 the cloud
    could not be read, or a quota refusal.
    """

    auth_required = False
    _code = 0
    _lines: list[str] = []

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "server",
            metavar="<server>",
            nargs="*",
            help="Server(s) to test (name or ID)",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            default=False,
            help="Test every server that has an image schedule",
        )
        _add_flavor_network(parser, "throwaway servers")
        parser.add_argument(
            "--port",
            metavar="<port>",
            type=_port,
            default=None,
            help="Also check that each throwaway server answers TCP on "
            "this port",
        )
        _add_timeout(parser, "How long each boot may take")
        common.add_concurrency_option(
            parser, "How many throwaway servers to run at the same time"
        )
        return parser

    def run(self, parsed_args: argparse.Namespace) -> int:
        super().run(parsed_args)
        return self._code

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        args = parsed_args
        self._lines = []
        if bool(args.server) == bool(args.all):
            self.app.stderr.write("Name the servers to test, or --all.\n")
            self._code = EXIT_REFUSED
            return (), []
        try:
            # osc-lib's own set-up, now that a failure can be caught.
            self.auth_required = True
            self.app.prepare_to_run_command(self)
            restore = manager(self.app)
            cleaned = restore.clean_leftovers()
            self.app.stderr.write(verdict.cleanup_line(cleaned) + "\n")
            targets = self._targets(restore, args)
            if args.flavor:
                # Once, before any boot: a name becomes the flavor's id.
                args.flavor = restore.servers.find_flavor(args.flavor)["id"]
        except Exception as error:  # login, catalog, reads: UNKNOWN
            lines, self._code = verdict.unknown(fleet.describe_error(error))
            self._lines = lines
            return (), []
        outcomes = self._run(restore, targets, args)
        if outcomes is None:
            return (), []
        self._lines, self._code = verdict.report(outcomes)
        return verdict.KEYS, [
            columns.shown(outcome.values(), args) for outcome in outcomes
        ]

    def _targets(
        self, restore: restorer.RestoreManager, args: argparse.Namespace
    ) -> list[dict[str, Any]]:
        if args.all:
            return [
                {"id": row.server_id, "name": row.name}
                for row in common.schedules(self.app).list_schedules(
                    concurrency=args.concurrency
                )
            ]
        names = common.check_server_names(args.server)
        return [restore.find(name) for name in names]

    def _run(
        self,
        restore: restorer.RestoreManager,
        targets: list[dict[str, Any]],
        args: argparse.Namespace,
    ) -> list[verdict.Outcome] | None:
        outcomes: list[verdict.Outcome] = []
        stop = threading.Event()
        now = clock.now()

        def test(target: dict[str, Any]) -> verdict.Outcome:
            return restore.test_server(
                target,
                flavor=args.flavor,
                networks=args.network,
                port=args.port,
                timeout=args.timeout,
                stop=stop,
                now=now,
            )

        def report(
            target: dict[str, Any],
            outcome: verdict.Outcome | None,
            error: Exception | None,
        ) -> None:
            outcomes.append(
                outcome
                or verdict.Outcome(
                    str(target.get("id")),
                    str(target.get("name") or ""),
                    verdict.FAILED,
                    fleet.describe_error(error or Exception()),
                    unknown=True,
                )
            )

        try:
            bulk.run(
                targets, test, report, args.concurrency,
                lambda target: str(target.get("name") or target.get("id")),
                stop,
            )  # fmt: skip
        except bulk.Interrupted as stopped:
            self.app.stderr.write(
                f"{stopped.line}\nEvery throwaway server started was "
                "deleted.\n"
            )
            self._code = bulk.INTERRUPTED_EXIT
            return None
        return outcomes

    def produce_output(
        self, parsed_args: argparse.Namespace, columns: Any, data: Any
    ) -> int:
        # The check's lines are the default output; a program asks for
        # the rows with -f json (and gets the lines on stderr).
        if not columns:
            self.app.stdout.write("".join(f"{ln}\n" for ln in self._lines))
            return 0
        if parsed_args.formatter == "table":
            self.app.stdout.write("".join(f"{ln}\n" for ln in self._lines))
            return 0
        self.app.stderr.write("".join(f"{ln}\n" for ln in self._lines))
        return super().produce_output(parsed_args, columns, data)

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
"""Walk through the user guide against the local sandbox cloud.

Run by ``tools/demo`` inside its own virtualenv, where ``nova``,
``openstack`` and ``scheduled-images-sandbox`` are the installed commands.
Each step prints the command and its output as a user would see them and
checks the result; the first step that does not do what the guide says
stops the demo with exit code 1.
"""

from __future__ import annotations

import json
import pathlib
import shlex
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from typing import Any

from rax_scheduled_images_python_novaclient_ext.sandbox import (
    subprocess_environ,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.launch import (
    Launched,
    LaunchError,
    launch,
)

BIN = pathlib.Path(sys.executable).parent
SERVER_ID = "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6"
DB_ID = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
TICK = ["scheduled-images-sandbox", "tick", "--url"]


# Whether a step's command did what the guide says.
Check = Callable[[subprocess.CompletedProcess[str]], bool]


class DemoFailed(Exception):
    pass


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    env = subprocess_environ(extra)
    env["NOVACLIENT_UUID_CACHE_DIR"] = tempfile.mkdtemp(prefix="demo-")
    return env


def step(
    env: dict[str, str],
    argv: list[str],
    check: Check,
    what: str,
) -> subprocess.CompletedProcess[str]:
    print(f"\n$ {shlex.join(argv)}")
    done = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    # python-novaclient writes its deprecation notice before anything else.
    for line in (done.stderr + done.stdout).splitlines():
        print(line)
    if not check(done):
        raise DemoFailed(f"{what}: exit code {done.returncode}")
    return done


def ok(expected_out: str | None = None) -> Check:
    def check(done: subprocess.CompletedProcess[str]) -> bool:
        if done.returncode != 0:
            return False
        return expected_out is None or done.stdout == expected_out

    return check


def fails_with(text: str) -> Check:
    def check(done: subprocess.CompletedProcess[str]) -> bool:
        return done.returncode != 0 and text in done.stderr

    return check


def say(text: str) -> None:
    print(f"\n# {text}")


def walk(sandbox: Launched) -> None:
    env = clean_environment(sandbox.variables)
    tick = ["scheduled-images-sandbox", "tick", "--url", sandbox.url]
    walk_schedules(env)
    walk_images(env, tick)
    walk_openstack_and_disable(sandbox, env)


def walk_schedules(env: dict[str, str]) -> None:
    """nova: enable weekly, change the retention, switch to daily."""
    say("Enable weekly scheduled images on Saturdays, keeping 4 (by UUID)")
    step(
        env,
        [
            "nova",
            "scheduled-images-enable",
            "--day-of-week",
            "saturday",
            SERVER_ID,
            "4",
        ],
        ok(""),
        "enable weekly",
    )
    step(
        env,
        ["nova", "scheduled-images-show", SERVER_ID],
        ok("Schedule type: Weekly on: SATURDAY\nRetention: 4\n"),
        "show weekly",
    )

    say("Change the retention to 8; a weekly schedule needs its day again")
    step(
        env,
        [
            "nova",
            "scheduled-images-enable",
            "--day-of-week",
            "saturday",
            "myserver",
            "8",
        ],
        ok(""),
        "change retention",
    )
    step(
        env,
        ["nova", "scheduled-images-show", "myserver"],
        ok("Schedule type: Weekly on: SATURDAY\nRetention: 8\n"),
        "show new retention",
    )

    say("Switch to daily images, keeping 3 (by name)")
    step(
        env,
        ["nova", "scheduled-images-enable", "myserver", "3"],
        ok(""),
        "switch to daily",
    )
    step(
        env,
        ["nova", "scheduled-images-show", "myserver"],
        ok("Schedule type: Daily\nRetention: 3\n"),
        "show daily",
    )


def walk_images(env: dict[str, str], tick: list[str]) -> None:
    """Days pass; the images taken, kept and released."""
    say("Let four days pass in the sandbox: four daily images are taken,")
    say("and the service prunes down to the newest 3")
    step(env, [*tick, "--days", "4"], ok(), "scheduler tick")

    say("Every schedule at once")
    step(
        env,
        ["nova", "scheduled-images-list"],
        lambda d: d.returncode == 0 and "myserver" in d.stdout,
        "list schedules",
    )

    say("The server's scheduled images, and which go at the next run")
    listed = step(
        env,
        ["nova", "scheduled-images-image-list", "myserver"],
        lambda d: d.returncode == 0 and d.stdout.count("Daily-myserver-") == 3,
        "image list",
    )
    oldest = next(
        line.split("|")[1].strip()
        for line in listed.stdout.splitlines()
        if "Daily-myserver-" in line
    )

    say("Keep the oldest one forever: the service stops counting it")
    step(env, ["nova", "scheduled-images-image-keep", oldest], ok(), "keep")
    step(env, [*tick, "--days", "3"], ok(), "three more days")
    step(
        env,
        ["nova", "scheduled-images-image-list", "myserver"],
        lambda d: d.returncode == 0 and oldest in d.stdout,
        "the kept image survived",
    )

    say("Release it again: it is counted, and will go at the next run")
    step(
        env,
        ["nova", "scheduled-images-image-release", oldest],
        lambda d: d.returncode == 0 and oldest in d.stdout,
        "release",
    )


def walk_openstack_and_disable(sandbox: Launched, env: dict[str, str]) -> None:
    """The openstack commands, then nova disables the schedule."""
    say("The same with the openstack command")
    step(
        env,
        [
            "openstack",
            "server",
            "image",
            "schedule",
            "set",
            "--day-of-week",
            "friday",
            "myserver",
        ],
        ok(),
        "openstack set day",
    )
    step(
        env,
        ["openstack", "server", "image", "schedule", "show", "myserver"],
        lambda d: (
            d.returncode == 0 and "FRIDAY" in d.stdout and "| 3 " in d.stdout
        ),
        "openstack show keeps the retention",
    )
    step(
        env,
        ["openstack", "server", "image", "schedule", "list"],
        lambda d: d.returncode == 0 and "myserver" in d.stdout,
        "openstack list",
    )

    is_it_working(sandbox, env)

    say("Disable scheduled images; the images already taken stay")
    step(
        env,
        ["nova", "scheduled-images-disable", "myserver"],
        ok(""),
        "disable",
    )
    step(
        env,
        ["nova", "scheduled-images-show", SERVER_ID],
        fails_with(
            "ERROR (NotFound): Scheduled images not enabled for "
            f"server {SERVER_ID} (HTTP 404)"
        ),
        "show after disable",
    )


def admin(sandbox: Launched, path: str, body: object = None) -> Any:
    """A call to the sandbox's admin API (no token: loopback only)."""
    request = urllib.request.Request(
        sandbox.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def is_it_working(sandbox: Launched, env: dict[str, str]) -> None:
    say("Is it working? db's next snapshot fails (a killed image stays),")
    say("so a day later its newest image is two days old: late")
    admin(sandbox, "/sandbox/outcome", {"server_id": DB_ID, "outcome": "fail"})
    step(env, [*TICK, sandbox.url], ok(), "a day with a failed snapshot")
    # The commands measure ages from the sandbox's clock, not the real one.
    now = {"SCHEDULED_IMAGES_NOW": admin(sandbox, "/sandbox/clock")["clock"]}
    step(
        {**env, **now},
        ["nova", "scheduled-images-check"],
        lambda d: (
            d.returncode == 1
            and d.stdout.startswith("SCHEDULED IMAGES WARNING - ")
            and f"late: db ({DB_ID}): newest image Daily-db-" in d.stdout
            and ", 48h old (daily warning after 28h)" in d.stdout
            and "1 failed image to delete" in d.stdout
        ),
        "check finds the late server and its failed image",
    )


def main() -> int:
    print("# Starting the sandbox cloud:")
    try:
        # The sandbox as a user starts it: the console script, port 0.
        sandbox = launch(echo=lambda line: print(f"  {line}"))
    except LaunchError as error:
        print(f"\nDEMO FAILED: {error}", file=sys.stderr)
        return 1
    try:
        walk(sandbox)
    except DemoFailed as error:
        print(f"\nDEMO FAILED at step: {error}", file=sys.stderr)
        return 1
    finally:
        sandbox.stop()
    print("\n# Demo finished: every step did what the guide says.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ctrl-C during a bulk change, and terminals that cannot show a name:
the installed ``nova`` and ``openstack`` against the sandbox.

Ctrl-C is a real SIGINT sent once the command has reported its first
changes (the sandbox's latency keeps the rest coming), never after a
delay; then the sandbox's state is held against what was printed.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    CREATED_BY,
    SERVICE_MARK,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import bin_dir, clean_env

pytestmark = pytest.mark.functional

INTERRUPTED = re.compile(
    r"^Interrupted: (\d+) of (\d+) done; not started: (.*?)"
    r"(?: and (\d+) more)?$"
)
UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def _env(cloud: Sandbox, tmp_path, **extra: str) -> dict[str, str]:
    env = clean_env(
        **cloud.env(user="demo", keystone="v3"),
        NOVACLIENT_UUID_CACHE_DIR=str(tmp_path / "cache"),
        HOME=str(tmp_path),
        OS_CLIENT_CONFIG_FILE=str(tmp_path / "none.yaml"),
        **extra,
    )
    # The terminal is the one each case describes: not an encoding this
    # test's own runner set (tox sets PYTHONIOENCODING=utf-8).
    if "PYTHONIOENCODING" not in extra:
        env.pop("PYTHONIOENCODING", None)
    return env


def interrupt_after(argv, env, is_change, changes: int = 2, signals=1):
    """Run ``argv``; SIGINT once ``changes`` change lines are printed
    (``signals`` times, 0.8 s apart).

    :returns: (exit code, change lines, stderr lines)
    """
    proc = subprocess.Popen(
        [str(bin_dir() / argv[0]), *argv[1:]],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal delivers it, even when this runner started
        # with SIGINT ignored (nohup), which the command would inherit.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        while len(seen) < changes:
            line = proc.stdout.readline()
            assert line, f"ended before {changes} changes: {proc.stderr}"
            if is_change(line):
                seen.append(line.rstrip("\n"))
        if signals > 1:
            # The next changes start as the first ones are reported: give
            # them time to be sent, so that some are in flight.
            time.sleep(0.3)
        for count in range(signals):
            if count:
                time.sleep(0.8)
            proc.send_signal(signal.SIGINT)
        # Read on through the same buffered file: communicate() would read
        # the pipe underneath it and miss what readline() buffered.
        out = proc.stdout.read()
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    seen += [line for line in out.splitlines() if is_change(line)]
    errors = [
        line
        for line in err.splitlines()
        if line.strip() and "nova CLI is deprecated" not in line
    ]
    return proc.returncode, seen, errors


def check_interrupted(errors, total, reported, changed, everything):
    """The stderr line against the state: done = reported = changed,
    and what it names as not started did not change."""
    match = INTERRUPTED.match(errors[-1])
    assert match, errors
    done, of, named, more = match.groups()
    assert int(of) == total
    assert set(reported) == set(changed)
    assert int(done) == len(reported)
    not_started = UUID.findall(named)
    assert len(not_started) + int(more or 0) == total - int(done)
    assert total - int(done) > 0, "nothing was left: the test proves nothing"
    assert not set(not_started) & set(changed)
    assert set(not_started) <= set(everything)


def test_ctrl_c_during_openstack_set(tmp_path) -> None:
    with Sandbox(servers=40, seed=5, latency_ms=150) as cloud:
        with cloud.lock:
            fleet = sorted(
                s.id
                for s in cloud.state.servers.values()
                if s.name.startswith("fleet-")
            )
        code, lines, errors = interrupt_after(
            ["openstack", "server", "image", "schedule", "set",
             "--retention", "9", *fleet],
            _env(cloud, tmp_path),
            lambda line: "Retention: 9" in line,
        )  # fmt: skip
        with cloud.lock:
            changed = [
                sid for sid in fleet if cloud.state.servers[sid].schedule
            ]
    assert code == 130, errors
    reported = [line.split(":")[0] for line in lines]
    check_interrupted(errors, 40, reported, changed, fleet)


def test_ctrl_c_twice_during_openstack_set_still_says_what_it_did(
    tmp_path,
) -> None:
    # 1.1.0: the second Ctrl-C ended the process, the servers changed
    # after the last line printed never reported, no Interrupted line.
    with Sandbox(servers=40, seed=5, latency_ms=1500) as cloud:
        with cloud.lock:
            fleet = sorted(
                s.id
                for s in cloud.state.servers.values()
                if s.name.startswith("fleet-")
            )
        code, lines, errors = interrupt_after(
            ["openstack", "server", "image", "schedule", "set",
             "--retention", "9", *fleet],
            _env(cloud, tmp_path),
            lambda line: "Retention: 9" in line,
            changes=1,
            signals=2,
        )  # fmt: skip
        time.sleep(3.5)  # what was in flight reaches the sandbox
        with cloud.lock:
            changed = {
                sid for sid in fleet if cloud.state.servers[sid].schedule
            }
    assert code == 130, errors
    match = re.match(
        r"^Interrupted: (\d+) of 40 done; may have completed: (.*?); "
        r"not started: (.*)$",
        errors[-1],
    )
    assert match, errors
    done, maybe, rest = match.groups()
    reported = {line.split(":")[0] for line in lines}
    maybe_ids = set(UUID.findall(maybe))
    assert maybe_ids, "nothing was in flight: the test proves nothing"
    assert int(done) == len(reported)
    assert reported <= changed <= reported | maybe_ids
    assert not changed & set(UUID.findall(rest))


def _marked_images(cloud: Sandbox, marked: bool, count: int) -> list[str]:
    """Images of the fleet, each set as ``marked``."""
    with cloud.lock:
        chosen = sorted(
            image.id
            for image in cloud.state.images.values()
            if image.name.startswith("Daily-fleet-")
        )[:count]
        for image_id in chosen:
            properties = cloud.state.images[image_id].properties
            properties.pop(CREATED_BY, None)
            if marked:
                properties[CREATED_BY] = SERVICE_MARK
    return chosen


@pytest.mark.parametrize(
    ("argv", "keep", "change"),
    [
        (["nova", "scheduled-images-image-keep"], True, "Kept image "),
        (["nova", "scheduled-images-image-release"], False, "Released image "),
        (["openstack", "scheduled", "image", "keep"], True, ": kept: "),
        (
            ["openstack", "scheduled", "image", "release"],
            False,
            ": released: ",
        ),
    ],
)
def test_ctrl_c_during_keep_and_release(tmp_path, argv, keep, change) -> None:
    with Sandbox(
        servers=3, scheduled=3, images=40, seed=9, latency_ms=150
    ) as cloud:
        chosen = _marked_images(cloud, marked=keep, count=20)
        code, lines, errors = interrupt_after(
            [*argv, *chosen],
            _env(cloud, tmp_path),
            lambda line: change in line,
        )
        with cloud.lock:
            changed = [
                i
                for i in chosen
                if (CREATED_BY in cloud.state.images[i].properties) != keep
            ]
    assert code == 130, errors
    reported = [UUID.search(line).group(0) for line in lines]
    check_interrupted(errors, 20, reported, changed, chosen)


NAME = "café ☕ 🚀"
# (environment, the encoding its output is in)
TERMINALS = [
    ({"PYTHONIOENCODING": "ascii"}, "ascii"),
    ({"PYTHONIOENCODING": "iso-8859-1"}, "iso-8859-1"),
    # The C locale without UTF-8 mode: ASCII out, and arguments typed on
    # a UTF-8 terminal arrive undecoded.
    ({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}, "ascii"),
]


@pytest.fixture
def named_cloud():
    """A server called café ☕ 🚀 with three images A, ☕ and C, kept."""
    with Sandbox() as cloud:
        admin = f"{cloud.url}/sandbox"
        server = requests.post(
            f"{admin}/servers", json={"name": NAME}, timeout=10
        ).json()["server"]
        images = [
            requests.post(
                f"{admin}/images",
                json={"server_id": server["id"], "name": n, "marked": False},
                timeout=10,
            ).json()["id"]
            for n in ("A", "☕", "C")
        ]
        yield cloud, server["id"], images


class Shown:
    """A command's output as a terminal of ``encoding`` shows it."""

    def __init__(
        self, argv: list[str], env: dict[str, str], encoding: str
    ) -> None:
        done = subprocess.run(
            [str(bin_dir() / argv[0]), *argv[1:]],
            capture_output=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        self.code = done.returncode
        self.out = done.stdout.decode(encoding)
        self.err = done.stderr.decode(encoding)
        self.error_lines = [
            line
            for line in self.err.splitlines()
            if line.strip() and "nova CLI is deprecated" not in line
        ]

    def __repr__(self) -> str:
        return f"<exit {self.code}\n{self.out}\n{self.err}>"


def _marked(cloud: Sandbox, image_ids) -> list[bool]:
    with cloud.lock:
        return [
            CREATED_BY in cloud.state.images[i].properties for i in image_ids
        ]


@pytest.mark.parametrize("terminal", TERMINALS)
def test_nova_release_by_name_on_a_terminal_without_the_names(
    named_cloud, tmp_path, terminal
) -> None:
    cloud, _, images = named_cloud
    result = Shown(
        ["nova", "scheduled-images-image-release", "A", "☕", "C"],
        _env(cloud, tmp_path, **terminal[0]),
        terminal[1],
    )
    assert result.code == 0, result
    assert _marked(cloud, images) == [True, True, True]
    released = [
        line for line in result.out.splitlines() if "Released image" in line
    ]
    assert [line.split("(")[1].split(")")[0] for line in released] == [
        "A",
        "\\u2615",
        "C",
    ]


@pytest.mark.parametrize("terminal", TERMINALS)
def test_openstack_keep_and_set_on_a_terminal_without_the_names(
    named_cloud, tmp_path, terminal
) -> None:
    cloud, server_id, images = named_cloud
    env = _env(cloud, tmp_path, **terminal[0])
    for image_id in images:
        with cloud.lock:
            cloud.state.images[image_id].properties[CREATED_BY] = SERVICE_MARK
    kept = Shown(
        ["openstack", "scheduled", "image", "keep", *images], env, terminal[1]
    )
    assert kept.code == 0, kept
    assert _marked(cloud, images) == [False, False, False]
    assert len(kept.out.splitlines()) == 3
    assert "(\\u2615): kept" in kept.out

    result = Shown(
        ["openstack", "server", "image", "schedule", "set", "--retention",
         "6", "myserver", NAME, "db", "nosuch☕"],
        env, terminal[1],
    )  # fmt: skip
    assert result.code == 1, result
    shown = "café" if terminal[1] != "ascii" else "caf\\xe9"
    assert result.out.splitlines() == [
        "myserver: Schedule type: Daily, Retention: 6",
        f"{shown} \\u2615 \\U0001f680: Schedule type: Daily, Retention: 6",
        "db: Schedule type: Daily, Retention: 6",
    ]
    assert result.error_lines == [
        "nosuch\\u2615: No server with a name or ID of 'nosuch\\u2615' "
        "exists.",
        "1 of 4 servers failed.",
    ]
    with cloud.lock:
        assert cloud.state.servers[server_id].schedule.retention == 6

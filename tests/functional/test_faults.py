"""Faults, end to end: the installed ``nova`` and ``openstack`` commands
against a sandbox that answers 503/429, drops connections, or hangs.

Bulk changes must end exactly as asked however many requests fail on
the way; a hung endpoint must end within the user's ``--timeout``; and
when retries are used up the user sees one line and exit 1.
"""

from __future__ import annotations

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    CREATED_BY,
    MYSERVER_ID,
    SERVICE_MARK,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import SCHEDULE_SET, clean_env, run_command

pytestmark = pytest.mark.functional

# Enough retries that a 30 % fault rate practically never wins
# (0.3 ** 11 per request), with pauses short enough for a fast suite.
# Faults on a third of the requests, with a Retry-After to honour.
FAULTS = {"fault_rate": 0.3, "fault_codes": (503, 429), "retry_after": 1}
RETRY_ENV = {
    "SCHEDULED_IMAGES_RETRIES": "10",
    "SCHEDULED_IMAGES_RETRY_MAX_DELAY": "0.05",
}


def _env(cloud: Sandbox, tmp_path, **extra: str) -> dict[str, str]:
    return clean_env(
        **cloud.env(user="demo", keystone="v3"),
        NOVACLIENT_UUID_CACHE_DIR=str(tmp_path / "cache"),
        HOME=str(tmp_path),
        OS_CLIENT_CONFIG_FILE=str(tmp_path / "none.yaml"),
        **extra,
    )


def _fleet(cloud: Sandbox) -> list[str]:
    with cloud.lock:
        return sorted(
            s.id
            for s in cloud.state.servers.values()
            if s.name.startswith("fleet-")
        )


def _no_traceback(result) -> None:
    assert "Traceback" not in result.err + result.out, result


def test_bulk_set_under_faults_ends_exactly_as_asked(tmp_path) -> None:
    with Sandbox(
        servers=50,
        scheduled=20,
        seed=7,
        **FAULTS,
    ) as cloud:
        fleet = _fleet(cloud)
        assert len(fleet) == 50
        with cloud.lock:
            before = {sid: cloud.state.servers[sid].schedule for sid in fleet}
        result = run_command(
            [
                "openstack",
                *SCHEDULE_SET,
                "--retention",
                "9",
                *fleet,
            ],
            _env(cloud, tmp_path, **RETRY_ENV),
        )
        assert result.code == 0, result
        _no_traceback(result)
        with cloud.lock:
            after = {sid: cloud.state.servers[sid].schedule for sid in fleet}
        for sid in fleet:
            # --retention alone keeps a weekly schedule on its day.
            old_day = before[sid].day_of_week if before[sid] else None
            assert (after[sid].retention, after[sid].day_of_week) == (
                9,
                old_day,
            ), sid
        log = cloud.requests
        faulted = [r for r in log if r["status"] in (503, 429)]
        assert faulted, (
            "the sandbox injected no faults: the test proves nothing"
        )
        assert len(result.out.splitlines()) == 50


def test_bulk_keep_and_release_under_faults(tmp_path) -> None:
    with Sandbox(
        servers=10,
        scheduled=10,
        images=60,
        seed=11,
        **FAULTS,
    ) as cloud:
        fleet = set(_fleet(cloud))
        with cloud.lock:
            chosen = sorted(
                image.id
                for image in cloud.state.images.values()
                if image.properties.get("instance_uuid") in fleet
            )[:50]
        assert len(chosen) == 50
        env = _env(cloud, tmp_path, **RETRY_ENV)

        def markers() -> set[str | None]:
            with cloud.lock:
                return {
                    cloud.state.images[i].properties.get(CREATED_BY)
                    for i in chosen
                }

        kept = run_command(
            ["openstack", "scheduled", "image", "keep", *chosen], env
        )
        assert kept.code == 0, kept
        _no_traceback(kept)
        assert markers() == {None}

        released = run_command(
            ["openstack", "scheduled", "image", "release", *chosen], env
        )
        assert released.code == 0, released
        _no_traceback(released)
        assert markers() == {SERVICE_MARK}
        assert any(r["status"] in (503, 429) for r in cloud.requests)


def test_dropped_connections_are_survived(tmp_path) -> None:
    # openstack only: nova's own version discovery request (before any
    # of this extension's code runs) is not retried by python-novaclient.
    with Sandbox(seed=3, drop_rate=0.3) as cloud:
        env = _env(cloud, tmp_path, **RETRY_ENV)
        server = ["server", "image", "schedule"]
        enabled = run_command(
            [
                "openstack",
                *server,
                "set",
                "--retention",
                "6",
                "--day-of-week",
                "monday",
                MYSERVER_ID,
            ],
            env,
        )
        shown = run_command(
            ["openstack", *server, "show", "-f", "value", MYSERVER_ID], env
        )
        listed = run_command(["openstack", *server, "list"], env)
        images = run_command(
            ["openstack", "scheduled", "image", "list", "--server", "db"], env
        )
        assert any(r["status"] == 0 for r in cloud.requests), "no drops"
        for result in (enabled, shown, listed, images):
            assert result.code == 0, result
            _no_traceback(result)
        assert MYSERVER_ID in listed.out
        assert "db-before-upgrade" in images.out
        with cloud.lock:
            found = cloud.state.servers[MYSERVER_ID].schedule
        assert (found.retention, found.day_of_week) == (6, "MONDAY")


@pytest.mark.parametrize(
    ("argv", "timeout_env"),
    [
        (["nova", "--timeout", "1", "scheduled-images-show", MYSERVER_ID], {}),
        # OpenStackClient has no --timeout; its session takes
        # OS_API_TIMEOUT (api_timeout in clouds.yaml).
        (
            ["openstack", "server", "image", "schedule", "show", MYSERVER_ID],
            {"OS_API_TIMEOUT": "1"},
        ),
    ],
    ids=["nova-timeout", "openstack-api-timeout"],
)
def test_hung_endpoint_ends_with_the_timeouts_error(
    tmp_path, argv, timeout_env
) -> None:
    # The sandbox answers after 20 s: a client that ignored its 1 s
    # timeout would get that answer and exit 0, so the exit code and the
    # "timed out" line prove the timeout was applied. No wall time is
    # asserted (a loaded machine must not fail this); the subprocess
    # timeout only bounds a hang.
    with Sandbox(latency_ms=20_000) as cloud:
        env = _env(cloud, tmp_path, **RETRY_ENV, **timeout_env)
        result = run_command(argv, env, timeout=60)
        assert result.code == 1, result
        _no_traceback(result)
        assert len(result.error_lines) == 1, result
        assert "timed out" in result.error_lines[0].lower(), result


@pytest.mark.parametrize(
    "argv",
    [
        ["nova", "scheduled-images-show", MYSERVER_ID],
        ["nova", "scheduled-images-enable", MYSERVER_ID, "3"],
        ["openstack", "server", "image", "schedule", "show", MYSERVER_ID],
        ["openstack", "scheduled", "image", "list", "--server", MYSERVER_ID],
    ],
    ids=lambda a: "-".join(a[:5]),
)
def test_retries_exhausted_is_one_line_exit_1(tmp_path, argv) -> None:
    with Sandbox(fault_rate=1.0, fault_codes=(503,), retry_after=1) as cloud:
        env = _env(
            cloud,
            tmp_path,
            SCHEDULED_IMAGES_RETRIES="2",
            SCHEDULED_IMAGES_RETRY_MAX_DELAY="0.05",
        )
        # The subprocess timeout bounds a hang; no wall time is asserted.
        result = run_command(argv, env, timeout=60)
        assert result.code == 1, result
        _no_traceback(result)
        lines = [
            line
            for line in result.error_lines
            if not line.startswith("Could not load ")
        ]
        assert len(lines) == 1, result
        assert "503" in lines[0] or "unavailable" in lines[0].lower(), lines
        with cloud.lock:
            assert cloud.state.servers[MYSERVER_ID].schedule is None

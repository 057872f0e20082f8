"""The real ``openstack`` shell in-process, Keystone and Nova mocked.

Reuses the cloud of ``tests/unit/conftest.py`` (Keystone v3 with a
catalog; compute at ``COMPUTE``). Nothing reaches a network.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests_mock as rm
from cliff import app as cliff_app

from rax_scheduled_images_python_novaclient_ext import manager as m

from ..conftest import (
    AUTH_URL,
    COMPUTE,
    GENERIC_404,
    PASSWORD,
    SCHED_PATH,
    SCHED_URL,
    SERVER_ID,
    SERVER_PATH,
    SERVER_URL,
    WEB1,
    WEB2,
    WEB3,
    Result,
    no_schedule_404,
    register_cloud,
    register_myserver,
    run_captured,
    server,
)

WEEKLY_SAT_8 = {"image_schedule": {"day_of_week": "SATURDAY", "retention": 8}}
DAILY_31 = {"image_schedule": {"retention": 31}}


def sched_url(server_id: str, alias: str = m.DEFAULT_ALIAS) -> str:
    return f"{COMPUTE}/servers/{server_id}/{alias}"


def sched_path(server_id: str, alias: str = m.DEFAULT_ALIAS) -> str:
    return f"/v2/p1/servers/{server_id}/{alias}"


def api_calls(mock: rm.Mocker) -> list[tuple[str, str]]:
    """Requests to compute and image: no Keystone, no version discovery."""
    out = []
    for req in mock.request_history:
        path = req.path + (("?" + req.query) if req.query else "")
        if req.hostname == "identity.test" or path == "/v2/p1":
            continue
        out.append((req.method, path))
    return out


def bodies(mock: rm.Mocker, method: str = "POST") -> dict[str, Any]:
    """The JSON body of each ``method`` request to the cloud, by path."""
    return {
        req.path: req.json()
        for req in mock.request_history
        if req.method == method and req.hostname != "identity.test"
    }


def _reset_client_cache() -> None:
    # osc-lib caches a plugin's client on the ClientManager CLASS: clear
    # it so each run builds its client on its own session.
    # (openstackclient sets it on osc-lib's class, not on its subclass.)
    from osc_lib import clientmanager

    cache = vars(clientmanager.ClientManager).get("scheduled_images")
    if cache is not None:
        cache._handle = None


@pytest.fixture(autouse=True)
def _no_alias_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(m.ALIAS_ENV, raising=False)


@pytest.fixture
def openstack(
    mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Iterator[Callable[..., Result]]:
    """Run ``openstack`` in-process; returns what a user sees."""
    from openstackclient import shell

    register_cloud(mock)
    for key in list(os.environ):
        if key.startswith(("OS_", "NOVA_")):
            monkeypatch.delenv(key)
    # No clouds.yaml or cache of the developer's leaks into the tests.
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OS_AUTH_URL", AUTH_URL)
    monkeypatch.setenv("OS_USERNAME", "demo")
    monkeypatch.setenv("OS_PASSWORD", PASSWORD)
    monkeypatch.setenv("OS_PROJECT_NAME", "demo")
    monkeypatch.setenv("OS_USER_DOMAIN_NAME", "Default")
    monkeypatch.setenv("OS_PROJECT_DOMAIN_NAME", "Default")

    def run(*argv: str, stdout: Any = None, stderr: Any = None) -> Result:
        _reset_client_cache()
        # cliff names the program after sys.argv[0] when it is imported.
        monkeypatch.setattr(cliff_app.App, "NAME", "openstack")
        return run_captured(monkeypatch, shell.main, argv, stdout, stderr)

    yield run
    _reset_client_cache()


@pytest.fixture
def myserver(mock):
    """``myserver`` (SERVER_ID) found by UUID and by name."""
    register_myserver(mock)


def echo(request, context):
    """The service echoes the schedule it was sent."""
    return request.json()


__all__ = [
    "SERVER_URL",
    "SERVER_PATH",
    "WEB1",
    "WEB2",
    "WEB3",
    "SERVER_ID",
    "SCHED_URL",
    "SCHED_PATH",
    "COMPUTE",
    "GENERIC_404",
    "no_schedule_404",
    "server",
]

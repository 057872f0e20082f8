"""`launch`: start the sandbox command and wait for its `# ready`."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox.launch import (
    LaunchError,
    launch,
)

from .test_cli import MODULE, _environment

SANDBOX = [sys.executable, "-m", MODULE]


def test_launch_returns_once_ready_with_the_printed_variables():
    seen: list[str] = []
    with launch(
        "--servers", "0", command=SANDBOX, env=_environment(), echo=seen.append
    ) as cloud:
        assert cloud.banner == seen
        assert cloud.banner[-1] == "# ready"
        assert cloud.variables["OS_AUTH_URL"] == f"{cloud.url}/identity/v3"
        assert requests.get(f"{cloud.url}/sandbox", timeout=10).ok
    assert cloud.process.returncode == 0  # SIGTERM: a clean stop


def test_a_sandbox_that_exits_before_ready_is_an_error():
    with pytest.raises(LaunchError, match=r"did not start \(it printed: "):
        launch(
            "--alias",
            "no-such-alias",
            command=SANDBOX,
            env=_environment(),
            stderr=subprocess.DEVNULL,
        )


def test_a_sandbox_that_never_gets_ready_is_stopped():
    silent = [
        sys.executable,
        "-c",
        "print('# starting', flush=True)\nimport time; time.sleep(600)",
    ]
    raised: list[BaseException] = []

    def start() -> None:
        try:
            launch(command=silent, timeout=1)
        except LaunchError as error:
            raised.append(error)

    # A generous bound on a 1 s timeout: without the watchdog the read
    # would block for the child's whole 600 s.
    waiting = threading.Thread(target=start, daemon=True)
    waiting.start()
    waiting.join(60)
    assert not waiting.is_alive(), "launch did not give up on a silent child"
    assert "it printed: # starting" in str(raised[0])

"""The `scheduled-images-sandbox` command, run as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import cli
from rax_scheduled_images_python_novaclient_ext.sandbox.launch import launch

MODULE = "rax_scheduled_images_python_novaclient_ext.sandbox"
ROOT = Path(__file__).resolve().parents[2]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """A sandbox process and the variables it printed."""
    with launch(
        "--alias",
        "rax-si-image-schedule",
        command=[sys.executable, "-m", MODULE],
        env=_environment(),
        stderr=subprocess.PIPE,
    ) as cloud:
        variables = {**cloud.variables, "_banner": "\n".join(cloud.banner)}
        yield cloud.process, variables


def test_serve_prints_port_and_variables(
    running: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    _, variables = running
    url = variables["SCHEDULED_IMAGES_SANDBOX_URL"]
    port = url.rsplit(":", 1)[1]
    assert f"# port: {port}" in variables["_banner"]
    assert "OS_COMPUTE_API_VERSION is not needed" in variables["_banner"]
    assert variables["OS_AUTH_URL"] == f"{url}/identity/v3"
    assert variables["OS_AUTH_TYPE"] == "password"
    assert variables["OS_USERNAME"] == "demo"
    assert variables["OS_PASSWORD"] == "secret"
    assert variables["OS_PROJECT_NAME"] == "demo"
    assert variables["OS_USER_DOMAIN_ID"] == "default"
    assert variables["OS_PROJECT_DOMAIN_ID"] == "default"
    assert requests.get(f"{url}/sandbox").json()["alias"] == (
        "rax-si-image-schedule"
    )


def test_sigterm_stops_cleanly(
    running: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, _ = running
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_tick_and_clock_subcommands(
    running: tuple[subprocess.Popen[str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, variables = running
    url = variables["SCHEDULED_IMAGES_SANDBOX_URL"]
    assert cli.main(["tick", "--url", url, "--days", "2"]) == 0
    assert '"clock": "2025-01-06T03:17:00Z"' in capsys.readouterr().out
    assert cli.main(["clock", "--url", url, "--set", "2026-01-01"]) == 0
    assert cli.main(["clock", "--url", url]) == 0
    assert '"clock": "2026-01-01T00:00:00Z"' in capsys.readouterr().out
    assert cli.main(["requests", "--url", url]) == 0
    assert '"count": 0' in capsys.readouterr().out


def test_tick_without_url_or_sandbox_fails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cli.URL_VARIABLE, raising=False)
    assert cli.main(["tick", "--url", ""]) == 2
    assert cli.main(["tick", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_bad_flags_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--fault-rate", "2"],
        ["--alias", "nope"],
        ["--fault-codes", "200"],
        ["--clock", "later"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2


NOVA = Path(sys.executable).parent / "nova"


@pytest.mark.skipif(not NOVA.exists(), reason="nova is not installed")
def test_plain_nova_list_and_show(
    running: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    _, variables = running
    env = _environment()
    env.update({k: v for k, v in variables.items() if k.startswith("OS_")})
    listing = subprocess.run(
        [str(NOVA), "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6 | myserver" in listing.stdout
    shown = subprocess.run(
        [str(NOVA), "show", "myserver"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6" in shown.stdout
    ambiguous = subprocess.run(
        [str(NOVA), "show", "web"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ambiguous.returncode == 1
    assert (
        "Multiple server matches found for 'web', use an ID to be more "
        "specific." in ambiguous.stderr
    )

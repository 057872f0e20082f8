"""The `scheduled-images-sandbox` command, run as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

    def nova(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NOVA), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    listing = nova("list")
    assert listing.returncode == 0, listing.stderr
    assert "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6 | myserver" in listing.stdout
    shown = nova("show", "myserver")
    assert shown.returncode == 0, shown.stderr
    assert "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6" in shown.stdout
    ambiguous = nova("show", "web")
    assert ambiguous.returncode == 1
    assert (
        "Multiple server matches found for 'web', use an ID to be more "
        "specific." in ambiguous.stderr
    )


def _sandbox_command(
    *argv: str, stdout: Any = subprocess.PIPE, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", MODULE, *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_environment(),
        timeout=timeout,
    )


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_serve_refuses_a_state_file_that_is_no_file(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "mine"
    if kind == "directory":
        path.mkdir()
        (path / "notes.txt").write_text("keep me")
    else:
        os.mkfifo(path)
    done = _sandbox_command("serve", "--state-file", str(path))
    assert done.returncode == 2
    assert done.stderr == (
        f"error: state file {path} exists and is not a regular file: give "
        "the path of a file (it is created if missing)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    if kind == "directory":
        assert (path / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--port", "99999"],
            "scheduled-images-sandbox serve: error: argument --port: must "
            "be from 0 to 65535 (see scheduled-images-sandbox serve --help)",
        ),
        (
            ["--clock", "9999-12-31T23:59:59-01:00"],
            "scheduled-images-sandbox serve: error: argument --clock: not an "
            "ISO 8601 time from the year 1 to 9999 (in UTC) (see "
            "scheduled-images-sandbox serve --help)",
        ),
        (
            ["tick", "--url", "http://127.0.0.1:9", "--days", "0"],
            "scheduled-images-sandbox tick: error: argument --days: must be "
            "from 1 to 3660 (see scheduled-images-sandbox tick --help)",
        ),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == line + "\n"


@pytest.mark.parametrize(
    "url", ["notaurl", "http://127.0.0.1:99999", "ftp://x"]
)
def test_a_url_that_is_not_one_is_refused(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["tick", "--url", url]) == 2
    assert capsys.readouterr().err == (
        f"error: --url {url} is not a URL like http://127.0.0.1:PORT\n"
    )


def test_a_clock_without_room_for_the_seed_is_refused() -> None:
    done = _sandbox_command("--clock", "0001-01-01T00:00:00Z")
    assert done.returncode == 2
    assert done.stderr == (
        "error: the clock 0001-01-01T00:00:00Z leaves no room for the "
        "seeded images, dated up to 400 days earlier: choose a later time\n"
    )


def test_clock_shows_four_digit_years(
    running: tuple[subprocess.Popen[str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = running[1]["SCHEDULED_IMAGES_SANDBOX_URL"]
    assert cli.main(["clock", "--url", url, "--set", "0001-01-01T00:00Z"]) == 0
    assert '"clock": "0001-01-01T00:00:00Z"' in capsys.readouterr().out
    assert cli.main(["tick", "--url", url]) == 0
    assert '"clock": "0001-01-02T00:00:00Z"' in capsys.readouterr().out


def test_a_tick_past_the_year_9999_changes_nothing(
    running: tuple[subprocess.Popen[str], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = running[1]["SCHEDULED_IMAGES_SANDBOX_URL"]
    assert cli.main(["clock", "--url", url, "--set", "9999-12-31T12:00Z"]) == 0
    before = requests.get(f"{url}/sandbox").json()["counts"]
    capsys.readouterr()
    assert cli.main(["tick", "--url", url]) == 1
    assert capsys.readouterr().err == (
        'error: HTTP 400: {"badRequest": {"message": "Cannot tick: 1 day '
        'after 9999-12-31T12:00:00Z is past the year 9999.", "code": 400}}\n'
    )
    after = requests.get(f"{url}/sandbox").json()
    assert after["counts"] == before
    assert after["clock"] == "9999-12-31T12:00:00Z"


def test_a_clock_out_of_range_is_a_400(
    running: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    url = running[1]["SCHEDULED_IMAGES_SANDBOX_URL"]
    answer = requests.put(
        f"{url}/sandbox/clock", json={"clock": "9999-12-31T23:59:59-01:00"}
    )
    assert answer.status_code == 400
    assert answer.json()["badRequest"]["message"] == (
        "Not an ISO 8601 time from the year 1 to 9999 (in UTC): "
        "9999-12-31T23:59:59-01:00"
    )


def _closed_pipe() -> int:
    """A pipe's write end whose reader is gone, as after `| head -1`."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


def test_output_to_a_closed_pipe_is_no_traceback(
    running: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    url = running[1]["SCHEDULED_IMAGES_SANDBOX_URL"]
    write_end = _closed_pipe()
    try:
        done = _sandbox_command("tick", "--url", url, stdout=write_end)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")
    # The tick itself happened.
    clock = requests.get(f"{url}/sandbox/clock").json()["clock"]
    assert clock == "2025-01-05T03:17:00Z"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_to_a_closed_pipe_keeps_serving(tmp_path: Path) -> None:
    port = _free_port()
    write_end = _closed_pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", MODULE, "--port", str(port)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(),
        )
    finally:
        os.close(write_end)
    try:
        summary = None
        for _ in range(200):
            if process.poll() is not None:
                break
            try:
                summary = requests.get(
                    f"http://127.0.0.1:{port}/sandbox", timeout=5
                ).json()
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert summary is not None and summary["alias"] == (
            "os-si-image-schedule"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.stderr is not None
    assert process.stderr.read() == ""
    process.stderr.close()


def test_serve_takes_the_action_delay_and_exports_the_server_port() -> None:
    with launch(
        "--action-delay",
        "1.5",
        command=[sys.executable, "-m", MODULE],
        env=_environment(),
        stderr=subprocess.PIPE,
    ) as cloud:
        url = cloud.variables["SCHEDULED_IMAGES_SANDBOX_URL"]
        port = int(cloud.variables["SCHEDULED_IMAGES_SANDBOX_SERVER_PORT"])
        summary = requests.get(f"{url}/sandbox", timeout=10).json()
        assert (summary["action_delay"], summary["server_port"]) == (1.5, port)
        # The seeded myserver answers TCP there.
        socket.create_connection(("127.0.1.2", port), timeout=5).close()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--action-delay", "-1"),
        ("--action-delay", "soon"),
        ("--server-port", "70000"),
    ],
)
def test_bad_lifecycle_options_are_one_line_and_exit_2(
    option: str, value: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", MODULE, option, value],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and option in result.stderr

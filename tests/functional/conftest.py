"""Helpers for the functional suite: real installed commands, subprocesses.

Interpreters are found by name (python3.10 ... python3.13), never by a
path only one machine has; a missing one skips its tests with a message.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import (
    subprocess_environ,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIST = "rax_scheduled_images_python_novaclient_ext"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
# The openstack command most tests run, spelled once (the formatter
# stretches each spelled-out call to a dozen lines).
SCHEDULE_SET = ("server", "image", "schedule", "set")


def interpreter(minor: str) -> str | None:
    """``pythonX.Y`` if it exists AND runs (a pyenv shim may not)."""
    name = f"python{minor}"
    if shutil.which(name) is None:
        return None
    try:
        subprocess.run(
            [name, "-c", "import venv"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return name


def available_interpreters() -> list[str]:
    return [m for m in SUPPORTED if interpreter(m)]


@pytest.fixture(scope="session")
def wheel() -> Iterator[pathlib.Path]:
    """This project built as a wheel, as pip would install it.

    Under tox, the wheel tox built for this run (tox.ini points
    ``SCHEDULED_IMAGES_WHEEL_DIR`` at it): the very file installed in the
    test environments, not a second build of the same tree.
    """
    given = os.environ.get("SCHEDULED_IMAGES_WHEEL_DIR")
    version = importlib.metadata.version(DIST)
    if given:
        built = sorted(pathlib.Path(given).glob(f"{DIST}-{version}-*.whl"))
        if len(built) == 1:
            yield built[0]
            return
        warnings.warn(
            f"no single {DIST} {version} wheel in {given}: building one",
            stacklevel=1,
        )
    out = pathlib.Path(tempfile.mkdtemp(prefix="si-wheel-"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=600,
    )
    (built_here,) = out.glob(f"{DIST}-*.whl")
    yield built_here
    shutil.rmtree(out, ignore_errors=True)


def bin_dir() -> pathlib.Path:
    """Where the running interpreter's console scripts are installed."""
    return pathlib.Path(sys.executable).parent


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any OS_* cloud settings of the caller."""
    return subprocess_environ(extra)


class Command:
    """What a user sees from one command: exit code, stdout, stderr."""

    def __init__(
        self, argv: list[str], done: subprocess.CompletedProcess[str]
    ):
        self.argv = argv
        self.code = done.returncode
        self.out = done.stdout
        self.err = done.stderr

    @property
    def error_lines(self) -> list[str]:
        """stderr less python-novaclient's deprecation notice."""
        return [
            line
            for line in self.err.splitlines()
            if line.strip() and "nova CLI is deprecated" not in line
        ]

    def __repr__(self) -> str:
        return (
            f"<{' '.join(self.argv)}: exit {self.code}\n"
            f"stdout: {self.out}\nstderr: {self.err}>"
        )


def run_command(
    argv: list[str], env: dict[str, str], timeout: float = 120
) -> Command:
    """Run an installed console script of this environment."""
    done = subprocess.run(
        [str(bin_dir() / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    return Command(argv, done)


@pytest.fixture
def cache_dir(tmp_path: pathlib.Path) -> str:
    return str(tmp_path / "novaclient-cache")


@pytest.fixture(params=["os-si-image-schedule", "rax-si-image-schedule"])
def cloud(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh sandbox serving each alias in turn. Modules whose cloud
    needs more (module scope, seeded images, users) define their own."""
    with Sandbox(alias=request.param) as sandbox:
        yield sandbox


def schedule_of(
    cloud: Sandbox, server_id: str
) -> tuple[int, str | None] | None:
    """(retention, day_of_week) of the server's schedule in the sandbox."""
    with cloud.lock:
        found = cloud.state.servers[server_id].schedule
        return None if found is None else (found.retention, found.day_of_week)

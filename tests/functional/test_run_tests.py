"""The test command CI runs cannot pass having tested one Python.

``tools/run-tests`` (what ``.ci/run`` calls) must stop with one clear
line when python3.10 or python3.13 is missing, before it sets anything
up; ``--skip-missing`` is a developer's way to run what the machine has.
Each test runs a copy of the script with a PATH holding only the shell
tools it uses and fake interpreters (this interpreter under other
names), so the machine's own Pythons and pyenv are out of sight.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT

TOOLS = ("bash", "dirname", "awk", "grep", "sort", "tail")


def run_tests(
    tmp_path: pathlib.Path, minors: tuple[str, ...], *args: str
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    for minor in minors:
        (bin_dir / f"python{minor}").symlink_to(sys.executable)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYENV", "VIRTUAL_ENV"))
    }
    env["PATH"] = str(bin_dir)
    # A copy in a repository of its own: whatever the script goes on to
    # do (were the check gone), it does it there, not in .tox/ here.
    script = tmp_path / "repo" / "tools" / "run-tests"
    script.parent.mkdir(parents=True)
    shutil.copy2(ROOT / "tools" / "run-tests", script)
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("minors", "missing"),
    [
        (("3.10", "3.11", "3.12"), "python3.13"),
        (("3.11", "3.12", "3.13"), "python3.10"),
        (("3.12",), "python3.10 python3.13"),
    ],
)
def test_the_test_command_fails_without_the_lowest_or_highest_python(
    tmp_path, minors, missing
):
    done = run_tests(tmp_path, minors)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"run-tests: FAILED: not found: {missing}. The test command tests "
        "the lowest and highest supported Python (3.10 and 3.13); install "
        "them, or run 'tools/run-tests --skip-missing' to test only what "
        "this machine has.\n"
    )


def test_ci_runs_exactly_the_test_command():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [x for x in lines if x.strip() and not x.startswith("#")]
    assert commands[-1] == "exec tools/run-tests"
    readme = (ROOT / "README.rst").read_text()
    section = readme.split("Running the tests\n-----------------\n")[1]
    assert "\n    tools/run-tests\n" in section.split("\n\n\n")[0]


def test_skip_missing_takes_no_other_arguments(tmp_path):
    done = run_tests(tmp_path, ("3.12",), "--skip-missing", "-e", "py312")
    assert done.returncode == 2
    assert done.stderr == (
        "run-tests: --skip-missing takes no other arguments\n"
    )

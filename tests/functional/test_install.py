"""A fresh, non-editable install next to python-novaclient, as users do.

Runs on the lowest and the highest supported Python found on the machine:
``nova help`` works (on 3.12+ the original 0.3.1 broke every command),
the three commands are listed, and the extension is found exactly once.
"""

from __future__ import annotations

import pathlib
import subprocess
import tempfile
import zipfile

import pytest

from .conftest import (
    DIST,
    ROOT,
    available_interpreters,
    clean_env,
    interpreter,
)

FOUND = available_interpreters()
ENDS = sorted({FOUND[0], FOUND[-1]}) if FOUND else []
COMMANDS = (
    "scheduled-images-enable",
    "scheduled-images-disable",
    "scheduled-images-show",
)


def test_top_level_directory_has_no_init_py():
    # novaclient's sys.path scan would load a regular package twice.
    assert not (
        ROOT / "rax_scheduled_images_python_novaclient_ext" / "__init__.py"
    ).exists()


def test_the_wheel_ships_py_typed_and_nothing_but_the_package(wheel):
    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
    assert f"{DIST}/py.typed" in names
    assert {name.split("/")[0] for name in names} == {
        DIST,
        f"{DIST}-{wheel.name.split('-')[1]}.dist-info",
    }


@pytest.fixture(scope="module", params=ENDS or ["none"])
def venv(request, wheel):
    minor = request.param
    python = interpreter(minor) if minor != "none" else None
    if python is None:
        pytest.skip(f"no Python {minor} interpreter found on this machine")
    where = pathlib.Path(tempfile.mkdtemp(prefix=f"si-venv-{minor}-"))
    subprocess.run([python, "-m", "venv", str(where)], check=True, timeout=300)
    subprocess.run(
        [
            str(where / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            str(wheel),
            "python-novaclient",
        ],
        check=True,
        timeout=900,
    )
    return where


def run(venv, *argv):
    return subprocess.run(
        [str(venv / "bin" / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=str(venv),
    )


def test_nova_help_lists_the_commands_once(venv):
    result = run(venv, "nova", "help")
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr
    for command in COMMANDS:
        assert result.stdout.count(f"    {command} ") == 1


def test_nova_help_of_enable_explains_days_and_retention(venv):
    result = run(venv, "nova", "help", "scheduled-images-enable")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "[--day-of-week <day>] [--dry-run] <server> <retention>" in text
    assert (
        "sunday, monday, tuesday, wednesday, thursday, friday, "
        "saturday" in text
    )


def test_extension_is_discovered_exactly_once(venv):
    code = (
        "from novaclient import client\n"
        "names = [e.name for e in client.discover_extensions('2.0')]\n"
        "ours = [n for n in names if 'scheduled_images' in n]\n"
        "print(ours)\n"
    )
    result = run(venv, "python", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "['rax_scheduled_images_python_novaclient_ext']"
    )

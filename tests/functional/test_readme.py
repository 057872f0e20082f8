"""Every Python example in README.rst runs, as written, against the sandbox.

The Python examples are the blocks marked ``.. code-block:: python``;
plain ``::`` blocks are shell commands and output. They run in README
order, in one Python process and one namespace, as a reader pasting them
one after another into one session would. The test supplies only what a
reader supplies:

* the sandbox's identity URL and password, by replacing exactly the
  placeholders in :data:`PLACEHOLDERS` (each must still be in the README,
  so that renaming one is noticed here rather than sending a request to
  keystone.example.com);
* ``server_id``, bound to the guide's ``myserver`` before the first block;
* a PATH that finds this environment's ``nova``, as a reader's shell does
  once the package is installed.

The sandbox is a fresh one: nothing is prepared that a reader's would
not have.

A plain ``::`` block that reads as Python (it parses, and imports, calls
or assigns something) fails the test: it would otherwise be skipped.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import (
    MYSERVER_ID,
    Sandbox,
    subprocess_environ,
)

from .conftest import ROOT, bin_dir

pytestmark = pytest.mark.functional

README = ROOT / "README.rst"

# A directive that marks a Python block; any other literal block is not.
PYTHON_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\. (?:code-block|code|sourcecode):: python\s*$"
)
OTHER_DIRECTIVE = re.compile(r"^\s*\.\. [\w-]+::")

# The README's placeholder -> what the sandbox needs instead (AUTH_URL is
# filled in per sandbox).
AUTH_URL_PLACEHOLDER = '"https://keystone.example.com/v3"'
PASSWORD_PLACEHOLDER = 'password="..."'

# Run by a fresh interpreter: each block is compiled as README.rst at its
# own line, so a traceback names the README line that failed.
RUNNER = """
import json, sys
blocks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {"__name__": "__main__", "server_id": sys.argv[2]}
for line, source in blocks:
    print(f"# README.rst line {line}", flush=True)
    code = compile("\\n" * (line - 1) + source, "README.rst", "exec")
    exec(code, namespace)
print(f"# ran {len(blocks)} blocks", flush=True)
"""


class Block:
    """A literal block of the README: where it starts, its text, its kind."""

    def __init__(self, line: int, source: str, python: bool) -> None:
        self.line = line
        self.source = source
        self.python = python

    def __repr__(self) -> str:
        return f"<README.rst line {self.line}: {self.source[:40]!r}>"


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _body(lines: list[str], start: int, indent: int) -> tuple[int, str]:
    """The block's text (dedented) from ``start``, and its first line.

    The body is the run of lines indented deeper than ``indent``, blank
    lines included, after the directive's options and one blank line.
    """
    index = start
    while index < len(lines) and lines[index].strip().startswith(":"):
        index += 1  # directive options such as :linenos:
    body: list[str] = []
    first = None
    while index < len(lines):
        text = lines[index]
        if text.strip() and _indent(text) <= indent:
            break
        if text.strip() and first is None:
            first = index
        if first is not None:
            body.append(text)
        index += 1
    source = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
    return (first if first is not None else start) + 1, source


def literal_blocks(text: str) -> list[Block]:
    """Every literal block of an rST text, in order, Python ones marked."""
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        python = PYTHON_DIRECTIVE.match(line)
        if python:
            first, source = _body(lines, number + 1, len(python["indent"]))
            blocks.append(Block(first, source, True))
        elif line.rstrip().endswith("::") and not OTHER_DIRECTIVE.match(line):
            first, source = _body(lines, number + 1, _indent(line))
            blocks.append(Block(first, source, False))
    return blocks


def reads_as_python(source: str) -> bool:
    """True for text that parses AND does something (imports, calls,
    assigns, loops): a path like ``tools/demo`` parses too, as a division,
    and is not Python."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    doing = (ast.Import, ast.ImportFrom, ast.Call, ast.Assign, ast.For)
    return any(isinstance(node, doing) for node in ast.walk(tree))


def python_blocks() -> list[Block]:
    return [b for b in literal_blocks(README.read_text("utf-8")) if b.python]


def test_the_block_finder_knows_python_from_shell() -> None:
    text = textwrap.dedent(
        """\
        Shell::

            $ nova scheduled-images-show myserver
            tools/demo

        .. code-block:: python

            import os

            print(os.sep)

        Indented
            .. code-block:: python
                :linenos:

                x = 1
        done
        """
    )
    blocks = literal_blocks(text)
    assert [(b.line, b.python) for b in blocks] == [
        (3, False),
        (8, True),
        (16, True),
    ]
    assert blocks[1].source == "import os\n\nprint(os.sep)\n"
    assert blocks[2].source == "x = 1\n"
    assert not reads_as_python(blocks[0].source)
    assert not reads_as_python("tools/demo\nbench/run  # 2 minutes\n")
    assert reads_as_python("schedules.disable(server_id)\n")


def test_every_python_looking_block_is_marked_python() -> None:
    unmarked = [
        block
        for block in literal_blocks(README.read_text("utf-8"))
        if not block.python and reads_as_python(block.source)
    ]
    assert unmarked == [], (
        "mark these README blocks '.. code-block:: python' so that "
        "test_readme runs them"
    )


def test_the_readme_has_python_blocks_and_its_placeholders() -> None:
    blocks = python_blocks()
    # The Python API section alone has six; a finder that found none
    # would make the run below prove nothing.
    assert len(blocks) >= 6
    everything = "".join(block.source for block in blocks)
    assert AUTH_URL_PLACEHOLDER in everything
    assert PASSWORD_PLACEHOLDER in everything


def fill_in(source: str, cloud: Sandbox) -> str:
    """The block with the README's placeholders replaced for ``cloud``."""
    return source.replace(
        AUTH_URL_PLACEHOLDER, json.dumps(cloud.auth_url("v3"))
    ).replace(PASSWORD_PLACEHOLDER, 'password="secret"')


@pytest.fixture(params=["os-si-image-schedule", "rax-si-image-schedule"])
def cloud(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    # A fresh sandbox, nothing added: the README says "run as written"
    # (1.1.0's test added the image its keep example names, which a
    # reader's fresh sandbox does not have).
    with Sandbox(alias=request.param) as sandbox:
        yield sandbox


def test_the_python_examples_run_in_order(
    cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    blocks = python_blocks()
    script = tmp_path / "blocks.json"
    script.write_text(
        json.dumps([[b.line, fill_in(b.source, cloud)] for b in blocks])
    )
    env = subprocess_environ({})  # no OS_* settings: the README has them
    env["PATH"] = os.pathsep.join([str(bin_dir()), env.get("PATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(script), MYSERVER_ID],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=str(tmp_path),
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == f"# ran {len(blocks)} blocks"
    # What the blocks printed is what their comments say.
    assert "\n7\nNone\n" in done.stdout
    assert "\nTrue\nTrue\n" in done.stdout
    # And the cloud saw the calls: enabled twice, read, disabled at the end.
    schedule_calls = [
        (r["method"], r["status"])
        for r in cloud.requests
        if r["path"].endswith(f"/servers/{MYSERVER_ID}/{cloud.alias}")
    ]
    assert ("POST", 200) in schedule_calls
    assert schedule_calls[-1] == ("DELETE", 202)
    assert cloud.state.servers[MYSERVER_ID].schedule is None

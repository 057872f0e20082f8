# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Start a sandbox in its own process and wait until it serves.

`scheduled-images-sandbox` (``serve``) prints its URL and the ``OS_*``
variables as ``export NAME=value`` lines, then ``# ready`` once it is
listening. The demo, the benchmark and the tests start it this way, as a
user does; this is the one place that reads that banner.

    with launch("--servers", "0") as cloud:
        cloud.url, cloud.variables["OS_AUTH_URL"]

Standard library only, like the rest of the sandbox.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from types import TracebackType

from .cli import URL_VARIABLE

READY = "# ready"  # the last line of cli.banner()


class LaunchError(RuntimeError):
    """The sandbox exited, or stayed silent, before printing ``# ready``."""


def console_script() -> list[str]:
    """The installed `scheduled-images-sandbox` next to this interpreter."""
    return [
        str(pathlib.Path(sys.executable).parent / "scheduled-images-sandbox")
    ]


class Launched:
    """A running sandbox process and what its banner said."""

    def __init__(
        self, process: subprocess.Popen[str], banner: list[str]
    ) -> None:
        self.process = process
        self.banner = banner  # every line up to and including `# ready`
        self.variables: dict[str, str] = {}
        for line in banner:
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                self.variables[name] = value
        self.url = self.variables[URL_VARIABLE]

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
        return _stop(self.process, timeout)

    def __enter__(self) -> Launched:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def _stop(process: subprocess.Popen[str], timeout: float) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    code = process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return code


def launch(
    *args: str,
    command: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    stderr: int | None = None,
    echo: Callable[[str], None] | None = None,
    timeout: float = 120,
) -> Launched:
    """Run ``command --port 0 *args`` and return once it prints ``# ready``.

    `command` is the sandbox's command line, the installed console script
    by default; `echo` sees each banner line as it arrives. Raises
    `LaunchError` (the process stopped) if the sandbox exits, or is not
    ready within `timeout` seconds.
    """
    process = subprocess.Popen(
        [*(command or console_script()), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert process.stdout is not None
    banner: list[str] = []
    # Reading blocks until a line comes: a sandbox that hangs is killed,
    # which ends the read.
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if echo is not None:
                echo(banner[-1])
            if line.strip() == READY:
                break
    finally:
        watchdog.cancel()
    if not banner or banner[-1].strip() != READY:
        _stop(process, timeout=0)
        last = banner[-1] if banner else "nothing"
        raise LaunchError(f"the sandbox did not start (it printed: {last})")
    return Launched(process, banner)

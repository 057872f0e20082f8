"""The README's demo walk-through stays true.

``tools/demo`` makes its own virtualenv and then runs ``tools/demo.py``
with it; here the script runs with this environment's installed ``nova``,
``openstack`` and ``scheduled-images-sandbox``, as a subprocess.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT, bin_dir, clean_env

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(
        not (bin_dir() / "openstack").exists(),
        reason="python-openstackclient is not installed",
    ),
]


def test_the_demo_walks_the_guide_and_exits_zero(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
        cwd=str(tmp_path),
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Demo finished: every step did what the guide says." in done.stdout
    assert (
        "ERROR (NotFound): Scheduled images not enabled for server "
        "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6 (HTTP 404)" in done.stdout
    )

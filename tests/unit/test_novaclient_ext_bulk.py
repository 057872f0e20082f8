"""``nova scheduled-images-image-keep/-release`` on several images: under
Ctrl-C, and on a terminal that cannot show a name. The real shell
in-process, the cloud mocked.

Ctrl-C is a real SIGINT raised when the command prints its k-th line;
the terminal is a strict ASCII stream, as with ``PYTHONIOENCODING=ascii``.
"""

from __future__ import annotations

import pytest

from .conftest import (
    COMPUTE,
    IMAGE,
    SERVER_ID,
    ascii_stream,
    glance_image,
)
from .osc.test_bulk_commands import CtrlCAfter

IMG_A = "aaaaaaaa-0000-4000-8000-00000000000a"
IMG_B = "aaaaaaaa-0000-4000-8000-00000000000b"
IMG_C = "aaaaaaaa-0000-4000-8000-00000000000c"
NAMES = {IMG_A: "A", IMG_B: "☕", IMG_C: "C"}


@pytest.fixture
def three_images(mock):
    """A, ☕ and C: kept images of a server with retention 7."""
    found = [
        glance_image(id_, day, marked=False, name=NAMES[id_])
        for day, id_ in enumerate(NAMES, start=1)
    ]
    for one in found:
        mock.get(f"{IMAGE}/v2/images/{one['id']}", json=one)
        mock.patch(f"{IMAGE}/v2/images/{one['id']}", json=one)
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule",
        json={"image_schedule": {"retention": 7}},
    )
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}", json={"images": found}
    )


def patched(mock):
    return [r.path for r in mock.request_history if r.method == "PATCH"]


def test_release_reports_every_image_on_an_ascii_terminal(
    nova, mock, three_images
):
    result = nova(
        "scheduled-images-image-release", IMG_A, IMG_B, IMG_C,
        stdout=ascii_stream(), stderr=ascii_stream(),
    )  # fmt: skip
    assert (result.code, result.error_lines) == (0, [])
    assert patched(mock) == [f"/v2/images/{i}" for i in (IMG_A, IMG_B, IMG_C)]
    assert result.out.splitlines()[-3:] == [
        f"Released image {IMG_A} (A): the service counts it again.",
        f"Released image {IMG_B} (\\u2615): the service counts it again.",
        f"Released image {IMG_C} (C): the service counts it again.",
    ]


def test_image_list_table_on_an_ascii_terminal(nova, mock, three_images):
    result = nova(
        "scheduled-images-image-list", SERVER_ID,
        stdout=ascii_stream(), stderr=ascii_stream(),
    )  # fmt: skip
    assert (result.code, result.error_lines) == (0, [])
    assert f"| {IMG_B} | \\u2615 " in result.out
    # The columns line up: sized by the text as printed.
    assert len({len(line) for line in result.out.splitlines()}) == 1


@pytest.mark.parametrize(
    ("command", "verb", "lines"),
    [
        ("scheduled-images-image-keep", "Kept", 1),
        # Release prints its one-line forecast first.
        ("scheduled-images-image-release", "Released", 2),
    ],
)
def test_ctrl_c_stops_reports_and_exits_130(
    nova, mock, three_images, command, verb, lines
):
    mock.get(
        f"{IMAGE}/v2/images/{IMG_A}",
        json=glance_image(IMG_A, 1, name="A", marked=verb == "Kept"),
    )
    stdout = CtrlCAfter(lines)
    result = nova(command, IMG_A, IMG_B, IMG_C, stdout=stdout)
    assert result.code == 130
    assert patched(mock) == [f"/v2/images/{IMG_A}"]
    assert result.out.splitlines()[-1].startswith(
        f"{verb} image {IMG_A} (A): "
    )
    # The line says what was done, not novaclient's "terminating".
    assert result.error_lines == [
        f"Interrupted: 1 of 3 done; not started: {IMG_B} (☕), {IMG_C} (C)"
    ]


def test_several_images_one_refused_the_others_done(nova, mock, three_images):
    mock.patch(
        f"{IMAGE}/v2/images/{IMG_B}",
        status_code=403,
        json={"message": "You are not permitted to modify this image."},
    )
    result = nova("scheduled-images-image-release", IMG_A, IMG_B, IMG_C)
    assert result.code == 1
    assert patched(mock) == [f"/v2/images/{i}" for i in (IMG_A, IMG_B, IMG_C)]
    assert result.error_lines == [
        f"{IMG_B} (☕): You are not permitted to modify this image. "
        "(HTTP 403)",
        "ERROR (CommandError): 1 of 3 images failed.",
    ]

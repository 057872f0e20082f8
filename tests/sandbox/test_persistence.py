"""--state-file: saved after each change, loaded on start, kept safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import DB, MYSERVER, Client


def test_changes_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with Sandbox(state_file=path) as cloud:
        client = Client(cloud, "demo")
        client.post(
            client.schedule_url(MYSERVER),
            json={"image_schedule": {"retention": 4, "day_of_week": "MONDAY"}},
        )
        doomed = client.images(instance_uuid=DB)[0]["id"]
        client.delete(f"{client.image}/v2/images/{doomed}")
        requests.post(f"{cloud.url}/sandbox/tick", json={"days": 2})
        token = client.token
    with Sandbox(state_file=path) as cloud:
        again = Client(cloud, "demo")
        assert again.get(again.schedule_url(MYSERVER)).json() == {
            "image_schedule": {"day_of_week": "MONDAY", "retention": 4}
        }
        assert doomed not in {i["id"] for i in again.images()}
        clock = requests.get(f"{cloud.url}/sandbox/clock").json()
        assert clock == {"clock": "2025-01-06T03:17:00Z"}
        # A token issued before the restart still works.
        old = requests.get(
            f"{again.compute}/servers", headers={"X-Auth-Token": token}
        )
        assert old.status_code == 200


def test_missing_file_is_created_from_the_seed(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    with Sandbox(state_file=path):
        pass
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert {s["name"] for s in data["servers"]} >= {"myserver", "web", "db"}


def test_corrupt_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "clock": ')
    cloud = Sandbox(state_file=path)
    assert cloud.load_warning is not None
    assert (tmp_path / "state.json.corrupt").read_text().startswith("{")
    assert MYSERVER in cloud.state.servers
    assert json.loads(path.read_text())["version"] == 1


def test_wrong_shape_is_treated_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 1}')
    cloud = Sandbox(state_file=path)
    assert cloud.load_warning is not None
    assert "incomplete" in cloud.load_warning


def test_saving_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with Sandbox(state_file=path) as cloud:
        client = Client(cloud, "demo")
        for retention in (1, 2, 3):
            client.post(
                client.schedule_url(MYSERVER),
                json={"image_schedule": {"retention": retention}},
            )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_reset_goes_back_to_the_seed(cloud: Sandbox) -> None:
    client = Client(cloud, "demo")
    client.post(
        client.schedule_url(MYSERVER),
        json={"image_schedule": {"retention": 1}},
    )
    assert requests.post(f"{cloud.url}/sandbox/reset").status_code == 204
    # Tokens go with the state: log in again.
    client = Client(cloud, "demo")
    assert client.get(client.schedule_url(MYSERVER)).status_code == 404


def test_a_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="is not a regular file"):
        Sandbox(state_file=folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    assert (folder / "notes.txt").read_text() == "keep me"


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        Sandbox(state_file=tmp_path / "nowhere" / "state.json")
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_file_never_replaces_an_earlier_one(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    (tmp_path / "state.json.corrupt").write_text("set aside before")
    path.write_text("not json")
    cloud = Sandbox(state_file=path)
    assert cloud.load_warning is not None
    assert "state.json.corrupt.1" in cloud.load_warning
    assert (tmp_path / "state.json.corrupt").read_text() == "set aside before"
    assert (tmp_path / "state.json.corrupt.1").read_text() == "not json"


def test_a_symlinked_state_file_stays_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    link = tmp_path / "state.json"
    link.symlink_to(target)
    with Sandbox(state_file=link) as cloud:
        requests.post(f"{cloud.url}/sandbox/tick", json={"days": 1})
    assert link.is_symlink()
    assert json.loads(target.read_text())["clock"] == "2025-01-05T03:17:00Z"

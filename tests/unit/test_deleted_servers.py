"""Finding and purging images of deleted servers, against a mocked cloud.

A real Keystone v3 catalog (one region, or two), a mocked Nova and a
mocked Image API: the tests check the requests sent (how many, which)
and what a purge reports, for every safety rule.
"""

from __future__ import annotations

import datetime
import io
import signal
from urllib import parse

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from novaclient import client as nova_client

from rax_scheduled_images_python_novaclient_ext import bulk, orphans
from rax_scheduled_images_python_novaclient_ext import deleted_servers as ds
from rax_scheduled_images_python_novaclient_ext import images as i

from .conftest import AUTH_URL, COMPUTE, IMAGE, PASSWORD, TOKEN
from .orphan_cloud import GONE, LIVE, orphan

E = orphans.Existence
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
HIDDEN = "cccccccc-0000-4000-8000-000000000003"  # exists, not listed
ODD = "dddddddd-0000-4000-8000-000000000004"
COMPUTE2 = "http://compute2.test/v2/p1"
IMAGE2 = "http://image2.test"
VERSION_DOC = {
    "version": {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "links": [],
    }
}


def image(id_, day, server=GONE, *, marked=True, owner="p1", size=1024):
    return orphan(id_, day, server, size, marked, owner, name=f"Daily-x-{day}")


def cloud(mock, regions=("RegionOne",), image_regions=None, region=None):
    """A nova client on a v3 catalog; compute and image endpoints listed
    in the order of ``regions`` (``image_regions`` for the image)."""
    mock.get(AUTH_URL, json=ks_fixture.V3Discovery(AUTH_URL))
    token = ks_fixture.V3Token(project_id="p1", project_name="demo")
    urls = {"RegionOne": (COMPUTE, IMAGE), "RegionTwo": (COMPUTE2, IMAGE2)}
    compute = token.add_service("compute")
    for name in regions:
        compute.add_endpoint("public", urls[name][0], region=name)
    glance = token.add_service("image")
    for name in image_regions or regions:
        glance.add_endpoint("public", urls[name][1], region=name)
    mock.post(
        AUTH_URL + "/auth/tokens",
        json=token,
        headers={"X-Subject-Token": TOKEN},
        status_code=201,
    )
    mock.get(COMPUTE, json=VERSION_DOC)
    mock.get(COMPUTE2, json=VERSION_DOC)
    auth = v3.Password(
        auth_url=AUTH_URL,
        username="demo",
        password=PASSWORD,
        project_name="demo",
        user_domain_id="default",
        project_domain_id="default",
    )
    cs = nova_client.Client(
        "2.0", session=ks_session.Session(auth=auth), region_name=region
    )
    return cs, i.ImageManager(cs)


def serve(mock, found, listed=(LIVE,), answers=None):
    """The Image API lists ``found``; Nova lists ``listed`` and answers
    GET /servers/{id} per ``answers`` (a list of dicts for each call)."""
    mock.get(f"{IMAGE}/v2/images", json={"images": found})
    mock.get(
        f"{COMPUTE}/servers",
        json={"servers": [{"id": sid, "links": []} for sid in listed]},
    )
    for sid, responses in (answers or {}).items():
        mock.get(f"{COMPUTE}/servers/{sid}", responses)


def not_found():
    return {"status_code": 404, "json": {"itemNotFound": {"code": 404}}}


def found(sid):
    return {"status_code": 200, "json": {"server": {"id": sid}}}


def sent(mock):
    out = []
    for req in mock.request_history:
        url = parse.urlsplit(req.url)
        if url.netloc.startswith(("compute", "image")) and url.path not in (
            "/v2/p1",
        ):
            query = f"?{url.query}" if url.query else ""
            out.append((req.method, url.netloc, url.path + query))
    return out


@pytest.fixture
def one_region(mock):
    return cloud(mock)


# --- the scan ---------------------------------------------------------------


def test_scan_checks_only_unlisted_servers_and_a_404_twice(mock, one_region):
    cs, images = one_region
    serve(
        mock,
        [image("g1", 1), image("l1", 2, LIVE), image("h1", 3, HIDDEN)],
        answers={GONE: [not_found()], HIDDEN: [found(HIDDEN)]},
    )
    scan = ds.scan(cs, images, concurrency=4)
    assert scan.existence == {GONE: E.GONE, LIVE: E.EXISTS, HIDDEN: E.EXISTS}
    assert scan.checks == 3
    calls = sent(mock)
    assert calls[:2] == [
        (
            "GET",
            "image.test",
            "/v2/images?owner=p1&limit=1000&"
            "org.openstack__1__created_by=scheduled_images_service",
        ),
        ("GET", "compute.test", "/v2/p1/servers?limit=1000"),
    ]
    assert sorted(calls[2:]) == [
        ("GET", "compute.test", f"/v2/p1/servers/{GONE}"),
        ("GET", "compute.test", f"/v2/p1/servers/{GONE}"),
        ("GET", "compute.test", f"/v2/p1/servers/{HIDDEN}"),
    ]


def test_scan_follows_server_list_pages(mock, one_region):
    cs, images = one_region
    mock.get(f"{IMAGE}/v2/images", json={"images": [image("g1", 1)]})
    mock.get(
        f"{COMPUTE}/servers?limit=1000",
        complete_qs=True,
        json={
            "servers": [{"id": LIVE}],
            "servers_links": [
                {"rel": "next", "href": f"{COMPUTE}/servers?marker={LIVE}"}
            ],
        },
    )
    mock.get(
        f"{COMPUTE}/servers?marker={LIVE}",
        complete_qs=True,
        json={"servers": [{"id": GONE}]},
    )
    scan = ds.scan(cs, images)
    assert scan.existence == {GONE: E.EXISTS}
    assert scan.checks == 0


def test_a_404_then_a_200_means_the_server_exists(mock, one_region):
    cs, images = one_region
    serve(mock, [image("g1", 1)], answers={GONE: [not_found(), found(GONE)]})
    assert ds.scan(cs, images).existence == {GONE: E.EXISTS}


@pytest.mark.parametrize(
    "answers, reason",
    [
        ([{"status_code": 401, "json": {}}] * 2, "HTTP 401"),
        ([{"status_code": 403, "json": {}}], "HTTP 403"),
        ([{"status_code": 500, "json": {}}], "HTTP 500"),
        ([{"status_code": 503, "json": {}}] * 4, "HTTP 503"),
        ([{"exc": ks_exceptions.ConnectTimeout("timed out")}], "timed out"),
        ([{"status_code": 200, "json": {"servers": []}}], "malformed answer"),
        ([{"status_code": 200, "text": "<html>"}], "malformed answer"),
        ([not_found(), {"status_code": 503, "json": {}}], "HTTP 503"),
    ],
)
def test_any_unclear_answer_skips_the_server_and_its_images(
    mock, one_region, answers, reason
):
    cs, images = one_region
    serve(mock, [image("g1", 1), image("g2", 2)], answers={GONE: answers})
    mock.delete(f"{IMAGE}/v2/images/g1", status_code=204)
    err = io.StringIO()
    ds.purge(
        cs,
        images,
        keep=0,
        older_than_days=None,
        include_kept=False,
        yes=True,
        now=NOW,
        out=io.StringIO(),
        err=err,
    )
    assert err.getvalue().splitlines() == [
        f"Skipped server {GONE}: could not tell whether it exists "
        f"({reason}); its 2 images left alone."
    ]
    assert not [c for c in sent(mock) if c[0] == "DELETE"]
    rows, skipped = ds.orphan_list(cs, images)
    assert rows == [] and len(skipped) == 1


def test_another_projects_image_is_never_listed_checked_or_deleted(
    mock, one_region
):
    # A cloud that ignores the owner filter lists a public image of a
    # server this project cannot see (Nova answers 404 for it).
    cs, images = one_region
    serve(
        mock,
        [image("theirs", 1, HIDDEN, owner="p2"), image("g1", 1)],
        answers={HIDDEN: [not_found()] * 2, GONE: [not_found()] * 2},
    )
    mock.delete(f"{IMAGE}/v2/images/g1", status_code=204)
    out = io.StringIO()
    failed, planned = ds.purge(
        cs,
        images,
        keep=0,
        older_than_days=None,
        include_kept=True,
        yes=True,
        now=NOW,
        out=out,
        err=io.StringIO(),
    )
    assert (failed, planned) == (0, 1)
    assert "theirs" not in out.getvalue()
    paths = [c[2] for c in sent(mock)]
    assert f"/v2/p1/servers/{HIDDEN}" not in paths
    assert [c for c in sent(mock) if c[0] == "DELETE"] == [
        ("DELETE", "image.test", "/v2/images/g1")
    ]


def test_the_domain_checks_the_owner_even_if_the_manager_did_not(
    mock, one_region, monkeypatch
):
    cs, images = one_region
    monkeypatch.setattr(
        images,
        "project_image_pages",
        lambda **kw: iter([[image("theirs", 1, HIDDEN, owner="p2")]]),
    )
    serve(mock, [], answers={HIDDEN: [not_found()] * 2})
    assert ds.orphan_list(cs, images) == ([], [])
    assert not [c for c in sent(mock) if HIDDEN in c[2]]


def test_unmarked_images_only_with_include_kept(mock, one_region):
    cs, images = one_region
    serve(
        mock,
        [image("g1", 1), image("k1", 2, marked=False)],
        answers={GONE: [not_found()] * 4},
    )
    rows, _ = ds.orphan_list(cs, images)
    assert [r.id for r in rows] == ["g1"]
    rows, _ = ds.orphan_list(cs, images, include_kept=True)
    assert [(r.id, r.counted) for r in rows] == [("g1", "yes"), ("k1", "no")]
    assert sent(mock)[-4][2] == "/v2/images?owner=p1&limit=1000"


def test_nothing_to_check_sends_no_compute_request(mock, one_region):
    cs, images = one_region
    serve(mock, [])
    assert ds.orphan_list(cs, images) == ([], [])
    assert [c[1] for c in sent(mock)] == ["image.test"]


# --- regions ---------------------------------------------------------------


def test_different_regions_are_refused_before_any_listing(mock):
    cs, images = cloud(
        mock,
        regions=("RegionTwo", "RegionOne"),
        image_regions=("RegionOne", "RegionTwo"),
    )
    with pytest.raises(ds.OrphanError) as caught:
        ds.orphan_list(cs, images)
    assert str(caught.value) == (
        "The compute endpoint is in region RegionTwo and the image "
        "endpoint in region RegionOne: every server would look deleted. "
        "Choose one region (--os-region-name or OS_REGION_NAME) and run "
        "again."
    )
    assert sent(mock) == []


def test_a_chosen_region_picks_both_endpoints_there(mock):
    cs, images = cloud(
        mock,
        regions=("RegionTwo", "RegionOne"),
        image_regions=("RegionOne", "RegionTwo"),
        region="RegionOne",
    )
    serve(mock, [])
    assert ds.orphan_list(cs, images) == ([], [])


def test_an_image_endpoint_given_by_hand_has_no_region(mock):
    cs, _ = cloud(mock, regions=("RegionTwo",), image_regions=("RegionOne",))
    images = i.ImageManager(cs, endpoint_override=IMAGE)
    serve(mock, [])
    assert images.endpoint_region() is None
    assert ds.orphan_list(cs, images) == ([], [])


# --- the purge ------------------------------------------------------------


def purge(cs, images, **kw):
    out, err = io.StringIO(), io.StringIO()
    kw.setdefault("keep", 1)
    kw.setdefault("older_than_days", None)
    kw.setdefault("include_kept", False)
    kw.setdefault("yes", False)
    result = ds.purge(cs, images, now=NOW, out=out, err=err, **kw)
    return result, out.getvalue(), err.getvalue()


def test_dry_run_shows_what_it_would_delete_and_deletes_nothing(
    mock, one_region
):
    cs, images = one_region
    serve(
        mock,
        [image("g1", 1), image("g2", 2, size=2048), image("g3", 3)],
        answers={GONE: [not_found()] * 2},
    )
    result, out, err = purge(cs, images)
    assert result == (0, 2)
    assert out.splitlines() == [
        "Would delete: 2 images, 3072 bytes (3.0 KiB)",
        f"  g1  Daily-x-1  server {GONE}  2026-11-01T03:00:00Z  "
        "1024 bytes (1.0 KiB)",
        f"  g2  Daily-x-2  server {GONE}  2026-11-02T03:00:00Z  "
        "2048 bytes (2.0 KiB)",
    ]
    assert err.splitlines() == [
        f"Keeping image g3 of server {GONE}: the newest active image of "
        "its server.",
        "Dry run: nothing deleted. Add --yes to delete.",
    ]
    assert all(c[0] == "GET" for c in sent(mock))


def test_yes_deletes_each_and_one_failure_does_not_stop_the_others(
    mock, one_region
):
    cs, images = one_region
    serve(
        mock,
        [image(f"g{n}", n) for n in (1, 2, 3, 4)],
        answers={GONE: [not_found()] * 2},
    )
    mock.delete(f"{IMAGE}/v2/images/g1", status_code=204)
    mock.delete(
        f"{IMAGE}/v2/images/g2",
        status_code=403,
        json={"message": "Image g2 is protected"},
    )
    mock.delete(f"{IMAGE}/v2/images/g3", status_code=204)
    result, out, err = purge(cs, images, yes=True, concurrency=1)
    assert result == (1, 3)
    assert out.splitlines()[-2:] == [
        "Deleted image g1 (Daily-x-1).",
        "Deleted image g3 (Daily-x-3).",
    ]
    assert err.splitlines()[-1] == (
        "Could not delete image g2 (Daily-x-2): Image g2 is protected "
        "(HTTP 403)"
    )
    deletes = [c[2] for c in sent(mock) if c[0] == "DELETE"]
    assert deletes == ["/v2/images/g1", "/v2/images/g2", "/v2/images/g3"]


def test_a_delete_whose_answer_was_lost_is_done(mock, one_region):
    cs, images = one_region
    mock.delete(
        f"{IMAGE}/v2/images/g1",
        [{"exc": ks_exceptions.ConnectFailure("reset")}, not_found()],
    )
    images.delete({"id": "g1"})
    mock.delete(f"{IMAGE}/v2/images/g2", **not_found())
    with pytest.raises(Exception, match="HTTP 404|404"):
        images.delete({"id": "g2"})


def test_keep_and_older_than_spare_images(mock, one_region):
    cs, images = one_region
    serve(
        mock,
        [image("g1", 1), image("g2", 25), image("g3", 28)],
        answers={GONE: [not_found()] * 2},
    )
    (_, planned), out, _ = purge(cs, images, keep=0, older_than_days=10)
    assert planned == 1 and "g1" in out and "g2" not in out


# --- Ctrl-C ----------------------------------------------------------------


def test_ctrl_c_reports_what_was_done_and_what_never_started():
    deleted = []

    class Images:
        def delete(self, image):
            deleted.append(image["id"])

    class CtrlCAfterFirst(io.StringIO):
        """stdout that gets a real SIGINT once a deletion is reported."""

        def write(self, text):
            written = super().write(text)
            if text.startswith("Deleted image a "):
                signal.raise_signal(signal.SIGINT)
            return written

    out, err = CtrlCAfterFirst(), io.StringIO()
    doomed = [{"id": x, "name": f"img-{x}"} for x in "abcd"]
    with pytest.raises(bulk.Interrupted):
        ds._delete_all(Images(), doomed, 1, out, err)
    # Nothing is started after Ctrl-C; what was done is reported.
    assert deleted == ["a"]
    assert out.getvalue() == "Deleted image a (img-a).\n"
    assert err.getvalue() == "Interrupted: 1 of 4 done; not started: b, c, d\n"

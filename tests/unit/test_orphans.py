"""The pure decisions about images of deleted servers (``orphans``).

Each safety rule of a purge is a property of ``plan_purge``; the
hypothesis tests check it over arbitrary images, answers and settings.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import orphans
from rax_scheduled_images_python_novaclient_ext import schedule as domain

E = orphans.Existence
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
PROJECT = "p1"
GONE_SRV = "aaaaaaaa-0000-4000-8000-000000000001"
LIVE_SRV = "bbbbbbbb-0000-4000-8000-000000000002"
ODD_SRV = "cccccccc-0000-4000-8000-000000000003"


def img(
    id_: str,
    day: int,
    server: str | None = GONE_SRV,
    *,
    marked: bool = True,
    owner: str = PROJECT,
    status: str = "active",
    size: int | None = 1024,
) -> dict:
    image = {
        "id": id_,
        "name": f"Daily-x-{day}",
        "status": status,
        "owner": owner,
        "size": size,
        "created_at": f"2026-11-{day:02d}T03:00:00Z",
    }
    if server is not None:
        image["instance_uuid"] = server
    if marked:
        image[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
    return image


def ids(images) -> list[str]:
    return [image["id"] for image in images]


def plan(images, existence=None, **kw):
    kw.setdefault("now", NOW)
    return orphans.plan_purge(
        images, PROJECT, existence or {GONE_SRV: E.GONE}, **kw
    )


# --- answers -------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (404, None, E.GONE),
        (200, {"server": {"id": GONE_SRV}}, E.EXISTS),
        (200, {"server": {"id": LIVE_SRV}}, E.UNKNOWN),
        (200, {"servers": []}, E.UNKNOWN),
        (200, "<html>", E.UNKNOWN),
        (401, None, E.UNKNOWN),
        (403, None, E.UNKNOWN),
        (500, None, E.UNKNOWN),
        (503, None, E.UNKNOWN),
        (None, None, E.UNKNOWN),
    ],
)
def test_only_a_404_says_gone_and_only_the_server_says_exists(
    status, body, expected
):
    assert orphans.classify_server_answer(GONE_SRV, status, body) is expected


@pytest.mark.parametrize(
    "first, second, expected",
    [
        (E.GONE, E.GONE, E.GONE),
        (E.GONE, None, E.UNKNOWN),
        (E.GONE, E.UNKNOWN, E.UNKNOWN),
        (E.GONE, E.EXISTS, E.EXISTS),
        (E.EXISTS, None, E.EXISTS),
        (E.UNKNOWN, None, E.UNKNOWN),
    ],
)
def test_a_server_is_gone_only_when_two_reads_say_so(first, second, expected):
    assert orphans.confirm(first, second) is expected


# --- candidates and rows --------------------------------------------------


def test_candidates_are_own_marked_images_of_a_server_grouped_oldest_first():
    images = [
        img("new", 9),
        img("old", 2),
        img("kept", 3, marked=False),
        img("foreign", 4, owner="p2"),
        img("nobody", 5, server=None),
        img("other", 6, server=LIVE_SRV),
    ]
    groups = orphans.candidates(images, PROJECT)
    assert {k: ids(v) for k, v in groups.items()} == {
        GONE_SRV: ["old", "new"],
        LIVE_SRV: ["other"],
    }
    with_kept = orphans.candidates(images, PROJECT, include_kept=True)
    assert ids(with_kept[GONE_SRV]) == ["old", "kept", "new"]


def test_orphan_rows_show_only_gone_servers_with_sizes_and_total():
    groups = orphans.candidates(
        [img("a", 1, size=2147483648), img("b", 2, size=None)]
        + [img("c", 3, server=LIVE_SRV), img("d", 4, server=ODD_SRV)],
        PROJECT,
    )
    rows = orphans.orphan_rows(
        groups, {GONE_SRV: E.GONE, LIVE_SRV: E.EXISTS, ODD_SRV: E.UNKNOWN}
    )
    assert [r.values() for r in rows] == [
        ("a", "Daily-x-1", GONE_SRV, "2026-11-01T03:00:00Z", "active",
         2147483648, "yes"),
        ("b", "Daily-x-2", GONE_SRV, "2026-11-02T03:00:00Z", "active",
         None, "yes"),
    ]  # fmt: skip
    assert rows[1].cells()[5] == ""
    assert orphans.total_line(rows) == (
        "Total: 2 images, 2147483648 bytes (2.0 GiB)"
    )
    assert orphans.total_line(rows[1:]) == "Total: 1 image, 0 bytes"


# --- the purge plan ---------------------------------------------------------


def test_keep_one_spares_the_newest_active_image_of_each_gone_server():
    images = [
        img("d1", 1),
        img("d2", 2),
        img("d3", 3),
        img("failed", 4, status="killed"),
    ]
    result = plan(images)
    assert ids(result.delete) == ["d1", "d2", "failed"]
    assert [(i["id"], why) for i, why in result.spared] == [
        ("d3", "the newest active image of its server")
    ]


def test_keep_zero_deletes_them_all_and_keep_two_spares_two():
    images = [img("d1", 1), img("d2", 2), img("d3", 3)]
    assert ids(plan(images, keep=0).delete) == ["d1", "d2", "d3"]
    assert ids(plan(images, keep=2).delete) == ["d1"]
    assert dict(
        (image["id"], why) for image, why in plan(images, keep=2).spared
    ) == {
        "d2": "one of the newest 2 active images of its server",
        "d3": "one of the newest 2 active images of its server",
    }


def test_older_than_spares_younger_images():
    images = [img("d1", 1), img("d2", 20), img("d3", 28), img("d4", 30)]
    result = plan(images, keep=0, older_than=datetime.timedelta(days=10))
    assert ids(result.delete) == ["d1", "d2"]
    assert {i["id"]: why for i, why in result.spared} == {
        "d3": "not more than 10 days old",
        "d4": "not more than 10 days old",
    }


def test_an_image_without_a_readable_time_is_never_deleted():
    broken = img("broken", 1)
    broken["created_at"] = "yesterday"
    assert ids(plan([broken, img("d2", 2)], keep=0).delete) == ["d2"]


def test_unknown_servers_are_skipped_and_existing_ones_untouched():
    images = [
        img("gone", 1, GONE_SRV),
        img("live", 1, LIVE_SRV),
        img("odd", 1, ODD_SRV),
        img("unasked", 1, "dddddddd-0000-4000-8000-000000000004"),
    ]
    result = plan(
        images,
        {GONE_SRV: E.GONE, LIVE_SRV: E.EXISTS, ODD_SRV: E.UNKNOWN},
        keep=0,
    )
    assert ids(result.delete) == ["gone"]
    assert result.skipped == (
        ODD_SRV,
        "dddddddd-0000-4000-8000-000000000004",
    )


def test_other_projects_and_unmarked_images_are_never_deleted():
    images = [
        img("foreign", 1, owner="p2"),
        img("kept", 2, marked=False),
        img("d3", 3),
    ]
    assert ids(plan(images, keep=0).delete) == ["d3"]
    assert ids(plan(images, keep=0, include_kept=True).delete) == [
        "kept",
        "d3",
    ]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        plan([], keep=-1)
    with pytest.raises(ValueError):
        plan([], older_than=datetime.timedelta(days=-1))


def test_plan_lines_name_every_image_and_the_total():
    result = plan([img("d1", 1), img("d2", 2)], keep=0)
    assert orphans.plan_lines(result, dry_run=True) == [
        "Would delete: 2 images, 2048 bytes (2.0 KiB)",
        f"  d1  Daily-x-1  server {GONE_SRV}  2026-11-01T03:00:00Z  "
        "1024 bytes (1.0 KiB)",
        f"  d2  Daily-x-2  server {GONE_SRV}  2026-11-02T03:00:00Z  "
        "1024 bytes (1.0 KiB)",
    ]
    empty = plan([], keep=0)
    assert orphans.plan_lines(empty, dry_run=True) == [
        "No images of deleted servers to delete."
    ]


# --- properties -------------------------------------------------------------

SERVERS = (GONE_SRV, LIVE_SRV, ODD_SRV, None)
images_st = st.lists(
    st.builds(
        lambda n, day, server, marked, owner, status: img(
            f"i{n}", day, server, marked=marked, owner=owner, status=status
        ),
        st.integers(0, 10_000),
        st.integers(1, 30),
        st.sampled_from(SERVERS),
        st.booleans(),
        st.sampled_from([PROJECT, "p2"]),
        st.sampled_from(["active", "killed", "queued"]),
    ),
    max_size=30,
    unique_by=lambda image: image["id"],
)
existence_st = st.fixed_dictionaries(
    {s: st.sampled_from(list(E)) for s in SERVERS if s is not None}
)


@settings(max_examples=300, deadline=None)
@given(
    images=images_st,
    existence=existence_st,
    keep=st.integers(0, 4),
    days=st.none() | st.integers(0, 40),
    include_kept=st.booleans(),
)
def test_plan_purge_keeps_every_safety_rule(
    images, existence, keep, days, include_kept
):
    older = None if days is None else datetime.timedelta(days=days)
    result = orphans.plan_purge(
        images,
        PROJECT,
        existence,
        keep=keep,
        older_than=older,
        include_kept=include_kept,
        now=NOW,
    )
    for image in result.delete:
        assert image["owner"] == PROJECT
        assert existence[image["instance_uuid"]] is E.GONE
        assert include_kept or domain.is_marked(image)
        if older is not None:
            created = domain.parse_timestamp(image["created_at"])
            assert NOW - created >= older
    # The newest `keep` active candidates of each gone server stay.
    deleted = set(ids(result.delete))
    groups = orphans.candidates(images, PROJECT, include_kept)
    for server_id, found in groups.items():
        active = [i for i in found if i["status"] == "active"]
        newest = sorted(active, key=lambda i: i["created_at"], reverse=True)[
            :keep
        ]
        # Ties in time: at least `keep` active images survive.
        survivors = [i for i in active if i["id"] not in deleted]
        assert len(survivors) >= len(newest)
        if existence[server_id] is not E.GONE:
            assert not {i["id"] for i in found} & deleted
    # Deleted and spared images partition the gone servers' candidates.
    gone = [
        i["id"]
        for s, found in groups.items()
        if existence[s] is E.GONE
        for i in found
    ]
    spared = [i["id"] for i, _ in result.spared]
    assert sorted(gone) == sorted(list(deleted) + spared)
    assert len(deleted) == len(result.delete)
    assert set(result.skipped) == {
        s for s in groups if existence[s] is E.UNKNOWN
    }


# --- 1.2.0: ids as Nova spells them, and what a purge can never tell -------


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        (GONE_SRV, GONE_SRV),
        (GONE_SRV.upper(), GONE_SRV),
        (f"  {GONE_SRV}\n", GONE_SRV),
        (GONE_SRV.replace("-", ""), GONE_SRV),
        ("caa9f068", None),
        ("not-a-uuid", None),
        ("", None),
        (f"{{{GONE_SRV}}}", None),
    ],
)
def test_canonical_server_id(spelling, canonical):
    from rax_scheduled_images_python_novaclient_ext import ids as server_ids

    assert server_ids.canonical_server_id(spelling) == canonical


def test_a_live_server_spelled_otherwise_is_one_server_and_stays():
    # 1.1.0 grouped these under their own spellings: the existence known
    # for the live server did not cover them, and a 404 for the upper
    # case spelling deleted them.
    images = [
        img("upper", 1, LIVE_SRV.upper()),
        img("padded", 2, f" {LIVE_SRV} "),
        img("gone", 3),
    ]
    groups = orphans.candidates(images, PROJECT)
    assert sorted(groups) == sorted([GONE_SRV, LIVE_SRV])
    result = plan(images, {GONE_SRV: E.GONE, LIVE_SRV: E.EXISTS}, keep=0)
    assert ids(result.delete) == ["gone"]


def test_an_instance_uuid_that_is_no_server_id_is_never_deleted():
    images = [img("odd", 1, "caa9f068"), img("gone", 2)]
    # Even were an answer about it GONE, it cannot be about a server.
    result = plan(images, {GONE_SRV: E.GONE, "caa9f068": E.GONE}, keep=0)
    assert ids(result.delete) == ["gone"]
    assert result.skipped == ("caa9f068",)
    assert orphans.skipped_line("caa9f068", orphans.NOT_A_SERVER_ID, 1) == (
        "Skipped server 'caa9f068': could not tell whether it exists (its "
        "instance_uuid is not a server ID); its 1 image left alone."
    )


def test_a_snapshot_of_another_projects_server_is_not_a_candidate():
    other = img("admins", 1)
    other["instance_owner"] = "p2"
    mine = img("mine", 2)
    mine["instance_owner"] = PROJECT
    assert ids(plan([other, mine], keep=0).delete) == ["mine"]


def test_a_protected_image_is_named_kept_not_would_delete():
    protected = img("locked", 1)
    protected["protected"] = True
    result = plan([protected, img("d2", 2)], keep=0)
    assert ids(result.delete) == ["d2"]
    assert orphans.spared_lines(result) == [
        f"Keeping image locked of server {GONE_SRV}: it is protected "
        "(protected: true), so the Image API would refuse to delete it."
    ]


def test_older_than_is_strictly_more_and_takes_decimals():
    # NOW is 2026-12-01T12:00; day 28 at 03:00 is 3 days 9 hours old.
    images = [img("d28", 28), img("d29", 29)]
    exactly = datetime.timedelta(days=3, hours=9)
    assert ids(plan(images, keep=0, older_than=exactly).delete) == []
    just_less = exactly - datetime.timedelta(seconds=1)
    assert ids(plan(images, keep=0, older_than=just_less).delete) == ["d28"]
    days = orphans.parse_days("2.5")
    assert days == 2.5
    result = plan(images, keep=0, older_than=datetime.timedelta(days=days))
    assert ids(result.delete) == ["d28"]
    assert result.spared[0][1] == "not more than 2.5 days old"


@pytest.mark.parametrize("typed", ["-1", "x", "nan", "inf", "", "1e9"])
def test_older_than_refuses_what_is_no_number_of_days(typed):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="number of days"):
        orphans.parse_days(typed)


@pytest.mark.parametrize(
    ("status", "marked", "word"),
    [
        ("active", True, "yes"),
        ("saving", True, "in progress"),
        ("queued", True, "in progress"),
        ("killed", True, "failed"),
        ("active", False, "no"),
    ],
)
def test_orphan_rows_count_only_marked_active_images(status, marked, word):
    rows = orphans.orphan_rows(
        orphans.candidates(
            [img("x", 1, status=status, marked=marked)], PROJECT, True
        ),
        {GONE_SRV: E.GONE},
    )
    assert rows[0].counted == word
    assert rows[0].cells()[-1] == word

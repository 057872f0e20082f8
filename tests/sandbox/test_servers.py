"""Compute: version documents, servers, paging, filters, tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import (
    ALT_MYSERVER,
    DB,
    DEMO_PROJECT,
    MYSERVER,
    WEB_IDS,
    Client,
    fault,
)


def test_versionless_document_lists_v2(cloud: Sandbox) -> None:
    answer = requests.get(f"{cloud.url}/compute/")
    assert answer.status_code == 200
    (version,) = answer.json()["versions"]
    assert version["id"] == "v2.0"


def test_project_endpoint_answers_legacy_version(demo: Client) -> None:
    # novaclient reads this: empty version/min_version means API 2.0.
    answer = demo.get(demo.compute)
    assert answer.status_code == 200
    version = answer.json()["version"]
    assert (version["id"], version["version"], version["min_version"]) == (
        "v2.0",
        "",
        "",
    )


@pytest.mark.parametrize(
    "path", ["/servers", "/servers/detail", f"/servers/{MYSERVER}", ""]
)
@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_bad_token_is_401(
    cloud: Sandbox, path: str, token: str | None
) -> None:
    headers = {"X-Auth-Token": token} if token else {}
    answer = requests.get(
        f"{cloud.url}/compute/v2/{DEMO_PROJECT}{path}", headers=headers
    )
    assert fault(answer) == (
        401,
        "unauthorized",
        "The request you have made requires authentication.",
    )
    assert answer.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_token_of_other_project_is_403_on_its_url(
    demo: Client, alt: Client
) -> None:
    for path in ("", "/servers/detail", f"/servers/{ALT_MYSERVER}"):
        answer = demo.get(f"{alt.compute}{path}")
        status, name, message = fault(answer)
        assert (status, name) == (403, "forbidden")
        assert message == (
            "URL's project_id '100002' doesn't match Context's "
            "project_id '100001'"
        )


def test_detail_lists_only_own_servers(demo: Client, alt: Client) -> None:
    names = [
        s["name"]
        for s in demo.get(f"{demo.compute}/servers/detail").json()["servers"]
    ]
    assert sorted(names) == ["db", "myserver", "web", "web"]
    alt_names = [
        s["name"] for s in alt.get(f"{alt.compute}/servers").json()["servers"]
    ]
    assert sorted(alt_names) == ["alt-app", "myserver"]


def test_list_without_detail_has_id_name_links(demo: Client) -> None:
    servers = demo.get(f"{demo.compute}/servers").json()["servers"]
    assert {tuple(sorted(s)) for s in servers} == {("id", "links", "name")}


def test_show_server(demo: Client) -> None:
    server = demo.get(f"{demo.compute}/servers/{MYSERVER}").json()["server"]
    assert server["id"] == MYSERVER
    assert server["name"] == "myserver"
    assert server["status"] == "ACTIVE"
    assert server["tenant_id"] == DEMO_PROJECT


@pytest.mark.parametrize(
    "server", ["00000000-0000-4000-8000-000000000000", ALT_MYSERVER, "x"]
)
def test_show_unknown_or_foreign_server_is_404(
    demo: Client, server: str
) -> None:
    answer = demo.get(f"{demo.compute}/servers/{server}")
    assert fault(answer) == (
        404,
        "itemNotFound",
        f"Instance {server} could not be found.",
    )


def test_name_filter_is_a_regex_search(demo: Client) -> None:
    def names(pattern: str) -> list[str]:
        answer = demo.get(
            f"{demo.compute}/servers/detail", params={"name": pattern}
        )
        return sorted(s["name"] for s in answer.json()["servers"])

    assert names("web") == ["web", "web"]
    assert names("^my") == ["myserver"]
    assert names("e") == ["myserver", "web", "web"]
    assert names("(unclosed") == []


def test_schedule_filter_true_and_false(demo: Client) -> None:
    url = f"{demo.compute}/servers/detail"
    scheduled = demo.get(url, params={"OS-SI:image_schedule": "TRUE"})
    assert [s["id"] for s in scheduled.json()["servers"]] == [DB]
    others = demo.get(url, params={"OS-SI:image_schedule": "false"})
    assert sorted(s["id"] for s in others.json()["servers"]) == sorted(
        [MYSERVER, *WEB_IDS]
    )


@pytest.mark.parametrize("value", ["yes", "1", "", "Truee"])
def test_schedule_filter_bad_value_is_400(demo: Client, value: str) -> None:
    answer = demo.get(
        f"{demo.compute}/servers/detail",
        params={"OS-SI:image_schedule": value},
    )
    assert fault(answer) == (
        400,
        "badRequest",
        "Bad value for query parameter OS-SI:image_schedule, "
        "use True or False",
    )


def test_rax_cloud_filters_on_rax_name() -> None:
    with Sandbox(alias="rax-si-image-schedule") as cloud:
        client = Client(cloud, "demo")
        url = f"{client.compute}/servers/detail"
        answer = client.get(url, params={"RAX-SI:image_schedule": "True"})
        assert [s["id"] for s in answer.json()["servers"]] == [DB]
        bad = client.get(url, params={"RAX-SI:image_schedule": "maybe"})
        assert fault(bad)[2] == (
            "Bad value for query parameter RAX-SI:image_schedule, "
            "use True or False"
        )


def _follow(client: Client, url: str, params: dict[str, Any]) -> list[Any]:
    """Every page, following `next` links to the end."""
    pages = []
    answer = client.get(url, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(body)
        links = [
            link["href"]
            for link in body.get("servers_links", [])
            if link["rel"] == "next"
        ]
        if not links:
            return pages
        answer = client.get(links[0])


def test_paging_reaches_every_server_once() -> None:
    with Sandbox(servers=23, seed=3) as cloud:
        client = Client(cloud, "demo")
        pages = _follow(
            client, f"{client.compute}/servers/detail", {"limit": 5}
        )
        ids = [s["id"] for page in pages for s in page["servers"]]
        assert len(ids) == len(set(ids)) == 27
        assert [len(p["servers"]) for p in pages] == [5, 5, 5, 5, 5, 2]


def test_full_last_page_is_followed_by_an_empty_one() -> None:
    # Nova links to a next page whenever a page is full.
    with Sandbox(servers=6, seed=3) as cloud:
        client = Client(cloud, "demo")
        pages = _follow(client, f"{client.compute}/servers", {"limit": 5})
        assert [len(p["servers"]) for p in pages] == [5, 5, 0]


def test_schedule_filter_applies_after_paging() -> None:
    with Sandbox(servers=40, scheduled=4, seed=11) as cloud:
        client = Client(cloud, "demo")
        pages = _follow(
            client,
            f"{client.compute}/servers/detail",
            {"limit": 4, "OS-SI:image_schedule": "True"},
        )
        sizes = [len(p["servers"]) for p in pages]
        # 44 servers in pages of 4: 11 full pages, then an empty one.
        assert len(pages) == 12
        assert 0 in sizes[:-1], "some page before the last came back empty"
        found = {s["id"] for p in pages for s in p["servers"]}
        expected = {
            sid
            for sid, server in cloud.state.servers.items()
            if server.project_id == DEMO_PROJECT and server.schedule
        }
        assert found == expected and len(expected) == 5
        # The filter travels in the next link.
        last_link = pages[-2]["servers_links"][0]["href"]
        query = parse_qs(urlsplit(last_link).query)
        assert query["OS-SI:image_schedule"] == ["True"]
        assert query["limit"] == ["4"]


def test_unknown_marker_is_400(demo: Client) -> None:
    answer = demo.get(
        f"{demo.compute}/servers/detail", params={"marker": ALT_MYSERVER}
    )
    assert fault(answer) == (
        400,
        "badRequest",
        f"marker [{ALT_MYSERVER}] not found",
    )


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("x", "limit param must be an integer"),
        ("-1", "limit param must be positive"),
    ],
)
def test_bad_limit_is_400(demo: Client, limit: str, message: str) -> None:
    answer = demo.get(f"{demo.compute}/servers", params={"limit": limit})
    assert fault(answer) == (400, "badRequest", message)


def test_flavors(demo: Client) -> None:
    answer = demo.get(f"{demo.compute}/flavors/general1-1")
    assert answer.json()["flavor"]["name"] == "1 GB General Purpose v1"
    missing = demo.get(f"{demo.compute}/flavors/nope")
    assert fault(missing)[0] == 404

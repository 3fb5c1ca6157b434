"""The public register of listed hazards (挂牌督办公示): listings made, de-listed and raised
through the API appear with their numbers, authorities, deadlines and publication instants,
to everyone and with no token. And the edition-2 rules met on the way answer as HTTP should:
who acts is a 403, a missing 五落实 a 422 naming ``listing_measures``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities.projections import rebuild
from api.auth import create_token
from tests.api.conftest import ApiHarness
from tests.api.matrix import (
    FIVE_IMPLEMENTATIONS,
    SUPERVISORS_OF_A,
    Matrix,
    answers,
    case_version,
    each,
    register,
    rule,
)
from tests.api.test_api_hazards import PHOTO
from workflows.ids import case_stream_id


def published(api: ApiHarness, hazard_id: str) -> list[dict[str, Any]]:
    """The register's entries of one case, worked out from its stored events alone."""
    entries: dict[str, dict[str, Any]] = {}
    for event in api.store.read_stream(case_stream_id(hazard_id)):
        data = event.data
        if event.event_type == "HazardListed":
            if data["supersedes"] is not None:
                entries[data["supersedes"]] |= {
                    "status": "superseded",
                    "superseded_by": data["listing_no"],
                    "superseded_at": data["at"],
                }
            entries[data["listing_no"]] = {
                "listing_no": data["listing_no"],
                "level": data["level"],
                "authority_unit_code": data["authority_unit_code"],
                "authority_name": data["authority_name"],
                "status": "listed",
                "listed_at": data["at"],
                "publish_by": data["publish_by"],
                "published_at": None,
                "supersedes": data["supersedes"],
                "superseded_by": None,
                "superseded_at": None,
                "delisted_at": None,
                "delist_basis": None,
                "delisting_publish_by": None,
                "delisting_published_at": None,
            }
        elif event.event_type == "ListingPublished":
            key = "published_at" if data["kind"] == "listing" else "delisting_published_at"
            entries[data["listing_no"]][key] = data["at"]
        elif event.event_type == "HazardDelisted":
            entries[data["listing_no"]] |= {
                "status": "delisted",
                "delisted_at": data["at"],
                "delist_basis": data["basis"],
                "delisting_publish_by": data["publish_by"],
            }
    return list(entries.values())


INSTANTS = frozenset(
    {
        "listed_at",
        "publish_by",
        "published_at",
        "superseded_at",
        "delisted_at",
        "delisting_publish_by",
        "delisting_published_at",
    }
)


def same_instants(entry: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        got = entry[key]
        if key in INSTANTS and value is not None and got is not None:
            assert datetime.fromisoformat(got) == datetime.fromisoformat(value), (key, entry)
        else:
            assert got == value, (key, entry)


async def test_listed_delisted_and_raised_hazards_are_on_the_public_register_for_everyone(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    matrix = Matrix(api)
    headers = grid.headers
    county = headers("supervisor_county")
    grid.tokens["supervisor_city"] = create_token(
        api.store.engine, api.services.reference, "supervisor", grid.city, "supervisor_city"
    )[1]
    delisted, kept, raised = [await register(api) for _ in range(3)]

    # 五落实 left out: a field of the request breaks the rule, nothing changes.
    before = case_version(api, kept)
    bare = await api.client.post(
        f"/api/v1/hazards/{kept}/listing", json={"level": "county"}, headers=county
    )
    assert bare.status_code == 422, bare.text
    assert bare.json()["error"] == {
        "rule": "case.list.five_implementations_required",
        "message": bare.json()["error"]["message"],
        "field": "listing_measures",
    }
    assert case_version(api, kept) == before

    deadlines: dict[str, str] = {}
    for hazard_id in (delisted, kept, raised):
        listed = await api.client.post(
            f"/api/v1/hazards/{hazard_id}/listing",
            json={"level": "county", "listing_measures": FIVE_IMPLEMENTATIONS},
            headers=county,
        )
        assert listed.status_code == 200, listed.text
        deadlines[hazard_id] = listed.json()["deadline"]

    # The county supervises a county-listed case now: the township's supervisor, inside the
    # grid but below the supervising unit, is refused for who they are — 403 with the rule.
    before = case_version(api, kept)
    below = await api.client.post(
        f"/api/v1/hazards/{kept}/refusal",
        json={"details": "拒不整改"},
        headers=headers("supervisor_a"),
    )
    assert below.status_code == 403, below.text
    assert below.json()["error"]["rule"] == "case.authority.below_supervising_unit"
    assert below.json()["error"]["field"] == "actor.unit_code"
    assert case_version(api, kept) == before

    reported = await api.client.post(
        f"/api/v1/hazards/{delisted}/rectification-report",
        json={"summary": "已整改", "evidence": [PHOTO]},
        headers=headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    verified = await api.client.post(
        f"/api/v1/hazards/{delisted}/verification",
        json={"passed": True, "comments": "验收合格, 摘牌"},
        headers=county,
    )
    assert verified.status_code == 200 and verified.json()["status"] == "closed", verified.text
    city = await api.client.post(
        f"/api/v1/hazards/{raised}/listing",
        json={"level": "city", "listing_measures": FIVE_IMPLEMENTATIONS},
        headers=headers("supervisor_city"),
    )
    assert city.status_code == 200 and city.json()["listed_level"] == "city", city.text
    deadlines[raised] = city.json()["deadline"]
    api.project()

    expected: dict[str, dict[str, Any]] = {}
    for hazard_id in (delisted, kept, raised):
        for entry in published(api, hazard_id):
            expected[entry["listing_no"]] = entry | {"hazard_id": hazard_id}
    statuses = sorted(e["status"] for e in expected.values())
    assert statuses == ["delisted", "listed", "listed", "superseded"], expected
    for entry in expected.values():
        assert entry["published_at"] is not None, entry  # edition 2: published on listing
        if entry["status"] == "delisted":
            assert entry["delist_basis"] == "verified" and entry["delisting_published_at"]

    def register_of(*wanted: str) -> Any:
        chosen = {no: e for no, e in expected.items() if e["status"] in wanted}

        def check(page: Any) -> None:
            assert page["total"] == len(chosen), page
            items = {item["listing_no"]: item for item in page["items"]}
            assert set(items) == set(chosen), page
            for no, entry in chosen.items():
                item = items[no]
                same_instants(item, entry)
                assert item["credit_code"] == grid.enterprise_a, item
                assert item["enterprise_name"] == "诸城某机械有限公司", item
                assert item["grid_code"] == grid.village_a, item
                assert item["description"] == "配电箱门未关闭, 线路裸露", item
                if item["status"] != "superseded":
                    assert datetime.fromisoformat(item["deadline"]) == datetime.fromisoformat(
                        deadlines[item["hazard_id"]]
                    ), item
            listed_at = [datetime.fromisoformat(i["listed_at"]) for i in page["items"]]
            assert listed_at == sorted(listed_at, reverse=True), page  # newest first

        return check

    everything = register_of("listed", "delisted", "superseded")
    await matrix.row(
        "GET", "/api/v1/public/listings", answers((200, everything), anonymous=(200, everything))
    )
    for status in ("listed", "delisted", "superseded"):
        only = register_of(status)
        await matrix.row(
            "GET",
            "/api/v1/public/listings",
            answers((200, only), anonymous=(200, only)),
            params={"status": status},
        )
    city_level = [e for e in expected.values() if e["level"] == "city"]
    assert len(city_level) == 1 and city_level[0]["authority_unit_code"] == grid.city

    def the_city_listing(page: Any) -> None:
        assert [i["listing_no"] for i in page["items"]] == [city_level[0]["listing_no"]], page

    await matrix.row(
        "GET",
        "/api/v1/public/listings",
        answers((200, the_city_listing), anonymous=(200, the_city_listing)),
        params={"level": "city"},
    )

    def nothing(page: Any) -> None:
        assert page == {"total": 0, "limit": 50, "offset": 0, "items": []}, page

    await matrix.row(
        "GET",
        "/api/v1/public/listings",
        answers((200, nothing), anonymous=(200, nothing)),
        params={"grid_unit": grid.township_b},
    )
    second_page = await api.client.get("/api/v1/public/listings", params={"limit": 1, "offset": 1})
    assert second_page.json()["total"] == 4 and len(second_page.json()["items"]) == 1
    bad = await api.client.get("/api/v1/public/listings", params={"status": "pending"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"

    # 拒不整改的认定 is the supervising unit's (or above): the township's supervisor is refused
    # for who they are, the county's records it.
    await matrix.row(
        "POST",
        f"/api/v1/hazards/{kept}/refusal",
        answers(
            403,
            supervisor_a=(403, rule("case.authority.below_supervising_unit")),
            **each(SUPERVISORS_OF_A[1:], 200),
        ),
        unchanged=lambda: case_version(api, kept),
        json={"details": "拒不整改, 拒绝签收整改通知书"},
    )
    withdrawal = await api.client.post(
        f"/api/v1/hazards/{kept}/withdrawal", json={"reason": "误报"}, headers=county
    )
    assert withdrawal.status_code == 200, withdrawal.text
    api.project()
    withdrawn = await api.client.get("/api/v1/public/listings", params={"status": "delisted"})
    assert {i["hazard_id"]: i["delist_basis"] for i in withdrawn.json()["items"]} == {
        delisted: "verified",
        kept: "withdrawn",
    }
    assert len(matrix.rows) == 7

    # Rebuilt from the store in batches of three events (rows read back between batches), the
    # register is the same, to the byte: the listings do not depend on how they were batched.
    def listings_column() -> list[tuple[Any, ...]]:
        with api.store.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT hazard_id, listings FROM case_view ORDER BY 1")
            return [tuple(row) for row in rows]

    followed, page = listings_column(), (await api.client.get("/api/v1/public/listings")).json()
    rebuild(api.store.engine, batch_size=3)
    assert listings_column() == followed
    assert (await api.client.get("/api/v1/public/listings")).json() == page

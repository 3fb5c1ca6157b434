"""Who reads a notice, on which channels (domain/recipients.py, pure)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain.recipients import (
    Contact,
    Person,
    QuietHours,
    Route,
    must_acknowledge,
    not_before,
    parse_quiet_hours,
    resolve_recipients,
    retry_delay,
)
from tests.domain.domain_builders import COUNTY, ENTERPRISE, PATH, TOWNSHIP, VILLAGE

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZHOU = Person("zhou", "网格员 周", "inspector", VILLAGE.code, email="zhou@x.cn", chat_kind="wecom")
SUN = Person("sun", "站长 孙", "supervisor", TOWNSHIP.code, phone="13800000000")
ZHAO = Person("zhao", "县局 赵局长", "supervisor", COUNTY.code, language="en")
ENT = Person("ent", "企业", "enterprise", ENTERPRISE.credit_code)
ADMIN = Person("root", "管理员", "admin", None)
GONE = Person("gone", "站长 孙", "supervisor", TOWNSHIP.code, enabled=False)
PEOPLE = (ZHOU, SUN, ZHAO, ENT, ADMIN, GONE)
CONTACTS = (
    Contact(ENTERPRISE.credit_code, "safety_manager", "李安全", phone="13900000000"),
    Contact(ENTERPRISE.credit_code, "principal", "王总", email="wang@ent.cn"),
    Contact("91370782MA3C99999X", "principal", "别家", email="other@ent.cn"),
)


def resolve(kind: str, rid: str, channels=("email", "sms"), groups=()):
    return resolve_recipients(
        kind,
        rid,
        grid_path=PATH,
        accounts=PEOPLE,
        contacts=CONTACTS,
        channels=channels,
        groups=groups,
    )


def test_a_grid_person_is_the_accounts_of_their_unit_on_the_cases_path():
    (zhou,) = resolve("grid_responsible", VILLAGE.responsible_person)
    assert zhou.key == "account:zhou"
    assert zhou.routes == (
        Route("inbox", "zhou"),
        Route("email", "zhou@x.cn"),
        Route("wecom", "own"),
    )
    # The escalation's target level: the township's person is its supervisor, not a disabled
    # account of the same name.
    assert [r.key for r in resolve("grid_responsible", TOWNSHIP.responsible_person)] == [
        "account:sun"
    ]


def test_an_enterprise_is_its_accounts_and_its_registered_contacts_principal_first():
    found = resolve("enterprise", ENTERPRISE.credit_code)
    assert [r.key for r in found] == [
        "account:ent",
        f"contact:{ENTERPRISE.credit_code}:principal",
        f"contact:{ENTERPRISE.credit_code}:safety_manager",
    ]
    assert found[1].routes == (Route("email", "wang@ent.cn"),)
    assert found[2].routes == (Route("sms", "13900000000"),)


def test_a_channel_the_deployment_lacks_is_no_route_and_a_contact_without_one_is_nobody():
    found = resolve("enterprise", ENTERPRISE.credit_code, channels=())
    assert [r.key for r in found] == ["account:ent"]
    assert found[0].routes == (Route("inbox", "ent"),)


def test_administrators_grid_units_and_the_bureaus_groups():
    assert [r.key for r in resolve("admin", "administrators")] == ["account:root"]
    assert [r.key for r in resolve("grid_unit", COUNTY.code)] == ["account:zhao"]
    assert resolve("grid_unit", COUNTY.code)[0].language == "en"
    with_groups = resolve("grid_responsible", COUNTY.responsible_person, groups=("feishu",))
    assert [r.key for r in with_groups] == ["account:zhao", "group:feishu"]
    # The bureau's groups are not told what is addressed to the enterprise or the public.
    assert "group:feishu" not in [
        r.key for r in resolve("enterprise", ENTERPRISE.credit_code, groups=("feishu",))
    ]
    assert resolve("public_register", "listed_hazards", groups=("feishu",)) == []


def test_a_name_no_unit_on_the_path_has_falls_back_to_the_accounts_of_that_name():
    assert [r.key for r in resolve("enforcement", "县局 赵局长")] == ["account:zhao"]
    assert resolve("enforcement", "执法大队 无名") == []


def test_the_fallback_by_name_reaches_grid_accounts_on_the_cases_path_only():
    """A display name is anyone's to type: an enterprise account, an auditor or an inspector
    of another county named like the path's person reads nothing addressed to that person."""
    name = "执法大队 钱队长"  # no unit on the path names them: the fallback by name
    qian = Person("qian", name, "inspector", COUNTY.code)
    impostors = (
        Person("ent-zhao", name, "enterprise", ENTERPRISE.credit_code),
        Person("aud-zhao", name, "auditor", None),
        Person("adm-zhao", name, "admin", None),
        Person("far-zhao", name, "inspector", "P99-C9-X9"),
    )
    found = resolve_recipients(
        "enforcement",
        name,
        grid_path=PATH,
        accounts=(*PEOPLE, qian, *impostors),
        contacts=(),
        channels=(),
    )
    assert [r.key for r in found] == ["account:qian"]
    assert [
        r.key
        for r in resolve_recipients(
            "listing_authority", name, grid_path=PATH, accounts=impostors, contacts=(), channels=()
        )
    ] == []
    # No path (a credit record's notice): still the grid's accounts only.
    assert [
        r.key
        for r in resolve_recipients(
            "enforcement", name, grid_path=(), accounts=(*impostors, qian), contacts=(), channels=()
        )
    ] == ["account:far-zhao", "account:qian"]


def test_quiet_hours_across_midnight_hold_until_their_end_on_the_policys_clock():
    quiet = parse_quiet_hours("22:00-07:00")
    assert quiet.covers(time(23, 30)) and quiet.covers(time(6, 59))
    assert not quiet.covers(time(7, 0)) and not quiet.covers(time(12, 0))
    late = datetime(2026, 12, 8, 23, 30, tzinfo=SHANGHAI)
    assert not_before(late, quiet, "Asia/Shanghai") == datetime(2026, 12, 9, 7, 0, tzinfo=SHANGHAI)
    early = datetime(2026, 12, 9, 5, 0, tzinfo=SHANGHAI)
    assert not_before(early, quiet, "Asia/Shanghai") == datetime(2026, 12, 9, 7, 0, tzinfo=SHANGHAI)
    noon = datetime(2026, 12, 9, 12, 0, tzinfo=SHANGHAI)
    assert not_before(noon, quiet, "Asia/Shanghai") == noon
    assert not_before(noon, None, "Asia/Shanghai") == noon
    assert not QuietHours(time(1), time(1)).covers(time(1))
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_quiet_hours("22:00")


def test_back_off_doubles_to_its_cap_and_respects_the_providers_advice():
    delays = [retry_delay(n, base_seconds=2, max_seconds=60) for n in range(1, 8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(1, base_seconds=2, max_seconds=60, advised=30) == 30


def test_notices_that_must_be_served_are_acknowledged_by_the_enterprise_only():
    assert must_acknowledge("rectification_notice", "enterprise")
    assert must_acknowledge("credit_ProceedingNoticeIssued", "enterprise")
    assert not must_acknowledge("rectification_notice", "grid_responsible")
    assert not must_acknowledge("deadline_reminder", "enterprise")

"""The loop through HTTP pages; privacy of unclaimed demands; outsiders get 404."""

import datetime as dt

import pytest
from django.utils import timezone

from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import make_person
from xianfeng.demands.models import Claim, Demand, ServiceRecord
from xianfeng.demands.services import demand_claim, demand_create, service_record
from xianfeng.ledger.services import ledger_verify
from xianfeng.orgs import services as org_services
from xianfeng.points.services import balance_of, reward_create

SECRET_NAME = "欧阳秘密"
SECRET_PHONE = "13912345678"
SECRET_ADDRESS = "河滨路88号7幢501室"


@pytest.fixture
def private_demand(world):
    person = make_person(SECRET_NAME, phone=SECRET_PHONE)
    resident = org_services.resident_create(person=person, org=world.hebin, household="7-501",
                                            address=SECRET_ADDRESS)
    return demand_create(org=world.hebin, category="助老", description="腿脚不便，需要有人帮忙取药", resident=resident,
                         area="河滨北片", actor=world.hebin_secretary)


def _body(response) -> str:
    return response.content.decode()


def test_full_loop_through_http(world, client_for):
    resident, member, secretary = client_for("resident"), client_for("member"), client_for("hebin_secretary")
    r = resident.post("/demands/new/", {"category": "维修", "description": "厨房水龙头漏水", "household": "2-301",
                                        "address": "河滨路2号301", "urgency": "normal", "preferred_times": "周末"})
    assert r.status_code == 302, _body(r)
    demand = Demand.objects.get()
    assert demand.source == "resident" and demand.org == world.hebin

    assert "厨房水龙头漏水" not in _body(member.get("/demands/"))  # the list shows category and area only
    assert member.get(f"/demands/{demand.pk}/").status_code == 200
    r = member.post(f"/demands/{demand.pk}/claim/")
    assert r.status_code == 302
    assert "河滨路2号301" in _body(member.get(f"/demands/{demand.pk}/"))

    r = member.post(f"/demands/{demand.pk}/record/", {"served_on": timezone.localdate().isoformat(), "hours": "1.5",
                                                      "minutes": "0", "notes": "更换阀芯"})
    assert r.status_code == 302, _body(r)
    record = ServiceRecord.objects.get()
    assert record.minutes == 90

    assert str(record.pk) in _body(resident.get("/demands/mine/"))
    r = resident.post(f"/demands/records/{record.pk}/confirm/", {"rating": "satisfied", "comment": "很及时"})
    assert r.status_code == 302
    again = resident.post(f"/demands/records/{record.pk}/confirm/", {"rating": "satisfied"}, follow=True)
    assert "不会重复发放" in _body(again)
    points = balance_of(world.members["hebin_a"])
    assert points == 2 + 3 + 2

    card = member.get("/points/")
    assert card.status_code == 200 and f">{points}<" in _body(card) and "<svg" in _body(card)

    soap = reward_create(shop=world.hebin, name="洗洁精", price=5, stock=1)
    token_url = _body(card).split('/points/scan/?t=')[1].split('"')[0]
    scan = secretary.get(f"/points/scan/?t={token_url}")
    assert scan.status_code == 200, _body(scan)
    r = secretary.post(f"/points/scan/?t={token_url}", {"reward": soap.pk, "quantity": 1, "key": "abc"})
    assert r.status_code == 302
    assert balance_of(world.members["hebin_a"]) == points - 5
    assert ledger_verify().ok


def test_unclaimed_demand_shows_no_personal_data_anywhere(world, client_for, private_demand):
    member = client_for("member")
    pages = [member.get("/demands/"), member.get(f"/demands/{private_demand.pk}/"), member.get("/demands/mine/"),
             member.get("/api/v1/demands/"), member.get(f"/api/v1/demands/{private_demand.pk}/")]
    for response in pages:
        assert response.status_code == 200
        body = _body(response)
        assert SECRET_NAME not in body and SECRET_PHONE not in body and SECRET_ADDRESS not in body
        assert "138****" not in body  # not even masked


def test_claimer_sees_the_contact_and_the_view_is_audited(world, client_for, private_demand):
    member = client_for("member")
    member.post(f"/demands/{private_demand.pk}/claim/")
    body = _body(member.get(f"/demands/{private_demand.pk}/"))
    assert SECRET_NAME in body and SECRET_PHONE in body and SECRET_ADDRESS in body
    assert AuditEvent.objects.filter(action="unmask", model="demands.Demand").exists()
    # …but another member still sees nothing personal
    other = client_for("county_admin")
    assert SECRET_PHONE not in _body(other.get(f"/demands/{private_demand.pk}/"))


def test_outsider_gets_404_everywhere(world, client_for, private_demand):
    outsider = client_for("qinshan_secretary")
    assert outsider.get(f"/demands/{private_demand.pk}/").status_code == 404
    assert outsider.post(f"/demands/{private_demand.pk}/claim/").status_code == 404
    assert outsider.post(f"/demands/{private_demand.pk}/assign/", {"member": 1}).status_code == 404
    assert outsider.post(f"/demands/{private_demand.pk}/close/", {"reason": "x"}).status_code == 404
    assert outsider.get(f"/demands/{private_demand.pk}/record/").status_code == 404
    assert outsider.get(f"/demands/figures/?org={world.hebin.pk}").status_code == 404
    assert outsider.get(f"/points/board/?org={world.hebin.pk}").status_code == 404
    assert outsider.get(f"/points/shop/?shop={world.hebin.pk}").status_code == 404
    assert outsider.get(f"/points/rules/?org={world.hebin.pk}").status_code == 404
    assert private_demand.pk not in [d["id"] for d in outsider.get("/api/v1/demands/").json()["results"]]
    m = world.members["hebin_a"]
    demand_claim(demand=private_demand, member=m, actor=None)
    rec = service_record(member=m, demand=private_demand, served_on=dt.date(2026, 1, 5), minutes=30, notes="取药", actor=None)
    assert outsider.get(f"/demands/records/{rec.pk}/confirm/").status_code == 404
    assert outsider.post(f"/demands/records/{rec.pk}/confirm/", {"rating": "satisfied"}).status_code == 404


def test_second_claim_through_http_is_409(world, client_for, private_demand):
    demand_claim(demand=private_demand, member=world.members["hebin_b"], actor=None)
    r = client_for("member").post(f"/demands/{private_demand.pk}/claim/")
    assert r.status_code == 409 and "已被认领" in _body(r)
    closed = demand_create(org=world.hebin, category="其他", description="x", actor=world.hebin_secretary)
    client_for("hebin_secretary").post(f"/demands/{closed.pk}/close/", {"reason": "重复登记"})
    r = client_for("member").post(f"/demands/{closed.pk}/claim/")
    assert r.status_code == 409


def test_absurd_duration_is_a_field_error_on_the_page(world, client_for, private_demand):
    member = client_for("member")
    member.post(f"/demands/{private_demand.pk}/claim/")
    for hours, minutes in (("-1", "0"), ("24", "30"), ("0", "0")):
        r = member.post(f"/demands/{private_demand.pk}/record/", {"served_on": "2026-01-05", "hours": hours,
                                                                  "minutes": minutes, "notes": "x"})
        assert r.status_code == 400 and "error-hours" in _body(r)
    assert not ServiceRecord.objects.exists()


def test_staff_sees_suggestions_and_assigns(world, client_for, private_demand):
    staff = client_for("hebin_secretary")
    r = staff.get(f"/demands/{private_demand.pk}/")
    assert "张建国" in _body(r) and "近期未服务" in _body(r)
    r = staff.post(f"/demands/{private_demand.pk}/assign/", {"member": world.members["hebin_b"].pk})
    assert r.status_code == 302
    assert Claim.objects.get().assigned_by == world.hebin_secretary


def test_figures_and_export(world, client_for, private_demand):
    staff = client_for("wuyuan_admin")
    r = staff.get(f"/demands/figures/?org={world.wuyuan.pk}")
    assert r.status_code == 200 and "河滨社区" in _body(r)
    m = world.members["hebin_a"]
    demand_claim(demand=private_demand, member=m, actor=None)
    service_record(member=m, demand=private_demand, served_on=dt.date(2026, 1, 5), minutes=30, notes="取药", actor=None)
    r = staff.get(f"/demands/export.xlsx?org={world.wuyuan.pk}")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    import io

    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(r.streaming_content)))
    assert book.sheet_names == ["服务需求", "认领", "服务记录", "积分兑换"]
    rows = {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    assert len(rows["服务需求"]) == 2 and rows["认领"][1][3] == "张建国" and rows["服务记录"][1][7] == 30
    text = repr(rows)
    assert SECRET_NAME not in text and SECRET_PHONE not in text and SECRET_ADDRESS not in text
    event = AuditEvent.objects.get(action="export")
    assert event.after == {"demands": 1, "claims": 1, "records": 1, "redemptions": 0}
    assert client_for("member").get(f"/demands/export.xlsx?org={world.hebin.pk}").status_code == 404


def test_pairings_page_tracks_services_and_ends_a_pairing(world, client_for):
    from xianfeng.demands.services import pairing_create, service_confirm

    m = world.members["hebin_b"]
    pairing = pairing_create(org=world.hebin, member=m, household="5-101", start=dt.date(2026, 1, 1), actor=None)
    for day in (3, 17):
        rec = service_record(member=m, pairing=pairing, served_on=dt.date(2026, 2, day), minutes=60, notes="陪伴", actor=None)
        service_confirm(record=rec, rating="satisfied", actor=world.hebin_secretary)
    staff = client_for("hebin_secretary")
    body = _body(staff.get("/demands/pairings/"))
    assert "5-101" in body and "120" in body and "2026-02-17" in body
    assert client_for("qinshan_secretary").post("/demands/pairings/", {"action": "end", "pairing": pairing.pk}
                                                ).status_code == 404
    r = staff.post("/demands/pairings/", {"action": "end", "pairing": pairing.pk, "end": "2025-01-01"})
    pairing.refresh_from_db()
    assert r.status_code == 302 and pairing.end is None  # before the start: refused
    r = staff.post("/demands/pairings/", {"action": "end", "pairing": pairing.pk, "end": "2026-03-01"})
    pairing.refresh_from_db()
    assert pairing.end == dt.date(2026, 3, 1)
    assert staff.post("/demands/pairings/", {"action": "end", "pairing": "x"}).status_code == 404
    assert client_for("member").get("/demands/pairings/").status_code == 404


def test_board_list_has_bounded_queries(world, client_for, django_assert_max_num_queries):
    for i in range(30):
        demand_create(org=world.hebin, category="助老", description=f"需求{i}", actor=world.hebin_secretary)
    member = client_for("member")
    with django_assert_max_num_queries(15):
        assert member.get("/demands/").status_code == 200

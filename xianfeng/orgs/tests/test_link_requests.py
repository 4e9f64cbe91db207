"""A person outside the writer's scope is never changed by an ID number (API, roster page, import_roster command);
linking such a person goes through a link request that the person's organisation accepts or declines."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from xianfeng.core.testing import make_person
from xianfeng.orgs import roster, services
from xianfeng.orgs.models import LinkRequest, Member, Membership, Person, Resident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.ROSTER_UPLOAD_DIR = tmp_path / "uploads"


@pytest.fixture
def api(world):
    def make(persona: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(world.users[persona])
        return client
    return make


@pytest.fixture
def outsider(world) -> Resident:
    """A resident of a 秦山镇 village: outside 河滨社区's scope."""
    person = make_person("钱小红", gender="F", birth=dt.date(1985, 2, 3), phone="13705731111")
    return services.resident_create(person=person, org=world.qinshan_village, address="杨柳村5组")


def state() -> tuple:
    return (list(Person.objects.order_by("pk").values_list("pk", "name", "phone", "ethnicity", "updated_at")),
            Member.objects.count(), Membership.objects.count())


def member_body(world, id_number: str, **extra) -> dict:
    body = {"name": "冒名顶替", "id_number": id_number, "org": world.hebin_branch.pk, "join_date": "2015-06-01",
            "full_date": "2016-06-01"}
    body.update(extra)
    return body


def roster_row(world, id_number: str, **extra) -> dict:
    row = {"姓名": "冒名顶替", "身份证号": id_number, "手机号": "", "入党日期": dt.date(2015, 6, 1),
           "转正日期": dt.date(2016, 6, 1), "所在党组织": world.hebin_branch.code}
    row.update(extra)
    return row


def xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(roster.HEADERS))
    for row in rows:
        ws.append([row.get(h) for h in roster.HEADERS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- the three front doors refuse and change nothing ---------------------------------------------------------------


def test_api_member_create_with_another_towns_resident_is_409_and_changes_nothing(world, api, outsider):
    before = state()
    response = api("hebin_secretary").post("/api/v1/members/", member_body(world, outsider.person.id_number),
                                           format="json")
    assert response.status_code == 409, response.content
    assert "关联申请" in response.json()["id_number"][0]
    assert response.json()["link_request"][0].endswith("/api/v1/link-requests/")
    assert state() == before
    outsider.person.refresh_from_db()
    assert (outsider.person.name, outsider.person.phone) == ("钱小红", "13705731111")
    assert not Member.objects.filter(person=outsider.person).exists()


def test_roster_page_refuses_another_towns_resident_and_imports_nothing(world, client_for, outsider):
    client = client_for("hebin_secretary")
    before = state()
    upload = SimpleUploadedFile("花名册.xlsx", xlsx([roster_row(world, outsider.person.id_number)]))
    preview = client.post(reverse("orgs:roster_import"), {"file": upload})["Location"]
    page = client.get(preview)
    assert "关联申请" in page.content.decode()
    client.post(preview)  # confirming a file with errors imports nothing
    assert state() == before


def test_import_roster_command_refuses_another_towns_resident(world, tmp_path, outsider, capsys):
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(xlsx([roster_row(world, outsider.person.id_number)]))
    before = state()
    with pytest.raises(CommandError):
        call_command("import_roster", str(path), "--user", "hebin_secretary")
    assert "关联申请" in capsys.readouterr().err
    assert state() == before


def test_a_person_with_no_organisation_is_the_countys(world, api):
    leader = make_person("周立新")
    before = state()
    response = api("hebin_secretary").post("/api/v1/members/", member_body(world, leader.id_number), format="json")
    assert response.status_code == 409
    assert state() == before
    assert api("county_admin").post("/api/v1/members/", member_body(world, leader.id_number, name="周立新"),
                                    format="json").status_code == 201


def test_an_in_scope_resident_becomes_a_member_and_a_left_out_phone_is_kept(world, api):
    person = make_person("孙大伟", phone="13605730000")
    services.resident_create(person=person, org=world.hebin)
    response = api("hebin_secretary").post("/api/v1/members/", member_body(world, person.id_number, name="孙大伟"),
                                           format="json")
    assert response.status_code == 201, response.content
    person.refresh_from_db()
    assert person.phone == "13605730000"


def test_person_upsert_checks_its_actor_before_any_change(world, outsider):
    with pytest.raises(services.PersonOutOfScope):
        services.person_upsert(actor=world.hebin_secretary, name="改名", id_number=outsider.person.id_number,
                               phone="13900000000")
    outsider.person.refresh_from_db()
    assert outsider.person.name == "钱小红"
    updated = services.person_upsert(actor=world.qinshan_secretary, name="钱小红", id_number=outsider.person.id_number)
    assert updated.phone == "13705731111"  # left out: kept


def test_roster_empty_phone_cell_keeps_the_phone_on_record(world):
    person = make_person("孙大伟", phone="13605730000")
    services.resident_create(person=person, org=world.hebin)
    result = roster.roster_import(rows=[roster_row(world, person.id_number, 姓名="孙大伟")], actor=world.hebin_secretary)
    assert result.ok, result.errors
    person.refresh_from_db()
    assert person.phone == "13605730000" and person.member.org == world.hebin_branch


# ---- the consent path ----------------------------------------------------------------------------------------------


def link_body(world, outsider, **extra) -> dict:
    body = {"id_number": outsider.person.id_number, "org": world.hebin_branch.pk, "join_date": "2015-06-01",
            "full_date": "2016-06-01", "note": "已迁入河滨社区"}
    body.update(extra)
    return body


def test_link_request_accepted_by_the_persons_organisation_makes_a_member(world, api, outsider):
    before = state()
    created = api("hebin_secretary").post("/api/v1/link-requests/", link_body(world, outsider), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["person_name"] == ""  # the requester learns nothing about the person
    assert state()[0] == before[0] and state()[1] == before[1]
    pk = created.json()["id"]
    # the requester cannot accept its own request; a third village cannot see it
    assert api("hebin_secretary").post(f"/api/v1/link-requests/{pk}/accept/", {}, format="json").status_code == 404
    listed = api("qinshan_secretary").get("/api/v1/link-requests/?status=pending").json()
    assert [r["id"] for r in listed["results"]] == [pk] and listed["results"][0]["person_name"] == "钱小红"
    accepted = api("qinshan_secretary").post(f"/api/v1/link-requests/{pk}/accept/", {"note": "同意"}, format="json")
    assert accepted.status_code == 200, accepted.content
    member = Member.objects.get(person=outsider.person)
    assert member.org == world.hebin_branch and member.join_date == dt.date(2015, 6, 1)
    outsider.person.refresh_from_db()
    assert (outsider.person.name, outsider.person.phone) == ("钱小红", "13705731111")
    again = api("qinshan_secretary").post(f"/api/v1/link-requests/{pk}/decline/", {}, format="json")
    assert again.status_code == 409


def test_declined_link_request_changes_nothing(world, api, outsider):
    pk = api("hebin_secretary").post("/api/v1/link-requests/", link_body(world, outsider), format="json").json()["id"]
    before = state()
    response = api("qinshan_secretary").post(f"/api/v1/link-requests/{pk}/decline/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert state() == before


@pytest.mark.parametrize("body, field", [
    ({"id_number": "330424199001011234"}, "id_number"),  # not a valid ID number
    ({"join_date": "1970-01-01"}, "join_date"),  # before the person was 18
    ({"org": 10**9}, None),  # no such organisation: 404
])
def test_bad_link_requests_write_nothing(world, api, outsider, body, field):
    before = (state(), LinkRequest.objects.count())
    response = api("hebin_secretary").post("/api/v1/link-requests/", link_body(world, outsider, **body),
                                           format="json")
    if field is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 400 and field in response.json(), response.content
    assert (state(), LinkRequest.objects.count()) == before


def test_link_request_for_someone_in_scope_or_a_member_is_refused(world, api):
    response = api("hebin_secretary").post("/api/v1/link-requests/", {
        "id_number": world.members["qinshan_a"].person.id_number, "org": world.hebin_branch.pk,
        "join_date": "2015-06-01"}, format="json")
    assert response.status_code == 400 and "转接" in response.json()["id_number"][0]


def test_link_request_pages(world, client_for, outsider):
    hebin = client_for("hebin_secretary")
    form = hebin.get(reverse("orgs:link_request_create") + f"?id_number={outsider.person.id_number}")
    assert form.status_code == 200
    response = hebin.post(reverse("orgs:link_request_create"), {
        "id_number": outsider.person.id_number, "org": world.hebin_branch.pk, "join_date": "2015-06-01",
        "category": "full", "full_date": "2016-06-01"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    link = LinkRequest.objects.get()
    assert hebin.get(reverse("orgs:link_request_detail", args=[link.pk])).status_code == 200
    assert hebin.post(reverse("orgs:link_request_decide", args=[link.pk]), {"decision": "accept"}).status_code == 404
    assert client_for("member").get(reverse("orgs:link_request_detail", args=[link.pk])).status_code == 404
    qinshan = client_for("qinshan_secretary")
    listing = qinshan.get(reverse("orgs:link_request_list"))
    assert "钱小红" in listing.content.decode()
    qinshan.post(reverse("orgs:link_request_decide", args=[link.pk]), {"decision": "accept"})
    link.refresh_from_db()
    assert link.status == "accepted" and link.member.person == outsider.person

"""/api/v1/events/: activities, attendance, teams — each with the outsider's 404 and bad input's 400."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from xianfeng.events import services
from xianfeng.events.models import ActivityKind, Attendance
from xianfeng.points.models import Award

pytestmark = pytest.mark.django_db
BASE = "/api/v1/events"


@pytest.fixture
def api(world):
    def make(persona: str) -> APIClient:
        client = APIClient()
        client.force_login(world.users[persona])
        return client

    return make


def test_create_list_signup_and_check_in(world, api):
    secretary, member = api("hebin_secretary"), api("member")
    start = timezone.now() - dt.timedelta(minutes=10)
    response = secretary.post(f"{BASE}/activities/", {
        "kind": "lesson", "title": "七一党课", "org": world.hebin_branch.pk, "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=1)).isoformat(), "lecturer": "王书记", "audience": "subtree"},
        format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert [a["id"] for a in member.get(f"{BASE}/activities/").json()["results"]] == [pk]
    assert api("qinshan_secretary").get(f"{BASE}/activities/{pk}/").status_code == 404
    assert member.post(f"{BASE}/activities/{pk}/signup/").json()["status"] == "registered"

    activity = world.hebin_branch.event_activities.get()
    token = services.checkin_token(activity)
    first = member.post(f"{BASE}/activities/{pk}/checkin/", {"token": token}, format="json")
    again = member.post(f"{BASE}/activities/{pk}/checkin/", {"token": token}, format="json")
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    bad = member.post(f"{BASE}/activities/{pk}/checkin/", {"token": token + "x"}, format="json")
    assert bad.status_code == 400 and "token" in bad.json()
    rows = secretary.get(f"{BASE}/activities/{pk}/attendance/").json()["results"]
    assert [r["person_name"] for r in rows] == ["张建国"]
    assert api("member").get(f"{BASE}/activities/{pk}/attendance/").status_code == 404
    assert api("qinshan_secretary").get(f"{BASE}/activities/{pk}/attendance/").status_code == 404


def test_bad_activity_input_is_400_with_field_errors(world, api):
    start = timezone.now()
    response = api("hebin_secretary").post(f"{BASE}/activities/", {
        "kind": "lesson", "title": "x", "org": world.hebin.pk, "starts_at": start.isoformat(),
        "ends_at": (start - dt.timedelta(hours=1)).isoformat(), "bogus": 1}, format="json")
    assert response.status_code == 400 and "bogus" in response.json()
    response = api("hebin_secretary").post(f"{BASE}/activities/", {
        "kind": "lesson", "title": "x", "org": world.hebin.pk, "starts_at": start.isoformat(),
        "ends_at": (start - dt.timedelta(hours=1)).isoformat()}, format="json")
    assert response.status_code == 400 and {"ends_at", "lecturer"} <= set(response.json())
    response = api("qinshan_secretary").post(f"{BASE}/activities/", {
        "kind": "service", "title": "x", "org": world.hebin.pk, "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=1)).isoformat()}, format="json")
    assert response.status_code == 404


def test_record_check_out_and_hours_review(world, api, make_activity):
    activity = make_activity(start_in=dt.timedelta(hours=-2), hours=3)
    secretary = api("hebin_secretary")
    url = f"{BASE}/activities/{activity.pk}/record/"
    response = secretary.post(url, {"member": world.members["hebin_a"].pk,
                                    "check_in_at": activity.starts_at.isoformat()}, format="json")
    assert response.status_code == 201
    att_id = response.json()["id"]
    code = services.personal_code(world.members["hebin_b"].person)
    assert secretary.post(url, {"person_code": code}, format="json").status_code == 201
    assert secretary.post(url, {"person_code": code + "x"}, format="json").status_code == 400
    assert api("qinshan_secretary").post(url, {"person_code": code}, format="json").status_code == 404

    early = (activity.starts_at - dt.timedelta(minutes=5)).isoformat()
    response = secretary.post(f"{BASE}/attendance/{att_id}/check-out/", {"check_out_at": early}, format="json")
    assert response.status_code == 400 and "check_out_at" in response.json()
    assert Attendance.objects.get(pk=att_id).check_out_at is None
    out = (activity.starts_at + dt.timedelta(minutes=90)).isoformat()
    assert secretary.post(f"{BASE}/attendance/{att_id}/check-out/", {"check_out_at": out},
                          format="json").json()["minutes"] == 90
    assert api("qinshan_secretary").post(f"{BASE}/attendance/{att_id}/approve/", {}, format="json").status_code == 404
    assert api("member").post(f"{BASE}/attendance/{att_id}/approve/", {}, format="json").status_code == 404
    response = secretary.post(f"{BASE}/attendance/{att_id}/approve/", {}, format="json")
    assert response.status_code == 200 and response.json()["hours_status"] == "approved"
    assert secretary.post(f"{BASE}/attendance/{att_id}/approve/", {}, format="json").status_code == 400
    assert Award.objects.filter(source="activity_hours", source_id=str(att_id)).count() == 1
    listed = secretary.get(f"{BASE}/attendance/", {"activity": activity.pk, "hours_status": "approved"}).json()
    assert [r["id"] for r in listed["results"]] == [att_id]
    assert api("qinshan_secretary").get(f"{BASE}/attendance/{att_id}/").status_code == 404


def test_teams_api_shows_open_teams_and_hides_closed_ones_from_outsiders(world, api):
    open_team = services.team_create(org=world.hebin, name="开放队", actor=None)
    closed = services.team_create(org=world.hebin, name="内部队", open_to_requests=False, actor=None)
    names = [t["name"] for t in api("qinshan_secretary").get(f"{BASE}/teams/").json()["results"]]
    assert names == ["开放队"]
    assert api("qinshan_secretary").get(f"{BASE}/teams/{closed.pk}/").status_code == 404
    assert api("hebin_secretary").get(f"{BASE}/teams/{closed.pk}/").status_code == 200
    assert open_team.pk


def test_lesson_activity_hides_from_members_outside_its_subtree(world, api, make_activity):
    lesson = make_activity(kind=ActivityKind.LESSON, org=world.hebin_branch)
    qinshan_member_user = world.users["qinshan_secretary"]
    assert qinshan_member_user  # the outsider is a secretary elsewhere: no view of Hebin
    assert api("qinshan_secretary").post(f"{BASE}/activities/{lesson.pk}/signup/").status_code == 404


def test_the_organiser_changes_an_activity_through_the_api(world, api, make_activity):
    activity = make_activity(start_in=dt.timedelta(days=2))
    url = f"{BASE}/activities/{activity.pk}/"
    response = api("hebin_secretary").patch(url, {"place": "河滨公园", "capacity": 40}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["place"], response.json()["capacity"]) == ("河滨公园", 40)
    response = api("hebin_secretary").patch(url, {"ends_at": activity.starts_at.isoformat()}, format="json")
    assert response.status_code == 400 and "ends_at" in response.json()
    assert api("hebin_secretary").patch(url, {"kind": "lesson"}, format="json").status_code == 400
    assert api("qinshan_secretary").patch(url, {"place": "别处"}, format="json").status_code == 404
    assert api("member").patch(url, {"place": "别处"}, format="json").status_code == 404
    activity.refresh_from_db()
    assert activity.place == "河滨公园" and activity.kind == "service"


def test_a_title_keeps_its_full_width_punctuation(world, api):
    start = timezone.now() + dt.timedelta(days=1)
    response = api("hebin_secretary").post(f"{BASE}/activities/", {
        "kind": "lesson", "title": "冬季党课：学习…", "org": world.hebin_branch.pk, "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=1)).isoformat(), "lecturer": "王书记（县委党校）",
        "audience": "subtree"}, format="json")
    assert response.status_code == 201, response.json()
    activity = world.hebin_branch.event_activities.get()
    assert (activity.title, activity.lecturer) == ("冬季党课：学习…", "王书记（县委党校）")
    assert response.json()["title"] == "冬季党课：学习…"

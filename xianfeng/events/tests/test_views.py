"""Pages through HTTP: the whole lifecycle, the check-in codes, certificates, calendar feeds, and the outsider's 404."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xianfeng.core.models import AuditEvent
from xianfeng.events import services
from xianfeng.events.models import Activity, ActivityKind, Attendance, Certificate, Registration, TeamMember
from xianfeng.points.models import Award

pytestmark = pytest.mark.django_db


def local_input(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def test_lifecycle_through_http(world, client_for):
    secretary, member = client_for("hebin_secretary"), client_for("member")
    start = timezone.now() - dt.timedelta(minutes=30)
    response = secretary.post(reverse("events:activity_create"), {
        "kind": "service", "title": "河滨社区助老服务", "org": world.hebin.pk, "starts_at": local_input(start),
        "ends_at": local_input(start + dt.timedelta(hours=3)), "place": "河滨社区", "capacity": "10",
        "audience": "subtree"})
    activity = Activity.objects.get(title="河滨社区助老服务")
    assert response.status_code == 302 and response["Location"] == reverse("events:activity_detail", args=[activity.pk])

    # the member finds it and signs up
    assert "河滨社区助老服务" in member.get(reverse("events:activity_list")).content.decode()
    member.post(reverse("events:activity_signup", args=[activity.pk]))
    assert Registration.objects.get(activity=activity, person=world.members["hebin_a"].person).status == "registered"

    # the organiser's phone shows the rotating code; the member's phone opens what it encodes
    html = secretary.get(reverse("events:activity_qr", args=[activity.pk])).content.decode()
    url = re.search(r'data-url="([^"]+)"', html)[1]
    assert "<svg" in html
    path = url.replace("http://testserver", "")
    assert "立即签到" in member.get(path).content.decode()
    assert member.post(path).status_code == 200
    assert member.post(path).status_code == 200  # scanning twice: one row
    att = Attendance.objects.get(activity=activity)
    assert att.method == "rotating_qr" and att.hours_status == "open"
    partial = secretary.get(reverse("events:activity_qr_code", args=[activity.pk])).content.decode()
    assert "张建国" in partial and 'data-testid="qr-attended">1<' in partial

    # check-out (as if the member had checked in at the start), review, points
    Attendance.objects.filter(pk=att.pk).update(check_in_at=activity.starts_at)
    member.post(reverse("events:check_out", args=[att.pk]))
    att.refresh_from_db()
    assert att.hours_status == "pending" and att.minutes >= 29
    assert "张建国" in secretary.get(reverse("events:hours")).content.decode()
    secretary.post(reverse("events:hours_decide", args=[att.pk]), {"decision": "approve", "minutes": str(att.minutes)})
    att.refresh_from_db()
    assert att.hours_status == "approved"
    assert Award.objects.filter(source="activity_hours", source_id=str(att.pk)).count() == 1

    # a certificate, its PDF, and anyone can verify it
    today = timezone.localdate()
    response = secretary.post(reverse("events:certificates"), {
        "member": world.members["hebin_a"].pk, "org": world.hebin.pk, "start": str(today - dt.timedelta(days=1)),
        "end": str(today)})
    assert response.status_code == 302
    cert = Certificate.objects.get()
    pdf = member.get(reverse("events:certificate_pdf", args=[cert.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    html = Client().get(reverse("events:verify"), {"code": cert.code}).content.decode()
    assert "张*国" in html and str(cert.hours) in html and "张建国" not in html
    assert Client().get(reverse("events:verify"), {"code": "ABCD-EFGH-JKLM"}).status_code == 404


def test_an_expired_or_forged_code_gives_a_clear_message_and_no_attendance(world, client_for, make_activity):
    activity = make_activity()
    member = client_for("member")
    old = services.checkin_token(activity, at=timezone.now().timestamp() - 90)
    response = member.post(reverse("events:checkin", args=[old]))
    assert response.status_code == 400 and "签到码已过期" in response.content.decode()
    forged = f"{activity.pk}.{int(timezone.now().timestamp() // 30)}:forgedsignature"
    response = member.post(reverse("events:checkin", args=[forged]))
    assert response.status_code == 400 and "签到码无效" in response.content.decode()
    assert not Attendance.objects.exists()


def test_the_organiser_scans_a_personal_code(world, client_for, make_activity):
    activity = make_activity(kind=ActivityKind.LESSON)
    code = re.search(r'data-code="([^"]+)"', client_for("member").get(reverse("events:my_code")).content.decode())[1]
    secretary = client_for("hebin_secretary")
    response = secretary.post(reverse("events:activity_scan", args=[activity.pk]), {"code": code})
    assert response.status_code == 200 and "张建国" in response.content.decode()
    assert Attendance.objects.get(activity=activity).method == "personal_qr"
    response = secretary.post(reverse("events:activity_scan", args=[activity.pk]), {"code": code + "x"})
    assert response.status_code == 400 and "个人签到码无效" in response.content.decode()


def test_manual_entry_is_audited_and_a_bad_check_out_changes_nothing(world, client_for, make_activity):
    activity = make_activity()
    secretary = client_for("hebin_secretary")
    html = secretary.get(reverse("events:attendance", args=[activity.pk]), {"q": "李秀英"}).content.decode()
    assert "李秀英" in html
    secretary.post(reverse("events:attendance", args=[activity.pk]), {"member": world.members["hebin_b"].pk})
    att = Attendance.objects.get(activity=activity)
    assert att.method == "manual"
    assert AuditEvent.objects.filter(model="events.Attendance", object_id=str(att.pk), action="create").exists()
    before = local_input(att.check_in_at - dt.timedelta(hours=1))
    secretary.post(reverse("events:check_out", args=[att.pk]), {"check_out_at": before})
    att.refresh_from_db()
    assert att.check_out_at is None
    response = secretary.get(reverse("events:attendance_export", args=[activity.pk]))
    assert response.status_code == 200 and AuditEvent.objects.filter(action="export").count() == 1


def test_figures_and_lesson_members_pages(world, client_for, make_activity):
    lesson = make_activity(kind=ActivityKind.LESSON, org=world.hebin_branch)
    services.attendance_check_in(activity=lesson, person=world.members["hebin_a"].person, method="rotating_qr", actor=None)
    html = client_for("wuyuan_admin").get(reverse("events:figures")).content.decode()
    assert 'data-testid="fig-lessons"' in html and "50%" in html
    html = client_for("county_admin").get(reverse("events:figures"), {"org": world.wuyuan.pk}).content.decode()
    assert "河滨社区" in html
    html = client_for("hebin_secretary").get(reverse("events:lesson_members"), {"org": world.hebin.pk,
                                                                                "missed": "1"}).content.decode()
    assert "李秀英" in html and "张建国" not in html


def test_teams_through_http(world, client_for):
    secretary, member = client_for("hebin_secretary"), client_for("member")
    secretary.post(reverse("events:team_create"), {"name": "河滨红管家", "org": world.hebin.pk, "skills": "助老,维修",
                                                   "open_to_requests": "on"})
    team = world.hebin.volunteer_teams.get()
    member.post(reverse("events:team_join", args=[team.pk]))
    membership = TeamMember.objects.get(team=team)
    assert membership.status == "requested"
    assert "河滨红管家" in member.get(reverse("events:team_list")).content.decode()
    assert client_for("qinshan_secretary").post(reverse("events:team_member_decide", args=[membership.pk]),
                                                {"decision": "approve"}).status_code == 404
    secretary.post(reverse("events:team_member_decide", args=[membership.pk]), {"decision": "approve"})
    assert TeamMember.objects.get(pk=membership.pk).status == "active"


def test_calendar_feeds_are_rfc5545_and_follow_the_users_rights(world, client_for, make_activity):
    activity = make_activity(start_in=dt.timedelta(days=1), title="河滨社区" + "很长的标题" * 20 + ",含逗号;分号")
    services.activity_signup(activity=activity, person=world.members["hebin_a"].person, actor=None)
    html = client_for("member").get(reverse("events:calendars")).content.decode()
    links = re.findall(r'value="(http://testserver/events/calendars/[^"]+\.ics)"', html)
    assert len(links) >= 2
    body = Client().get(links[0].replace("http://testserver", "")).content
    text = body.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    assert f"UID:activity-{activity.pk}@testserver" in unfolded
    assert "\\,含逗号\\;分号" in unfolded  # RFC 5545 escapes commas and semicolons in text
    assert Client().get(links[0].replace(".ics", "x.ics").replace("http://testserver", "")).status_code == 404


@pytest.mark.parametrize("name,method", [
    ("events:activity_detail", "get"), ("events:activity_qr", "get"), ("events:activity_qr_code", "get"),
    ("events:activity_scan", "get"), ("events:attendance", "get"), ("events:attendance_export", "get"),
    ("events:activity_cancel", "post"), ("events:activity_signup", "post"),
])
def test_other_village_secretary_gets_404_on_an_activity(world, client_for, make_activity, name, method):
    activity = make_activity()
    response = getattr(client_for("qinshan_secretary"), method)(reverse(name, args=[activity.pk]))
    assert response.status_code == 404
    missing = getattr(client_for("qinshan_secretary"), method)(reverse(name, args=[activity.pk + 999]))
    assert missing.status_code == 404
    assert "河滨社区志愿服务" not in response.content.decode()


def test_other_village_secretary_gets_404_on_hours_and_certificates(world, client_for, make_activity, time_machine):
    # 00:30 China time: the activity three hours ago was yesterday, and its certificate covers that day, not today
    time_machine.move_to(dt.datetime(2026, 12, 8, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    activity = make_activity(start_in=dt.timedelta(hours=-3), hours=2)
    day = timezone.localdate(activity.starts_at)
    att, _ = services.attendance_check_in(activity=activity, person=world.members["hebin_a"].person, method="manual",
                                          at=activity.starts_at, actor=world.hebin_secretary)
    services.attendance_check_out(attendance=att, at=activity.ends_at, actor=world.hebin_secretary)
    outsider = client_for("qinshan_secretary")
    assert outsider.post(reverse("events:hours_decide", args=[att.pk]), {"decision": "approve"}).status_code == 404
    assert outsider.post(reverse("events:check_out", args=[att.pk])).status_code == 404
    services.hours_approve(attendance=att, actor=world.hebin_secretary)
    cert = services.certificate_issue(person=att.person, org=world.hebin, start=day, end=day, actor=None)
    assert outsider.get(reverse("events:certificate_pdf", args=[cert.pk])).status_code == 404
    assert client_for("resident").get(reverse("events:hours")).status_code == 404


def test_activity_list_queries_do_not_grow_with_rows(world, client_for, make_activity, django_assert_max_num_queries):
    for i in range(15):
        make_activity(title=f"活动{i}")
    client = client_for("hebin_secretary")
    client.get(reverse("home"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("events:activity_list"))
    assert response.content.decode().count("活动1") >= 6


# ---- editing activities and teams ---------------------------------------------------------------------------------


def test_the_organiser_changes_an_activity_and_those_signed_up_are_told(world, client_for, make_activity):
    from xianfeng.notify.models import Notification

    activity = make_activity(start_in=dt.timedelta(days=2), capacity=1)
    services.activity_signup(activity=activity, person=world.members["hebin_a"].person, actor=None)
    waiting = services.activity_signup(activity=activity, person=world.members["hebin_b"].person, actor=None)
    assert waiting.status == "waitlisted"
    secretary = client_for("hebin_secretary")
    url = reverse("events:activity_edit", args=[activity.pk])
    assert 'value="河滨社区服务中心"' in secretary.get(url).content.decode()
    data = {"title": "河滨社区志愿服务（改期）", "team": "", "starts_at": local_input(activity.starts_at + dt.timedelta(hours=1)),
            "ends_at": local_input(activity.ends_at + dt.timedelta(hours=1)), "place": "河滨公园", "capacity": "2",
            "audience": "subtree", "lecturer": "", "topic": "", "materials": "", "description": "",
            "kind": "lesson", "org": world.county.pk}  # kind and organiser are fixed: these two are ignored
    response = secretary.post(url, data)
    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.place, activity.capacity, activity.kind, activity.org) == ("河滨公园", 2, "service", world.hebin)
    assert Registration.objects.get(pk=waiting.pk).status == "registered"  # the new place went to the waiting list
    assert Notification.objects.filter(recipient=world.member, kind="events.changed").count() == 1
    assert AuditEvent.objects.filter(model="events.Activity", object_id=str(activity.pk), action="update").exists()

    # fewer places than are taken: a field error, nothing changed
    response = secretary.post(url, {**data, "capacity": "1", "place": "别处"})
    assert response.status_code == 400 and "已报名" in response.content.decode()
    activity.refresh_from_db()
    assert (activity.place, activity.capacity) == ("河滨公园", 2)


@pytest.mark.parametrize("persona", ["qinshan_secretary", "member"])
def test_only_the_organiser_may_change_an_activity(world, client_for, make_activity, persona):
    activity = make_activity(start_in=dt.timedelta(days=2))
    client = client_for(persona)
    url = reverse("events:activity_edit", args=[activity.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"title": "改", "place": "别处"}).status_code == 404
    activity.refresh_from_db()
    assert activity.title == "河滨社区志愿服务"


def test_teams_are_edited_by_their_managers_and_stopped_by_their_unit(world, client_for):
    leader, other = world.members["hebin_a"].person, world.members["hebin_b"].person
    team = services.team_create(org=world.hebin, name="河滨红管家", leader=leader, skills="助老",
                                actor=world.hebin_secretary)
    services.team_request_join(team=team, person=other, actor=None)
    secretary, member = client_for("hebin_secretary"), client_for("member")  # member_demo is 张建国, the leader
    url = reverse("events:team_edit", args=[team.pk])
    # the leader may change the team but a person who is not yet a member cannot become its leader
    response = member.post(url, {"name": "河滨红管家服务团", "leader": other.pk, "skills": "助老,维修",
                                 "open_to_requests": "on"})
    assert response.status_code == 400
    team.refresh_from_db()
    assert team.name == "河滨红管家" and team.leader == leader
    services.team_member_decide(membership=TeamMember.objects.get(team=team, person=other), approve=True,
                                actor=world.hebin_secretary)
    response = member.post(url, {"name": "河滨红管家服务团", "leader": other.pk, "skills": "助老,维修",
                                 "open_to_requests": "on"})
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.leader, team.skill_list) == ("河滨红管家服务团", other, ["助老", "维修"])
    assert TeamMember.objects.get(team=team, is_leader=True).person == other
    assert AuditEvent.objects.filter(model="events.Team", object_id=str(team.pk), action="update").exists()
    # the old leader is no longer a manager of the team: 404 for editing; stopping is for the unit's staff only
    assert member.get(url).status_code == 404
    assert member.post(reverse("events:team_deactivate", args=[team.pk])).status_code == 404
    assert client_for("qinshan_secretary").get(url).status_code == 404
    assert client_for("qinshan_secretary").post(reverse("events:team_deactivate", args=[team.pk])).status_code == 404
    assert secretary.post(reverse("events:team_deactivate", args=[team.pk])).status_code == 302
    team.refresh_from_db()
    assert not team.is_active and not team.open_to_requests
    assert secretary.get(url).status_code == 404  # a stopped team is not edited


def test_a_team_name_taken_in_the_unit_is_a_field_error(world):
    services.team_create(org=world.hebin, name="甲队", actor=None)
    team = services.team_create(org=world.hebin, name="乙队", actor=None)
    with pytest.raises(ValidationError) as exc:
        services.team_update(team=team, name="甲队", actor=None)
    assert "name" in exc.value.message_dict
    team.refresh_from_db()
    assert team.name == "乙队"


def test_figures_drill_down_to_teams_and_team_activities(world, client_for, make_activity):
    team = services.team_create(org=world.hebin, name="河滨志愿队", actor=None)
    make_activity(team=team, title="队活动")
    make_activity(title="非团队活动")
    client = client_for("wuyuan_admin")
    html = client.get(reverse("events:activity_list"), {"teams": "1", "within": world.hebin.pk}).content.decode()
    assert "队活动" in html and "非团队活动" not in html
    html = client.get(reverse("events:team_list"), {"within": world.hebin.pk}).content.decode()
    assert "河滨志愿队" in html
    assert "河滨志愿队" not in client.get(reverse("events:team_list"), {"within": world.qinshan.pk}).content.decode()


def test_attendance_rows_are_exported_within_the_scope_and_audited(world, client_for, make_activity):
    from io import BytesIO

    from openpyxl import load_workbook

    lesson = make_activity(kind=ActivityKind.LESSON, org=world.hebin_branch, title="河滨党课")
    services.attendance_check_in(activity=lesson, person=world.members["hebin_a"].person, method="rotating_qr", actor=None)
    elsewhere = make_activity(kind=ActivityKind.LESSON, org=world.qinshan_branch, title="杨柳党课")
    services.attendance_check_in(activity=elsewhere, person=world.members["qinshan_a"].person, method="manual",
                                 actor=world.county_admin)
    response = client_for("wuyuan_admin").get(reverse("events:attendance_export_all"), {"kind": "lesson"})
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["河滨党课"] and rows[1][4] == "张建国"
    assert AuditEvent.objects.filter(action="export", model="events.Attendance").count() == 1
    assert client_for("wuyuan_admin").get(reverse("events:attendance_export_all"),
                                          {"within": world.qinshan.pk}).status_code == 404
    assert client_for("member").get(reverse("events:attendance_export_all")).status_code == 404


def test_an_automatically_closed_check_out_comes_first_in_review_flagged(world, client_for, make_activity):
    closed_later = make_activity(start_in=dt.timedelta(hours=-3), hours=2, title="按时签退")
    forgotten = make_activity(start_in=dt.timedelta(hours=-8), hours=2, title="忘记签退")
    a, _ = services.attendance_check_in(activity=closed_later, person=world.members["hebin_a"].person,
                                        method="manual", at=closed_later.starts_at, actor=world.hebin_secretary)
    services.attendance_check_out(attendance=a, at=closed_later.ends_at, actor=world.hebin_secretary)
    services.attendance_check_in(activity=forgotten, person=world.members["hebin_b"].person, method="manual",
                                 at=forgotten.starts_at, actor=world.hebin_secretary)
    assert services.attendance_close_missing() == 1
    html = client_for("hebin_secretary").get(reverse("events:hours")).content.decode()
    assert html.index("李秀英") < html.index("张建国") and "未签退：系统已补签退" in html
    assert client_for("qinshan_secretary").get(reverse("events:hours")).content.decode().count("李秀英") == 0

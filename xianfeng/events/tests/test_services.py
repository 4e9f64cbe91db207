"""Services: teams, sign-up with capacity and waiting list, check-in codes, attendance, hours, points, certificates."""

import datetime as dt
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.signing import Signer, TimestampSigner
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import make_member, make_person
from xianfeng.events import services
from xianfeng.events.models import ActivityKind, Attendance, Audience, Certificate, Registration, TeamMember
from xianfeng.ledger.models import Transaction as LedgerTransaction
from xianfeng.notify.models import Notification
from xianfeng.points.models import Award
from xianfeng.points.services import balance_of

pytestmark = pytest.mark.django_db


# ---- teams ------------------------------------------------------------------------------------------------------


def test_team_leader_joins_and_requests_are_approved_or_declined(world):
    a, b = world.members["hebin_a"], world.members["hebin_b"]
    team = services.team_create(org=world.health_bureau, name="卫生局义诊服务团", leader=a.person, skills="义诊,健康咨询",
                                actor=world.county_admin)
    assert team.skill_list == ["义诊", "健康咨询"]
    assert TeamMember.objects.get(team=team, person=a.person).status == "active"
    request = services.team_request_join(team=team, person=b.person, actor=None)
    assert request.status == "requested"
    assert services.team_request_join(team=team, person=b.person, actor=None).pk == request.pk  # asking twice: one row
    services.team_member_decide(membership=request, approve=True, actor=world.county_admin)
    request.refresh_from_db()
    assert request.status == "active" and request.joined_at is not None
    with pytest.raises(ValidationError):
        services.team_member_decide(membership=request, approve=False, actor=world.county_admin)
    services.team_leave(membership=request, actor=None)
    assert TeamMember.objects.get(pk=request.pk).status == "left"


def test_an_invitation_is_answered_by_the_invitee_and_notified(world):
    team = services.team_create(org=world.hebin, name="河滨社区志愿服务队", actor=world.hebin_secretary)
    person = world.members["hebin_a"].person
    invite = services.team_invite(team=team, person=person, actor=world.hebin_secretary)
    assert invite.status == "invited"
    assert Notification.objects.filter(recipient=world.member, kind="events.team_invitation").count() == 1
    services.team_invitation_answer(membership=invite, accept=True, actor=world.member)
    assert TeamMember.objects.get(pk=invite.pk).status == "active"


def test_a_closed_team_refuses_requests(world):
    team = services.team_create(org=world.hebin, name="内部队", open_to_requests=False, actor=None)
    with pytest.raises(ValidationError, match="不接受"):
        services.team_request_join(team=team, person=world.members["hebin_a"].person, actor=None)


# ---- activities and sign-up ---------------------------------------------------------------------------------------


def test_activity_fields_are_checked(world):
    start = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.activity_create(org=world.hebin, kind=ActivityKind.LESSON, title="", starts_at=start,
                                 ends_at=start - dt.timedelta(hours=1), audience=Audience.TEAM, capacity=0, actor=None)
    errors = exc.value.message_dict
    assert {"title", "ends_at", "team", "capacity", "lecturer"} <= set(errors)


def test_signing_up_over_capacity_puts_people_on_the_waiting_list_and_a_cancellation_promotes(world, make_activity):
    activity = make_activity(capacity=1, start_in=dt.timedelta(days=1))
    a, b = world.members["hebin_a"].person, world.members["hebin_b"].person
    first = services.activity_signup(activity=activity, person=a, actor=None)
    second = services.activity_signup(activity=activity, person=b, actor=None)
    assert (first.status, second.status) == ("registered", "waitlisted")
    assert services.activity_signup(activity=activity, person=a, actor=None).pk == first.pk  # again: nothing changes
    assert Registration.objects.filter(activity=activity).count() == 2
    services.registration_cancel(registration=first, actor=world.member)
    second.refresh_from_db()
    activity.refresh_from_db()
    assert second.status == "registered" and activity.registered_count == 1
    assert Registration.objects.get(pk=first.pk).status == "cancelled"


def test_only_the_audience_may_sign_up(world, make_activity):
    activity = make_activity(start_in=dt.timedelta(days=1))
    with pytest.raises(services.NotInAudience):
        services.activity_signup(activity=activity, person=world.members["qinshan_a"].person, actor=None)
    public = make_activity(start_in=dt.timedelta(days=1), audience=Audience.PUBLIC)
    assert services.activity_signup(activity=public, person=world.members["qinshan_a"].person, actor=None).status == "registered"


def test_cancelling_an_activity_tells_those_signed_up(world, make_activity):
    activity = make_activity(start_in=dt.timedelta(days=1))
    services.activity_signup(activity=activity, person=world.members["hebin_a"].person, actor=None)
    services.activity_cancel(activity=activity, actor=world.hebin_secretary)
    assert Notification.objects.filter(recipient=world.member, kind="events.cancelled").count() == 1
    with pytest.raises(ValidationError):
        services.activity_signup(activity=activity, person=world.members["hebin_b"].person, actor=None)


def test_reminders_go_once_to_those_holding_a_place(world, make_activity):
    activity = make_activity(start_in=dt.timedelta(hours=3))
    services.activity_signup(activity=activity, person=world.members["hebin_a"].person, actor=None)
    assert services.reminders_send() == 1
    assert services.reminders_send() == 0
    assert Notification.objects.filter(recipient=world.member, kind="events.reminder").count() == 1


# ---- check-in codes -----------------------------------------------------------------------------------------------


def test_the_rotating_code_is_good_for_the_current_and_previous_step_only(world, make_activity):
    activity = make_activity()
    now = time.time()
    token = services.checkin_token(activity, at=now)
    assert services.checkin_token_read(token, at=now) == activity.pk
    assert services.checkin_token_read(token, at=now + services.TOKEN_STEP) == activity.pk
    with pytest.raises(services.TokenError, match="过期"):
        services.checkin_token_read(token, at=now + 2 * services.TOKEN_STEP)
    with pytest.raises(services.TokenError, match="过期"):  # a code from the future is no good either
        services.checkin_token_read(services.checkin_token(activity, at=now + 120), at=now)
    assert services.checkin_token(activity, at=now) != services.checkin_token(activity, at=now + 31)


def test_a_forged_code_is_refused(world, make_activity):
    activity = make_activity()
    step = int(time.time() // services.TOKEN_STEP)
    forged = Signer(key="not-our-key", salt="xianfeng.events.checkin").sign(f"{activity.pk}.{step}")
    for token in (forged, f"{activity.pk}.{step}", "", "x" * 5000, services.checkin_token(activity)[:-2] + "AA"):
        with pytest.raises(services.TokenError, match="无效"):
            services.checkin_token_read(token)


def test_personal_codes_expire_and_cannot_be_forged(world, monkeypatch):
    person = world.members["hebin_a"].person
    code = services.personal_code(person)
    assert services.personal_code_read(code) == person.pk
    with pytest.raises(services.TokenError, match="无效"):
        services.personal_code_read(TimestampSigner(key="other", salt="xianfeng.events.personal").sign(str(person.pk)))
    monkeypatch.setattr(services, "PERSONAL_CODE_MAX_AGE", -1)  # as if the code were shown five minutes ago
    with pytest.raises(services.TokenError, match="过期"):
        services.personal_code_read(code)


# ---- attendance -------------------------------------------------------------------------------------------------


def test_checking_in_twice_leaves_one_row(world, make_activity):
    activity = make_activity(kind=ActivityKind.LESSON)
    person = world.members["hebin_a"].person
    first, created = services.attendance_check_in(activity=activity, person=person, method="rotating_qr", actor=None)
    again, created_again = services.attendance_check_in(activity=activity, person=person, method="personal_qr", actor=None)
    assert created and not created_again and first.pk == again.pk
    assert Attendance.objects.filter(activity=activity).count() == 1
    assert first.member == world.members["hebin_a"] and first.member_expected
    assert first.hours_status == "none"  # a lesson earns no volunteer hours


def test_self_check_in_needs_the_audience_and_the_window(world, make_activity):
    activity = make_activity()
    with pytest.raises(services.NotInAudience):
        services.attendance_check_in(activity=activity, person=world.members["qinshan_a"].person, method="rotating_qr", actor=None)
    later = make_activity(start_in=dt.timedelta(days=2))
    with pytest.raises(ValidationError, match="签到时间"):
        services.attendance_check_in(activity=later, person=world.members["hebin_a"].person, method="rotating_qr", actor=None)
    # the organiser may record a visitor by hand, and that is audited
    att, _ = services.attendance_check_in(activity=activity, person=world.members["qinshan_a"].person,
                                          method="manual", actor=world.hebin_secretary)
    assert not att.member_expected and att.recorded_by == world.hebin_secretary
    assert AuditEvent.objects.filter(model="events.Attendance", object_id=str(att.pk), actor=world.hebin_secretary).exists()


def test_a_check_out_before_the_check_in_is_a_field_error(world, make_activity):
    activity = make_activity()
    att, _ = services.attendance_check_in(activity=activity, person=world.members["hebin_a"].person,
                                          method="rotating_qr", actor=None)
    with pytest.raises(ValidationError) as exc:
        services.attendance_check_out(attendance=att, at=att.check_in_at - dt.timedelta(minutes=1), actor=None)
    assert "check_out_at" in exc.value.message_dict
    att.refresh_from_db()
    assert att.check_out_at is None and att.hours_status == "open"


def test_hours_count_only_inside_the_activity_and_are_capped(world, make_activity):
    activity = make_activity(start_in=dt.timedelta(hours=-1), hours=1)
    s, e = activity.starts_at, activity.ends_at
    assert services.counted_minutes(activity, s - dt.timedelta(hours=1), e + dt.timedelta(hours=1)) == 60
    assert services.counted_minutes(activity, s + dt.timedelta(minutes=15), e) == 45
    assert services.counted_minutes(activity, e + dt.timedelta(minutes=1), e + dt.timedelta(minutes=5)) == 0
    long = make_activity(start_in=dt.timedelta(hours=-20), hours=20)
    assert services.counted_minutes(long, long.starts_at, long.ends_at) == services.MAX_MINUTES


def test_a_missing_check_out_is_closed_at_the_end_and_flagged(world, make_activity):
    activity = make_activity(start_in=dt.timedelta(hours=-6), hours=2)
    att, _ = services.attendance_check_in(activity=activity, person=world.members["hebin_a"].person, method="manual",
                                          at=activity.starts_at, actor=world.hebin_secretary)
    assert services.attendance_close_missing() == 1
    assert services.attendance_close_missing() == 0
    att.refresh_from_db()
    assert att.auto_closed and att.hours_status == "pending" and att.check_out_at == activity.ends_at
    assert att.minutes == 120


def _pending_hours(world, make_activity, minutes=90):
    activity = make_activity(start_in=dt.timedelta(hours=-3), hours=2)
    att, _ = services.attendance_check_in(activity=activity, person=world.members["hebin_a"].person, method="manual",
                                          at=activity.starts_at, actor=world.hebin_secretary)
    return services.attendance_check_out(attendance=att, at=activity.starts_at + dt.timedelta(minutes=minutes),
                                         actor=world.hebin_secretary)


def test_hours_earn_points_exactly_once(world, make_activity):
    member = world.members["hebin_a"]
    att = _pending_hours(world, make_activity)
    assert att.hours_status == "pending" and att.minutes == 90
    services.hours_approve(attendance=att, actor=world.hebin_secretary)
    award = Award.objects.get(member=member, source="activity_hours", source_id=str(att.pk))
    assert award.minutes == 90 and award.points > 0
    assert balance_of(member) == award.points
    with pytest.raises(ValidationError):  # a second approval is refused ...
        services.hours_approve(attendance=att, actor=world.hebin_secretary)
    # ... and even a replayed award (say a retried job) writes nothing
    from xianfeng.points.services import points_award

    points_award(member=member, source="activity_hours", source_id=att.pk, minutes=90, on=timezone.localdate())
    assert Award.objects.filter(member=member).count() == 1
    assert LedgerTransaction.objects.filter(key=f"points:activity_hours:{att.pk}").count() == 1
    assert balance_of(member) == award.points


def test_declined_hours_stay_with_their_reason_and_earn_nothing(world, make_activity):
    att = _pending_hours(world, make_activity)
    with pytest.raises(ValidationError):
        services.hours_decline(attendance=att, reason="  ", actor=world.hebin_secretary)
    services.hours_decline(attendance=att, reason="签到地点不符", actor=world.hebin_secretary)
    att.refresh_from_db()
    assert att.hours_status == "declined" and att.review_note == "签到地点不符"
    assert not Award.objects.exists()
    with pytest.raises(ValidationError):
        services.hours_approve(attendance=att, actor=world.hebin_secretary)


def test_an_approval_may_lower_the_minutes_but_not_raise_them(world, make_activity):
    att = _pending_hours(world, make_activity)
    with pytest.raises(ValidationError):
        services.hours_approve(attendance=att, minutes=91, actor=world.hebin_secretary)
    att = services.hours_approve(attendance=att, minutes=60, actor=world.hebin_secretary)
    assert att.minutes == 60 and att.hours_status == "approved"


# ---- certificates -----------------------------------------------------------------------------------------------


def test_a_certificate_freezes_the_approved_hours_and_is_found_by_its_code(world, make_activity):
    att = services.hours_approve(attendance=_pending_hours(world, make_activity), actor=world.hebin_secretary)
    person = world.members["hebin_a"].person
    today = timezone.localdate()
    cert = services.certificate_issue(person=person, org=world.wuyuan, start=today - dt.timedelta(days=30), end=today,
                                      actor=world.wuyuan_admin)
    assert cert.minutes == 90 and cert.activity_count == 1 and cert.entries[0][0] == att.pk
    assert len(cert.code) == 12
    code = f"{cert.code[:4]}-{cert.code[4:8]} {cert.code[8:].lower()}"
    assert services.certificate_find(code) == cert
    assert services.certificate_find("ABCDEFGHJKLM") is None and services.certificate_find("") is None
    with pytest.raises(Exception):  # certificates are append-only
        cert.delete()
    # another organisation's subtree holds none of these hours
    with pytest.raises(ValidationError, match="没有已认定"):
        services.certificate_issue(person=person, org=world.qinshan, start=today - dt.timedelta(days=30), end=today, actor=None)
    with pytest.raises(ValidationError):
        services.certificate_issue(person=person, org=world.wuyuan, start=today, end=today - dt.timedelta(days=1), actor=None)
    assert Certificate.objects.count() == 1


# ---- figures ----------------------------------------------------------------------------------------------------


def test_lesson_attendance_rate_counts_members_the_lessons_were_for(world, make_activity):
    from xianfeng.core.rates import org_rates
    from xianfeng.events.figures import figures_for, member_lessons

    extra = make_member("赵六", world.hebin_branch)  # hebin branch: 张建国, 李秀英, 赵六
    lesson = make_activity(kind=ActivityKind.LESSON, org=world.hebin_branch, title="党课一")
    county_lesson = make_activity(kind=ActivityKind.LESSON, org=world.county, title="县委党课")
    for person in (world.members["hebin_a"].person, extra.person):
        services.attendance_check_in(activity=lesson, person=person, method="rotating_qr", actor=None)
    services.attendance_check_in(activity=county_lesson, person=world.members["qinshan_a"].person, method="rotating_qr", actor=None)
    # a visitor from Qinshan at the Hebin lesson is recorded but is not in the rate
    services.attendance_check_in(activity=lesson, person=world.members["qinshan_a"].person, method="manual",
                                 actor=world.hebin_secretary)
    rate = org_rates()["events.lesson_attendance"]
    result = rate.compute([world.hebin, world.qinshan, world.county])
    assert result[world.hebin.pk] == (2, 6)  # 3 members × (branch lesson + county lesson)
    assert result[world.qinshan.pk] == (1, 1)
    assert result[world.county.pk] == (3, 3 + 4)  # branch lesson: 3 expected; county lesson: all 4 members
    rows = {r.person.name: r for r in member_lessons(world.hebin)}
    assert (rows["李秀英"].expected, rows["李秀英"].attended, rows["李秀英"].missed) == (2, 0, 2)
    assert (rows["张建国"].expected, rows["张建国"].attended) == (2, 1)
    assert member_lessons(world.hebin)[0].person.name == "李秀英"  # most missed first
    assert [r.person.name for r in member_lessons(world.hebin, only_missed=True)] == ["李秀英", "张建国", "赵六"]
    figs = {f.org: f for f in figures_for([world.county, world.hebin, world.qinshan])}
    assert figs[world.county].lessons == 2 and figs[world.county].lesson_attendances == 4
    assert figs[world.hebin].lessons == 1 and figs[world.qinshan].lessons == 0


def test_team_figures_count_people_once(world, make_activity):
    from xianfeng.events.figures import figures_for

    team = services.team_create(org=world.hebin, name="河滨志愿队", leader=world.members["hebin_a"].person, actor=None)
    services.team_invite(team=team, person=world.members["hebin_b"].person, actor=None)
    services.team_invitation_answer(membership=TeamMember.objects.get(person=world.members["hebin_b"].person),
                                    accept=True, actor=None)
    volunteer = make_person("群众志愿者")
    one = make_activity(team=team)
    two = make_activity(team=team, title="第二次")
    for act in (one, two):
        services.attendance_check_in(activity=act, person=world.members["hebin_a"].person, method="manual",
                                     actor=world.hebin_secretary)
    services.attendance_check_in(activity=two, person=volunteer, method="manual", actor=world.hebin_secretary)
    fig = figures_for([world.wuyuan])[0]
    assert (fig.teams, fig.team_members, fig.team_activities, fig.participants) == (1, 2, 2, 2)


# ---- editing ----------------------------------------------------------------------------------------------------


def test_an_update_is_checked_like_a_creation_and_changes_nothing_when_refused(world, make_activity):
    activity = make_activity(start_in=dt.timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        services.activity_update(activity=activity, ends_at=activity.starts_at, audience=Audience.TEAM, title=" ", actor=None)
    assert {"ends_at", "team", "title"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        services.activity_update(activity=activity, kind=ActivityKind.LESSON, actor=None)
    assert "kind" in exc.value.message_dict
    activity.refresh_from_db()
    assert (activity.title, activity.audience, activity.kind) == ("河滨社区志愿服务", "subtree", "service")
    services.activity_cancel(activity=activity, actor=None)
    with pytest.raises(ValidationError, match="已取消"):
        services.activity_update(activity=activity, place="别处", actor=None)


def test_more_places_promote_the_waiting_list_in_order(world, make_activity):
    activity = make_activity(start_in=dt.timedelta(days=1), capacity=1, audience=Audience.PUBLIC)
    people = [make_person(f"志愿者{i}") for i in range(4)]
    regs = [services.activity_signup(activity=activity, person=p, actor=None) for p in people]
    assert [r.status for r in regs] == ["registered"] + ["waitlisted"] * 3
    services.activity_update(activity=activity, capacity=3, actor=None)
    statuses = [Registration.objects.get(pk=r.pk).status for r in regs]
    assert statuses == ["registered", "registered", "registered", "waitlisted"]
    activity.refresh_from_db()
    assert activity.registered_count == 3
    services.activity_update(activity=activity, capacity=None, actor=None)  # no limit: everyone has a place
    assert Registration.objects.get(pk=regs[3].pk).status == "registered"


def test_a_stopped_team_takes_no_requests_and_leaves_the_figures(world):
    from xianfeng.events.figures import figures_for

    team = services.team_create(org=world.hebin, name="河滨队", leader=world.members["hebin_a"].person, actor=None)
    assert figures_for([world.hebin])[0].teams == 1
    services.team_deactivate(team=team, actor=world.hebin_secretary)
    with pytest.raises(ValidationError):
        services.team_deactivate(team=team, actor=None)
    with pytest.raises(ValidationError):
        services.team_request_join(team=team, person=world.members["hebin_b"].person, actor=None)
    with pytest.raises(ValidationError):
        services.team_update(team=team, name="新名", actor=None)
    assert figures_for([world.hebin])[0].teams == 0


# ---- parsers never fail with anything but a clear error ---------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
def test_any_scanned_text_is_a_code_or_a_clear_refusal(text):
    for read in (services.checkin_token_read, services.personal_code_read):
        try:
            read(text)
        except services.TokenError as exc:
            assert exc.messages and ("无效" in exc.messages[0] or "过期" in exc.messages[0])
    assert services.certificate_find(text) is None or len(text) >= 12


# ---- the policy checked by the services themselves ---------------------------------------------------------------


def test_services_refuse_an_actor_out_of_reach_before_writing(world, make_activity):
    from xianfeng.core.policy import NotAllowed, NotFound

    outsider = world.users["qinshan_secretary"]
    activity = make_activity()
    with pytest.raises(NotFound):
        services.activity_cancel(activity=activity, actor=outsider)
    with pytest.raises(NotFound):
        services.activity_create(org=world.hebin, kind=ActivityKind.SERVICE, title="越权活动",
                                 starts_at=activity.starts_at, ends_at=activity.ends_at, actor=outsider)
    with pytest.raises(NotFound):
        services.team_create(org=world.hebin, name="越权服务团", actor=outsider)
    someone = world.members["hebin_a"].person
    with pytest.raises(NotAllowed):  # one signs up oneself only
        services.activity_signup(activity=activity, person=someone, actor=world.hebin_secretary)
    activity.refresh_from_db()
    assert activity.status != "cancelled" and not Registration.objects.filter(activity=activity).exists()

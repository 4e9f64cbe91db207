"""Services: grids and lookups, the case lifecycle and each exception path, escalation by the worker, figures."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from xianfeng.core.models import AuditEvent
from xianfeng.grids import services
from xianfeng.grids.models import Case, CaseEvent, Grid, Status
from xianfeng.grids.rates import grids_on_time, grids_visit_coverage
from xianfeng.jobs.services import periodic_sync
from xianfeng.jobs.worker import Worker
from xianfeng.notify.models import Notification

from .conftest import FAR, LAT, LAT_B, LNG, LNG_B, square

S = Status


def open_case(gw, world, category=None, **kw):
    kw.setdefault("lat", LAT)
    kw.setdefault("lng", LNG)
    kw.setdefault("reporter", world.resident)
    return services.case_open(category=category or gw.quick, description="路面塌陷一米见方", actor=world.resident,
                              source=Case.Source.PORTAL, org=world.hebin, **kw)


# ---- grids ---------------------------------------------------------------------------------------------------------


def test_grid_code_is_the_community_code_plus_a_sequence(gw, world):
    assert gw.grid_a.code == "330424001001001" and gw.grid_b.code == "330424001001002"


def test_a_grid_belongs_to_a_village_or_community(world):
    with pytest.raises(ValidationError) as exc:
        services.grid_create(org=world.wuyuan, name="镇网格")
    assert "村或社区" in str(exc.value)


def test_point_in_polygon_finds_the_grid(gw):
    assert services.grid_locate(lat=LAT, lng=LNG) == (gw.grid_a, False)
    assert services.grid_locate(lat=LAT_B, lng=LNG_B) == (gw.grid_b, False)


def test_a_point_outside_every_grid_goes_to_the_default_grid_and_is_flagged(gw, world):
    grid, outside = services.grid_locate(lat=FAR[0], lng=FAR[1], fallback_org=world.hebin)
    assert outside and grid.is_default and grid.org == world.hebin
    case = open_case(gw, world, lat=FAR[0], lng=FAR[1])
    assert case.outside_grids and case.grid == grid


def test_the_index_sees_a_new_boundary(gw, world):
    assert services.grid_locate(lat=30.5325, lng=120.9425, fallback_org=world.hebin)[1] is True
    grid_c = services.grid_create(org=world.hebin, name="河滨三网格", boundary=square(120.940, 30.530))
    assert services.grid_locate(lat=30.5325, lng=120.9425) == (grid_c, False)


@pytest.mark.parametrize("boundary, reason", [
    ("not json", "不是有效的 JSON"),
    ({"type": "Point", "coordinates": [120.9, 30.5]}, "Polygon 或 MultiPolygon"),
    ({"type": "Polygon", "coordinates": [[[120.94, 30.52], [120.95, 30.53], [120.94, 30.53], [120.95, 30.52],
                                          [120.94, 30.52]]]}, "不是有效的多边形"),
    ({"type": "Polygon", "coordinates": [[[30.52, 120.94], [30.53, 120.94], [30.53, 120.95], [30.52, 120.94]]]},
     "超出经纬度范围"),
    ({"type": "Polygon", "coordinates": [[[120.94, 30.52], [120.95, 30.52], [120.94, 30.52]]]}, "不是有效的多边形"),
    ({"type": "Polygon", "coordinates": "abc"}, "坐标格式不正确"),
])
def test_an_invalid_boundary_is_refused_with_a_clear_reason(gw, boundary, reason):
    with pytest.raises(ValidationError) as exc:
        services.grid_set_boundary(grid=gw.grid_a, boundary=boundary)
    assert reason in exc.value.message_dict["boundary"][0]


def test_geojson_import_is_all_or_nothing_and_names_every_bad_feature(gw, world):
    good = {"type": "Feature", "properties": {"name": "河滨四网格"}, "geometry": square(120.950, 30.520)}
    bowtie = {"type": "Feature", "properties": {"name": "坏网格"}, "geometry": {"type": "Polygon", "coordinates": [
        [[120.94, 30.52], [120.95, 30.53], [120.94, 30.53], [120.95, 30.52], [120.94, 30.52]]]}}
    count = Grid.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.grids_import_geojson(org=world.hebin, data={"type": "FeatureCollection", "features": [good, bowtie]})
    assert "第2个要素（坏网格）" in exc.value.message_dict["file"][0]
    assert Grid.objects.count() == count
    update = {"type": "Feature", "properties": {"code": gw.grid_b.code}, "geometry": square(120.946, 30.520)}
    grids = services.grids_import_geojson(org=world.hebin, data={"type": "FeatureCollection",
                                                                 "features": [good, update]})
    assert [g.name for g in grids] == ["河滨四网格", "河滨二网格"]
    gw.grid_b.refresh_from_db()
    assert gw.grid_b.min_lng == pytest.approx(120.946)


# ---- the lifecycle -------------------------------------------------------------------------------------------------


def test_a_case_runs_its_whole_lifecycle_with_an_event_per_step(gw, world):
    case = open_case(gw, world)
    assert case.status == S.DISPATCHED and case.handling_unit == world.hebin and case.grid == gw.grid_a
    assert case.number.startswith(str(timezone.localdate().year))
    worker, secretary = world.grid_worker, world.hebin_secretary
    case = services.case_accept(case=case, actor=worker)
    assert case.handler == worker
    case = services.case_start(case=case, actor=worker)
    case = services.case_report_back(case=case, actor=worker, note="已修补")
    case = services.case_verify(case=case, actor=secretary, passed=True, note="现场查看已修好")
    case = services.case_close(case=case, actor=secretary, outcome=Case.Outcome.RESOLVED)
    assert case.status == S.CLOSED and case.closed_on_time is True and case.escalate_at is None
    case = services.case_rate(case=case, actor=world.resident, rating="satisfied")
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == ["open", "dispatch", "accept", "start", "report", "verify", "close", "rate"]
    assert Notification.objects.filter(recipient=world.resident, kind="grids.closed").exists()
    assert Notification.objects.filter(recipient=world.hebin_secretary, kind="grids.dispatched").exists()
    assert AuditEvent.objects.filter(model="grids.Case", object_id=str(case.pk)).count() >= 7


def test_the_catalogue_sends_a_case_to_its_default_unit(gw, world):
    case = open_case(gw, world, category=gw.health)
    assert case.handling_unit == world.health_bureau and case.org == world.hebin


@pytest.mark.parametrize("step", ["start", "report", "verify", "close", "resume", "reopen", "rate"])
def test_a_transition_out_of_order_is_refused_and_changes_nothing(gw, world, step):
    case = open_case(gw, world)
    events = case.events.count()
    calls = {
        "start": lambda: services.case_start(case=case, actor=world.grid_worker),
        "report": lambda: services.case_report_back(case=case, actor=world.grid_worker, note="x"),
        "verify": lambda: services.case_verify(case=case, actor=world.hebin_secretary, passed=True),
        "close": lambda: services.case_close(case=case, actor=world.hebin_secretary, outcome="resolved"),
        "resume": lambda: services.case_resume(case=case, actor=world.hebin_secretary),
        "reopen": lambda: services.case_reopen(case=case, actor=world.resident, reason="没修好"),
        "rate": lambda: services.case_rate(case=case, actor=world.resident, rating="satisfied"),
    }
    with pytest.raises(services.TransitionError) as exc:
        calls[step]()
    assert "已派遣" in str(exc.value)
    case.refresh_from_db()
    assert case.status == S.DISPATCHED and case.events.count() == events


def _to_reported(gw, world):
    case = open_case(gw, world)
    case = services.case_accept(case=case, actor=world.grid_worker)
    case = services.case_start(case=case, actor=world.grid_worker)
    return services.case_report_back(case=case, actor=world.grid_worker, note="处理完毕")


def test_the_handler_cannot_verify_his_own_work(gw, world):
    case = _to_reported(gw, world)
    with pytest.raises(services.TransitionError) as exc:
        services.case_verify(case=case, actor=world.grid_worker, passed=True)
    assert "承办人以外" in str(exc.value)


def test_a_failed_verification_goes_back_to_handling_with_its_reason(gw, world):
    case = _to_reported(gw, world)
    with pytest.raises(ValidationError):
        services.case_verify(case=case, actor=world.hebin_secretary, passed=False, note="")
    case = services.case_verify(case=case, actor=world.hebin_secretary, passed=False, note="坑还在")
    assert case.status == S.HANDLING and case.events.last().note == "坑还在"


def test_returned_cases_need_a_reason_and_wait_for_re_dispatch(gw, world):
    case = open_case(gw, world)
    with pytest.raises(ValidationError):
        services.case_return(case=case, actor=world.grid_worker, reason="  ")
    case = services.case_return(case=case, actor=world.grid_worker, reason="不属于本网格")
    assert case.status == S.RETURNED and case.handler is None
    case = services.case_dispatch(case=case, unit=world.health_bureau, actor=world.hebin_secretary)
    assert case.status == S.DISPATCHED and case.handling_unit == world.health_bureau


def test_suspension_stops_the_clock_and_resuming_extends_the_deadline(gw, world):
    case = open_case(gw, world)
    case = services.case_accept(case=case, actor=world.grid_worker)
    due = case.due_at
    t0 = timezone.now()
    with pytest.raises(ValidationError):
        services.case_suspend(case=case, actor=world.hebin_secretary, reason="")
    case = services.case_suspend(case=case, actor=world.hebin_secretary, reason="等待产权单位确认", now=t0)
    assert case.escalate_at is None and case.remind_at is None
    assert not Case.objects.overdue(due + dt.timedelta(days=30)).filter(pk=case.pk).exists()
    case = services.case_resume(case=case, actor=world.hebin_secretary, now=t0 + dt.timedelta(days=2))
    assert case.status == S.HANDLING and case.due_at == due + dt.timedelta(days=2)


def test_closing_keeps_outcomes_apart_and_not_ours_names_the_unit(gw, world):
    case = _to_reported(gw, world)
    case = services.case_verify(case=case, actor=world.hebin_secretary, passed=True)
    with pytest.raises(ValidationError) as exc:
        services.case_close(case=case, actor=world.hebin_secretary, outcome="not_ours", note="属卫生部门")
    assert "转办单位" in str(exc.value)
    with pytest.raises(ValidationError):
        services.case_close(case=case, actor=world.hebin_secretary, outcome="explained", note="")
    case = services.case_close(case=case, actor=world.hebin_secretary, outcome="not_ours", note="属卫生部门",
                               transferred_to=world.health_bureau)
    assert case.outcome == "not_ours" and case.transferred_to == world.health_bureau


def test_late_closure_is_not_on_time(gw, world):
    case = _to_reported(gw, world)
    case = services.case_verify(case=case, actor=world.hebin_secretary, passed=True)
    case = services.case_close(case=case, actor=world.hebin_secretary, outcome="resolved",
                               now=case.due_at + dt.timedelta(minutes=1))
    assert case.closed_on_time is False


def _closed(gw, world):
    case = services.case_verify(case=_to_reported(gw, world), actor=world.hebin_secretary, passed=True)
    return services.case_close(case=case, actor=world.hebin_secretary, outcome="resolved")


def test_only_the_reporter_reopens_and_only_within_thirty_days(gw, world):
    case = _closed(gw, world)
    with pytest.raises(services.TransitionError):
        services.case_reopen(case=case, actor=world.resident2, reason="我也觉得没修好")
    with pytest.raises(services.TransitionError) as exc:
        services.case_reopen(case=case, actor=world.resident, reason="没修好", now=case.closed_at + dt.timedelta(days=31))
    assert "30天" in str(exc.value)
    case = services.case_reopen(case=case, actor=world.resident, reason="又塌了")
    assert case.status == S.REOPENED and case.reopen_count == 1 and case.outcome == ""
    case = services.case_dispatch(case=case, unit=world.hebin, actor=world.hebin_secretary)
    assert case.status == S.DISPATCHED


def test_a_case_is_rated_once_by_its_reporter(gw, world):
    case = _closed(gw, world)
    with pytest.raises(services.TransitionError):
        services.case_rate(case=case, actor=world.resident2, rating="satisfied")
    with pytest.raises(ValidationError):
        services.case_rate(case=case, actor=world.resident, rating="great")
    services.case_rate(case=case, actor=world.resident, rating="basic")
    with pytest.raises(services.TransitionError):
        services.case_rate(case=case, actor=world.resident, rating="unsatisfied")
    case.refresh_from_db()
    assert case.rating == "basic"


def test_duplicates_are_suggested_merged_and_follow_the_original(gw, world):
    original = open_case(gw, world)
    nearby = open_case(gw, world, lat=LAT + 0.0005, lng=LNG, reporter=world.resident2)
    found = services.case_duplicates(category=gw.quick, lat=LAT + 0.0005, lng=LNG, exclude=nearby)
    assert [c for c, _ in found] == [original] and 50 < found[0][1] < 60
    assert services.case_duplicates(category=gw.same_day, lat=LAT, lng=LNG) == []
    with pytest.raises(services.TransitionError):
        services.case_merge(case=original, into=original, actor=world.hebin_secretary)
    dup = services.case_merge(case=nearby, into=original, actor=world.hebin_secretary)
    assert dup.status == S.MERGED and dup.merged_into == original and dup.escalate_at is None
    assert original.events.filter(kind="duplicate").exists()
    with pytest.raises(services.TransitionError):
        services.case_merge(case=open_case(gw, world), into=dup, actor=world.hebin_secretary)
    services.case_verify(case=services.case_report_back(case=services.case_start(
        case=services.case_accept(case=original, actor=world.grid_worker), actor=world.grid_worker), actor=world.grid_worker,
        note="修好"), actor=world.hebin_secretary, passed=True)
    services.case_close(case=original, actor=world.hebin_secretary, outcome="resolved")
    assert Notification.objects.filter(recipient=world.resident2, kind="grids.closed").exists()


def test_intake_needs_a_location_and_a_description(gw, world):
    with pytest.raises(ValidationError) as exc:
        services.case_open(category=gw.quick, description="", actor=None, source="staff", org=world.hebin)
    assert set(exc.value.message_dict) == {"description", "location"}
    with pytest.raises(ValidationError):
        services.case_open(category=gw.quick, description="x", actor=None, source="staff", lat=95, lng=120)
    case = services.case_open(category=gw.quick, description="门口路灯坏了", actor=None, source="staff",
                              org=world.hebin, address="河滨路8号")
    assert case.grid.is_default and not case.outside_grids


# ---- escalation ----------------------------------------------------------------------------------------------------


def run_worker():
    periodic_sync()
    return Worker(worker_id="test", exit_when_idle=True, sync_periodic=False, heartbeat_thread=False).run()


def test_escalation_rises_a_level_at_a_time_up_to_the_county_department(gw, world):
    t0 = timezone.now() - dt.timedelta(days=40)
    case = open_case(gw, world, category=gw.health, now=t0)  # dispatched to the health bureau, never accepted
    assert case.escalate_at == case.accept_due_at
    levels = []
    now = case.accept_due_at
    for _ in range(4):
        now += dt.timedelta(seconds=1)
        services.escalation_sweep(now=now)
        case.refresh_from_db()
        levels.append(case.escalation_level)
        if case.escalate_at:
            now = case.escalate_at
    assert levels == [1, 2, 3, 3]
    units = list(case.events.filter(kind="escalate").values_list("unit__name", "level"))
    assert units == [("河滨社区", 1), ("武原镇", 2), ("县卫生局", 3)]
    assert case.escalate_at is None  # at the top: it stays on the overdue board, no more steps
    assert Notification.objects.filter(recipient=world.hebin_secretary, kind="grids.escalated").exists()
    assert Notification.objects.filter(recipient=world.health_officer, kind="grids.escalated").exists()


def test_the_worker_reminds_and_escalates_overdue_cases_once(gw, world):
    t0 = timezone.now() - dt.timedelta(days=30)
    late = open_case(gw, world, now=t0)
    late = services.case_accept(case=late, actor=world.grid_worker, now=t0 + dt.timedelta(hours=1))
    fresh = open_case(gw, world)
    run_worker()
    run_worker()  # a second run changes nothing more
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.escalation_level == 1 and fresh.escalation_level == 0
    assert list(late.events.filter(kind__in=["remind", "escalate"]).values_list("kind", flat=True)) == [
        "remind", "escalate"]
    assert Notification.objects.filter(recipient=world.grid_worker, kind="grids.reminder").count() == 1
    assert Notification.objects.filter(recipient=world.hebin_secretary, kind="grids.escalated").count() == 1


def test_suspended_and_closed_cases_do_not_escalate(gw, world):
    t0 = timezone.now() - dt.timedelta(days=30)
    case = services.case_accept(case=open_case(gw, world, now=t0), actor=world.grid_worker, now=t0)
    services.case_suspend(case=case, actor=world.hebin_secretary, reason="等待", now=t0)
    assert services.escalation_sweep()["escalated"] == 0


# ---- visits and figures --------------------------------------------------------------------------------------------


def test_visit_coverage_and_the_unvisited(gw, world):
    today = timezone.localdate()
    services.visit_record(household=gw.household, date=today - dt.timedelta(days=40), notes="拉家常",
                          actor=world.grid_worker)
    assert services.visit_coverage([gw.grid_a.pk], days=30)[gw.grid_a.pk] == (0, 2)
    assert services.visit_coverage([gw.grid_a.pk], days=90)[gw.grid_a.pk] == (1, 2)
    assert [h.number for h in services.unvisited_households(gw.grid_a, days=90)] == ["H002"]
    with pytest.raises(ValidationError):
        services.visit_record(household=gw.household, date=today + dt.timedelta(days=1), notes="x", actor=world.grid_worker)


def test_a_visit_that_finds_a_problem_opens_a_case_in_one_step(gw, world):
    visit = services.visit_record(household=gw.household, date=timezone.localdate(), notes="老人反映楼道灯坏",
                                  actor=world.grid_worker,
                                  problem={"category": gw.quick, "description": "楼道灯坏了"})
    assert visit.case.source == "visit" and visit.case.grid == gw.grid_a and visit.case.status == S.DISPATCHED


def test_a_visit_with_a_bad_problem_records_nothing(gw, world):
    from xianfeng.grids.models import Visit

    with pytest.raises(ValidationError):
        services.visit_record(household=gw.household, date=timezone.localdate(), notes="走访", actor=world.grid_worker,
                              problem={"category": gw.quick, "description": ""})
    assert not Visit.objects.exists()


def test_on_time_rate_excludes_suspended_cases(gw, world):
    t0 = timezone.now() - dt.timedelta(days=40)
    on_time = _closed(gw, world)
    Case.objects.filter(pk=on_time.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    late = open_case(gw, world, now=t0)  # overdue, still open: due, not closed on time
    suspended = services.case_accept(case=open_case(gw, world, now=t0), actor=world.grid_worker, now=t0)
    services.case_suspend(case=suspended, actor=world.hebin_secretary, reason="等待", now=t0)
    rates = grids_on_time([world.county, world.hebin, world.qinshan_village])
    assert rates[world.hebin.pk] == (1, 2) and rates[world.county.pk] == (1, 2)
    assert world.qinshan_village.pk not in rates
    assert late.pk


def test_visit_coverage_rate_rolls_up_the_tree(gw, world):
    services.visit_record(household=gw.household, date=timezone.localdate(), notes="走访", actor=world.grid_worker)
    rates = grids_visit_coverage([world.county, world.wuyuan, world.hebin])
    assert rates[world.county.pk] == rates[world.hebin.pk] == (1, 2)


def test_case_events_are_append_only(gw, world):
    from xianfeng.core.models import AppendOnlyError

    event = open_case(gw, world).events.first()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        CaseEvent.objects.first().delete()


def test_a_visit_that_finds_a_need_records_a_demand(gw, world):
    from xianfeng.demands.models import Demand

    visit = services.visit_record(household=gw.household, date=timezone.localdate(), notes="独居老人需要助餐",
                                  actor=world.grid_worker, need={"category": "助老", "description": "每天送午餐"})
    demand = Demand.objects.get(pk=visit.demand_id)
    assert demand.org == world.hebin and demand.household == "H001" and demand.category == "助老"


def test_a_visit_with_a_bad_need_records_nothing(gw, world):
    from xianfeng.grids.models import Visit

    with pytest.raises(ValidationError):
        services.visit_record(household=gw.household, date=timezone.localdate(), notes="走访", actor=world.grid_worker,
                              need={"category": "不存在", "description": "x"})
    assert not Visit.objects.exists()


def test_the_import_command_reports_every_bad_feature_and_imports_nothing(gw, world, tmp_path):
    import json

    from django.core.management import CommandError, call_command

    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "新网格"}, "geometry": square(120.95, 30.52)},
        {"type": "Feature", "properties": {"name": "坏"}, "geometry": {"type": "LineString", "coordinates": []}}]}))
    count = Grid.objects.count()
    with pytest.raises(CommandError) as exc:
        call_command("grids_import", world.hebin.code, str(path))
    assert "第2个要素（坏）" in str(exc.value) and Grid.objects.count() == count

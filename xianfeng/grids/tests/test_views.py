"""Pages through HTTP: the lifecycle and its exception paths, intake with photo and location, visits, scope."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from xianfeng.grids import services
from xianfeng.grids.models import Case, Status, Visit

from .conftest import LAT, LNG


def png() -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return SimpleUploadedFile("pothole.png", buf.getvalue(), content_type="image/png")


def act(client, case, action, **data):
    return client.post(reverse("grids:case_act", args=[case.pk, action]), data)


def report(client, gw, **data):
    payload = {"category": gw.quick.pk, "description": "小区门口路面塌陷", "latitude": LAT, "longitude": LNG}
    payload.update(data)
    return client.post(reverse("grids:report"), payload)


def test_the_whole_lifecycle_through_http(gw, world, client_for, settings, tmp_path):
    settings.GRIDS_PHOTO_DIR = tmp_path
    resident, worker, secretary = client_for("resident"), client_for("grid_worker"), client_for("hebin_secretary")
    assert resident.get(reverse("grids:report")).status_code == 200
    response = report(resident, gw, photo=png())
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("grids:case_detail", args=[case.pk])
    assert case.photo.name.endswith(".png") and case.grid == gw.grid_a and case.status == Status.DISPATCHED
    assert case.reporter == world.resident
    for action in ("accept", "start"):
        assert act(worker, case, action).status_code == 302
    assert act(worker, case, "report", note="已回填修复").status_code == 302
    html = secretary.get(reverse("grids:case_detail", args=[case.pk])).content.decode()
    assert "核查通过" in html and "退回处置" in html
    assert act(secretary, case, "verify", note="已查看").status_code == 302
    assert act(secretary, case, "close", outcome="resolved").status_code == 302
    assert act(resident, case, "rate", rating="satisfied", note="很快").status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.rating == "satisfied"
    html = resident.get(reverse("grids:case_detail", args=[case.pk])).content.decode()
    assert "满意" in html and "已结案" in html
    assert case.number in resident.get(reverse("grids:my_cases")).content.decode()


def test_a_transition_out_of_order_answers_400_with_the_reason(gw, world, client_for):
    report(client_for("resident"), gw)
    case = Case.objects.get()
    response = act(client_for("hebin_secretary"), case, "close", outcome="resolved")
    assert response.status_code == 400
    assert "已派遣" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED


@pytest.mark.parametrize("action, data, reason", [
    ("return", {"reason": ""}, "不能为空"),
    ("suspend", {"reason": ""}, "不能为空"),
])
def test_each_exception_path_needs_its_reason(gw, world, client_for, action, data, reason):
    report(client_for("resident"), gw)
    case = Case.objects.get()
    worker = client_for("grid_worker")
    act(worker, case, "accept")
    response = act(client_for("hebin_secretary"), case, action, **data)
    assert response.status_code == 400 and reason in response.content.decode()


def test_exception_paths_through_http(gw, world, client_for):
    resident, worker, secretary = client_for("resident"), client_for("grid_worker"), client_for("hebin_secretary")
    report(resident, gw)
    case = Case.objects.get()
    assert act(worker, case, "return", reason="非本网格事项").status_code == 302
    assert act(secretary, case, "dispatch", unit=world.hebin.pk).status_code == 302
    act(worker, case, "accept")
    assert act(secretary, case, "suspend", reason="等待物业").status_code == 302
    assert act(secretary, case, "resume").status_code == 302
    act(worker, case, "report", note="x")  # handling → reported
    case.refresh_from_db()
    assert case.status == Status.REPORTED
    assert act(secretary, case, "reject", note="未修好").status_code == 302
    act(worker, case, "report", note="再次修复")
    act(secretary, case, "verify")
    assert act(secretary, case, "close", outcome="not_ours", note="属卫生", transferred_to=world.health_bureau.pk
               ).status_code == 302
    assert act(resident, case, "reopen", reason="依旧没解决").status_code == 302
    case.refresh_from_db()
    assert case.status == Status.REOPENED and case.reopen_count == 1
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == ["open", "dispatch", "return", "dispatch", "accept", "suspend", "resume", "report", "reject",
                     "report", "verify", "close", "reopen"]


def test_merging_a_duplicate_through_http(gw, world, client_for):
    report(client_for("resident"), gw)
    report(client_for("resident2"), gw, latitude=LAT + 0.0003)
    original, dup = Case.objects.order_by("id")
    html = client_for("hebin_secretary").get(reverse("grids:case_detail", args=[dup.pk])).content.decode()
    assert original.number in html  # suggested
    assert act(client_for("hebin_secretary"), dup, "merge", into=original.number).status_code == 302
    dup.refresh_from_db()
    assert dup.status == Status.MERGED and dup.merged_into == original


def test_similar_cases_are_suggested_while_reporting(gw, world, client_for):
    report(client_for("resident"), gw)
    html = client_for("resident2").get(reverse("grids:case_similar"), {
        "category": gw.quick.pk, "latitude": LAT + 0.0002, "longitude": LNG}).content.decode()
    assert Case.objects.get().number in html
    assert client_for("resident2").get(reverse("grids:case_similar"), {"category": "x"}).status_code == 200


def test_the_handler_cannot_verify_through_http(gw, world, client_for):
    report(client_for("resident"), gw)
    case = Case.objects.get()
    secretary = client_for("hebin_secretary")
    for action in ("accept", "start"):
        act(secretary, case, action)
    act(secretary, case, "report", note="自己修好了")
    response = act(secretary, case, "verify")
    assert response.status_code == 400 and "承办人以外" in response.content.decode()


def test_a_photo_that_is_not_an_image_is_a_field_error(gw, world, client_for):
    fake = SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg")
    response = report(client_for("resident"), gw, photo=fake)
    assert response.status_code == 400 and response.context["form"].errors["photo"]
    assert not Case.objects.exists()


def test_a_report_needs_a_place(gw, world, client_for):
    response = report(client_for("resident"), gw, latitude="", longitude="")
    assert response.status_code == 400 and "地图" in response.content.decode()
    response = report(client_for("resident"), gw, latitude="", longitude="", address="河滨路3号")
    assert response.status_code == 302 and Case.objects.get().grid.is_default


def test_a_worker_opens_a_case_for_a_resident(gw, world, client_for):
    client = client_for("grid_worker")
    assert client.get(reverse("grids:case_new")).status_code == 200
    response = client.post(reverse("grids:case_new"), {
        "org": world.hebin.pk, "category": gw.same_day.pk, "description": "燃气味很重", "address": "河滨路5号",
        "reporter_name": "陈大伯", "reporter_phone": "13805730000"})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.source == "staff" and case.reporter_phone == "13805730000"
    response = client.post(reverse("grids:case_new"), {"org": world.qinshan_village.pk, "category": gw.quick.pk,
                                                       "description": "x", "address": "y"})
    assert response.status_code == 400  # an organisation outside the worker's scope is not a choice


def test_a_visit_in_one_tap_opens_a_case(gw, world, client_for):
    client = client_for("grid_worker")
    url = reverse("grids:visit_new", args=[gw.household.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"date": "2020-01-01", "notes": "x"})
    assert response.status_code == 400
    response = client.post(url, {"date": services.timezone.localdate().isoformat(), "notes": "了解近况",
                                 "problem_found": "on", "problem_category": gw.quick.pk,
                                 "problem_description": "门前排水沟堵塞"})
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.case.description == "门前排水沟堵塞"
    html = client.get(reverse("grids:grid_detail", args=[gw.grid_a.pk])).content.decode()
    assert "H002" in html  # still unvisited


@pytest.mark.parametrize("name", ["grid_list", "team_list", "case_list", "overdue", "map", "map_data", "figures",
                                  "case_new"])
def test_pages_render_for_staff(gw, world, client_for, name):
    report(client_for("resident"), gw)
    assert client_for("hebin_secretary").get(reverse(f"grids:{name}")).status_code == 200


def test_map_data_has_polygons_and_open_case_points(gw, world, client_for):
    report(client_for("resident"), gw)
    data = client_for("grid_worker").get(reverse("grids:map_data")).json()
    kinds = sorted(f["properties"]["kind"] for f in data["features"])
    assert kinds == ["case", "grid", "grid"]


def test_figures_show_each_rate_with_its_denominator(gw, world, client_for):
    services.visit_record(household=gw.household, date=services.timezone.localdate(), notes="走访",
                          actor=world.grid_worker)
    response = client_for("wuyuan_admin").get(reverse("grids:figures"), {"org": world.wuyuan.pk})
    html = response.content.decode()
    assert "50.0%" in html and "1/2" in html


def test_case_list_counts_queries(gw, world, client_for, django_assert_max_num_queries):
    for _ in range(5):
        report(client_for("resident"), gw)
    client = client_for("hebin_secretary")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("grids:case_list"))
    assert len(response.context["page"]["rows"]) == 5
    assert "5 " in response.content.decode()  # the count


def test_the_case_list_pages_by_keyset_both_ways(gw, world, client_for, monkeypatch):
    from xianfeng.grids import views

    for _ in range(5):
        report(client_for("resident"), gw)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    numbers = list(Case.objects.order_by("-created_at", "-id").values_list("number", flat=True))
    client = client_for("hebin_secretary")
    url = reverse("grids:case_list")
    seen, page, pages = [], client.get(url).context["page"], []
    while True:
        pages.append(page)
        seen += [r["number"] for r in page["rows"]]
        if not page["next"]:
            break
        page = client.get(url, {"after": page["next"]}).context["page"]
    assert seen == numbers and [len(p["rows"]) for p in pages] == [2, 2, 1]
    back = client.get(url, {"before": pages[2]["prev"]}).context["page"]
    assert [r["number"] for r in back["rows"]] == numbers[2:4] and back["next"] and back["prev"]
    first = client.get(url, {"before": back["prev"]}).context["page"]
    assert [r["number"] for r in first["rows"]] == numbers[:2] and first["prev"] is None
    assert client.get(url, {"after": "garbage"}).status_code == 200  # a bad cursor reads as the first page
    html = client.get(url, {"after": pages[0]["next"]}).content.decode()
    assert 'rel="next"' in html and 'rel="prev"' in html


def test_the_count_is_capped_rather_than_scanning(gw, world, client_for, monkeypatch):
    from xianfeng.grids import views

    for _ in range(3):
        report(client_for("resident"), gw)
    monkeypatch.setattr(views, "COUNT_CAP", 2)
    response = client_for("hebin_secretary").get(reverse("grids:case_list"))
    assert response.context["count"] == 2 and response.context["count_more"]


# ---- scope --------------------------------------------------------------------------------------------------------


def test_outsiders_get_404_everywhere(gw, world, client_for):
    report(client_for("resident"), gw)
    case = Case.objects.get()
    outsider = client_for("qinshan_secretary")
    assert outsider.get(reverse("grids:case_detail", args=[case.pk])).status_code == 404
    assert act(outsider, case, "accept").status_code == 404
    assert act(outsider, case, "close", outcome="resolved").status_code == 404
    assert outsider.get(reverse("grids:grid_detail", args=[gw.grid_a.pk])).status_code == 404
    assert outsider.get(reverse("grids:visit_new", args=[gw.household.pk])).status_code == 404
    assert case.number not in outsider.get(reverse("grids:case_list")).content.decode()
    assert outsider.get(reverse("grids:map_data")).json()["features"] == []
    assert outsider.get(reverse("grids:case_detail", args=[999999])).status_code == 404
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED


def test_another_resident_gets_404_and_cannot_rate(gw, world, client_for):
    report(client_for("resident"), gw)
    case = Case.objects.get()
    other = client_for("resident2")
    assert other.get(reverse("grids:case_detail", args=[case.pk])).status_code == 404
    assert act(other, case, "rate", rating="unsatisfied").status_code == 404
    assert other.get(reverse("grids:case_list")).status_code == 404
    assert other.get(reverse("grids:figures")).status_code == 404


def test_a_grid_worker_handles_but_does_not_verify_or_close(gw, world, client_for):
    report(client_for("resident"), gw)
    case = Case.objects.get()
    worker = client_for("grid_worker")
    act(worker, case, "accept")
    act(worker, case, "start")
    act(worker, case, "report", note="好了")
    assert act(worker, case, "verify").status_code == 404
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_a_county_department_sees_cases_dispatched_to_it(gw, world, client_for):
    report(client_for("resident"), gw, category=gw.health.pk)
    case = Case.objects.get()
    officer = client_for("health_officer")
    assert officer.get(reverse("grids:case_detail", args=[case.pk])).status_code == 200
    assert act(officer, case, "accept").status_code == 302


# ---- photos --------------------------------------------------------------------------------------------------------


def test_a_photo_is_served_only_to_those_who_may_see_the_case(gw, world, client, client_for, settings):
    report(client_for("resident"), gw, photo=png())
    case = Case.objects.get()
    url = reverse("grids:case_photo", args=[case.pk])
    assert url in client_for("resident").get(reverse("grids:case_detail", args=[case.pk])).content.decode()
    for who in ("resident", "grid_worker", "hebin_secretary", "wuyuan_admin"):
        response = client_for(who).get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    for who in ("qinshan_secretary", "resident2", "health_officer"):
        assert client_for(who).get(url).status_code == 404
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    # stored outside MEDIA_ROOT, under the private photo folder
    assert str(settings.GRIDS_PHOTO_DIR) in case.photo.path
    assert not str(case.photo.path).startswith(str(settings.MEDIA_ROOT))


def test_a_case_without_a_photo_answers_404_for_its_photo(gw, world, client_for):
    report(client_for("resident"), gw)
    case = Case.objects.get()
    assert client_for("hebin_secretary").get(reverse("grids:case_photo", args=[case.pk])).status_code == 404
    assert client_for("hebin_secretary").get(reverse("grids:case_photo", args=[99999])).status_code == 404


# ---- figures, teams, households ------------------------------------------------------------------------------------


def _closed_case(gw, world, *, on_time=True, rating=None):
    import datetime as dt

    from django.utils import timezone

    t0 = timezone.now() - dt.timedelta(days=20)
    case = services.case_open(category=gw.quick, description="路灯不亮", actor=world.resident, source="portal",
                              org=world.hebin, lat=LAT, lng=LNG, reporter=world.resident, now=t0)
    for step in (services.case_accept, services.case_start):
        case = step(case=case, actor=world.grid_worker, now=t0)
    case = services.case_report_back(case=case, actor=world.grid_worker, note="已修", now=t0)
    case = services.case_verify(case=case, actor=world.hebin_secretary, passed=True, now=t0)
    done = t0 + (dt.timedelta(hours=1) if on_time else dt.timedelta(days=15))
    case = services.case_close(case=case, actor=world.hebin_secretary, outcome="resolved", now=done)
    if rating:
        services.case_rate(case=case, actor=world.resident, rating=rating, now=done)
    return case


def test_each_figure_drills_down_to_the_cases_behind_it(gw, world, client_for):
    import re

    on_time = _closed_case(gw, world, rating="satisfied")
    late = _closed_case(gw, world, on_time=False, rating="unsatisfied")
    report(client_for("resident"), gw)  # open, not yet due
    client = client_for("wuyuan_admin")
    html = client.get(reverse("grids:figures"), {"org": world.wuyuan.pk}).content.decode()
    found = re.findall(r'href="([^"]*figure=on_time&(?:amp;)?part=(x|n)&(?:amp;)?within='
                       + str(world.wuyuan.pk) + r'&[^"]*)"', html)
    links = {part: url.replace("&amp;", "&") for url, part in found}
    assert set(links) == {"x", "n"}
    numbers = {part: [r["number"] for r in client.get(url).context["page"]["rows"]] for part, url in links.items()}
    assert numbers == {"x": [on_time.number], "n": [late.number, on_time.number]}
    for figure, x, n in (("closure", 2, 3), ("satisfaction", 1, 2), ("reopen", 0, 2)):
        for part, expected in (("x", x), ("n", n)):
            page = client.get(reverse("grids:case_list"), {"figure": figure, "part": part,
                                                           "within": world.wuyuan.pk}).context
            assert page["count"] == expected, (figure, part)
    assert "50.0%" in html  # on time: 1 of the 2 that fell due


def test_the_figures_page_shows_the_reports_grid_totals(gw, world, client_for):
    team = services.team_create(org=world.hebin, name="河滨一组团", grids=[gw.grid_a, gw.grid_b])
    services.team_seat_add(team=team, person=world.members["hebin_a"].person, role="leader")
    other = services.team_create(org=world.hebin, name="河滨二组团", grids=[gw.grid_b])
    services.team_seat_add(team=other, person=world.members["hebin_a"].person, role="grid_worker")
    services.team_seat_add(team=other, person=world.members["hebin_b"].person, role="department",
                           department=world.health_bureau)
    response = client_for("wuyuan_admin").get(reverse("grids:figures"), {"org": world.wuyuan.pk})
    totals = response.context["totals"]
    assert totals == {"grids": 2, "teams": 2, "cadres": 2, "households": 2, "vulnerable": 1, "residents": 1}
    outsider = client_for("qinshan_secretary").get(reverse("grids:figures"), {"org": world.wuyuan.pk})
    assert outsider.context["totals"]["grids"] == 0  # another town's figures are not offered


def test_a_team_page_lists_grids_and_cadres_with_roles(gw, world, client_for):
    team = services.team_create(org=world.hebin, name="河滨一组团", grids=[gw.grid_a])
    services.team_seat_add(team=team, person=world.members["hebin_a"].person, role="leader")
    services.team_seat_add(team=team, person=world.members["hebin_b"].person, role="department",
                           department=world.health_bureau)
    other = services.team_create(org=world.hebin, name="河滨四区联动组团", grids=[gw.grid_b])
    services.team_seat_add(team=other, person=world.members["hebin_b"].person, role="department",
                           department=world.health_bureau)
    url = reverse("grids:team_detail", args=[team.pk])
    html = client_for("grid_worker").get(url).content.decode()
    assert "组团长" in html and "部门联络干部" in html and "县卫生局" in html and "河滨四区联动组团" in html
    assert gw.grid_a.name in html
    assert client_for("qinshan_secretary").get(url).status_code == 404
    assert client_for("resident").get(url).status_code == 404
    assert "河滨一组团" in client_for("grid_worker").get(reverse("grids:team_list")).content.decode()


def test_vulnerable_households_are_flagged_and_filtered(gw, world, client_for):
    url = reverse("grids:grid_detail", args=[gw.grid_a.pk])
    client = client_for("grid_worker")
    html = client.get(url, {"vulnerable": "1"}).content.decode()
    assert "独居老人" in html and "H001" in html
    assert len(client.get(url, {"vulnerable": "1"}).context["page"]) == 1
    assert len(client.get(url).context["page"]) == 2


def test_a_rating_note_keeps_its_full_width_punctuation(gw, world, client_for):
    case = _closed_case(gw, world)
    response = act(client_for("resident"), case, "rate", rating="satisfied", note="处理很快，谢谢网格员！")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.rating_note == "处理很快，谢谢网格员！"
    again = services.case_open(category=gw.quick, description="冬季党课：学习…路灯（东）不亮！", actor=world.resident,
                               source="portal", org=world.hebin, lat=LAT, lng=LNG, reporter=world.resident)
    assert again.description == "冬季党课：学习…路灯（东）不亮！"

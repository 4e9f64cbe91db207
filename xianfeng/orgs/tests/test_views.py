"""The organisation pages through HTTP, as the personas: scope, masking, the audited reveal, forms, query counts."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import make_member, make_person
from xianfeng.orgs import services
from xianfeng.orgs.models import ContactPoint, GuidanceVisit, Member, OrgKind

HTMX = {"HTTP_HX_REQUEST": "true"}
PERSONAS = ["county_admin", "wuyuan_admin", "hebin_secretary", "qinshan_secretary", "member", "resident", "inspector"]
MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")


@pytest.fixture
def extra(world):
    """A contact point on 河滨社区 with one visit, and a 武原镇 guidance group guiding it."""
    leader = make_person("沈明")
    cp = services.contact_point_create(leader=leader, org=world.hebin, kind=ContactPoint.Kind.VILLAGE,
                                       start=dt.date(2024, 1, 1), leader_title="镇党委书记")
    services.guidance_visit_record(contact_point=cp, date=dt.date(2024, 3, 5), notes="指导制定承诺清单",
                                   follow_ups="月底前公示", actor=world.county_admin)
    group = services.guidance_group_create(name="武原镇社区指导组", system="社区", org=world.wuyuan, leader=leader,
                                           units=[world.hebin], people=[leader])
    return type("Extra", (), {"cp": cp, "group": group, "leader": leader})


def wuyuan_pages(world, extra):
    """(name, method, url, data) for every page this module adds, pointed at Wuyuan objects."""
    hebin_a = world.members["hebin_a"]
    visit = {"date": "2024-04-01", "notes": "检查台账", "follow_ups": ""}
    return [
        ("tree", "get", reverse("orgs:tree"), None),
        ("tree_search", "get", reverse("orgs:tree") + "?q=河滨", None),
        ("children", "get", reverse("orgs:children", args=[world.wuyuan.pk]), None),
        ("org_detail", "get", reverse("orgs:org_detail", args=[world.hebin.pk]), None),
        ("member_list", "get", reverse("orgs:member_list"), None),
        ("member_detail", "get", reverse("orgs:member_detail", args=[hebin_a.pk]), None),
        ("member_unmask", "post", reverse("orgs:member_unmask", args=[hebin_a.pk]), {}),
        ("contact_point_list", "get", reverse("orgs:contact_point_list"), None),
        ("contact_point_detail", "get", reverse("orgs:contact_point_detail", args=[extra.cp.pk]), None),
        ("visit_record", "post", reverse("orgs:contact_point_detail", args=[extra.cp.pk]), visit),
        ("guidance_group_list", "get", reverse("orgs:guidance_group_list"), None),
    ]


OK, REDIRECT, MISSING = 200, 302, 404
# Expected status of every page for every persona. Lists answer 200 (with only what is in scope); Wuyuan objects
# answer 404 to anyone whose scope does not cover them; unmask and recording need more than "view".
EXPECTED = {
    #                      county  wuyuan  hebin   qinshan  member   resident inspector
    "tree":                (OK,     OK,     OK,     OK,      OK,      OK,      OK),
    "tree_search":         (OK,     OK,     OK,     OK,      OK,      OK,      OK),
    "children":            (OK,     OK,     MISSING, MISSING, MISSING, MISSING, OK),
    "org_detail":          (OK,     OK,     OK,     MISSING, MISSING, MISSING, OK),
    "member_list":         (OK,     OK,     OK,     OK,      OK,      OK,      OK),
    "member_detail":       (OK,     OK,     OK,     MISSING, MISSING, MISSING, OK),
    "member_unmask":       (OK,     OK,     OK,     MISSING, MISSING, MISSING, MISSING),
    "contact_point_list":  (OK,     OK,     OK,     OK,      OK,      OK,      OK),
    "contact_point_detail": (OK,    OK,     OK,     MISSING, MISSING, MISSING, OK),
    "visit_record":        (REDIRECT, REDIRECT, REDIRECT, MISSING, MISSING, MISSING, MISSING),
    "guidance_group_list": (OK,     OK,     OK,     OK,      OK,      OK,      OK),
}


def test_permission_matrix_every_persona_every_page(world, extra, client_for):
    assert {name for name, *_ in wuyuan_pages(world, extra)} == set(EXPECTED)
    failures = []
    for name, method, url, data in wuyuan_pages(world, extra):
        for persona, expected in zip(PERSONAS, EXPECTED[name], strict=True):
            client = client_for(persona)
            response = client.post(url, data) if method == "post" else client.get(url)
            if response.status_code != expected:
                failures.append(f"{persona} {name}: {response.status_code} (expected {expected})")
    assert not failures, failures


def test_anonymous_users_are_sent_to_sign_in_from_every_page(world, extra):
    client = Client()
    for name, method, url, data in wuyuan_pages(world, extra):
        response = client.post(url, data) if method == "post" else client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name
    assert not AuditEvent.objects.filter(action="unmask").exists()


@pytest.mark.parametrize("persona", ["qinshan_secretary", "member", "resident"])
def test_lists_show_outsiders_nothing_of_wuyuan(world, extra, client_for, persona):
    client = client_for(persona)
    for url in [reverse("orgs:tree"), reverse("orgs:tree") + "?q=河滨", reverse("orgs:member_list"),
                reverse("orgs:member_list") + "?org_q=河滨", reverse("orgs:contact_point_list"),
                reverse("orgs:guidance_group_list")]:
        content = client.get(url).content.decode()
        for name in ["武原镇", "河滨社区", "张建国", "李秀英", "沈明"]:
            assert name not in content, (url, name)


def test_outsider_gets_404_for_wuyuan_but_sees_own_village(world, client_for):
    client = client_for("qinshan_secretary")
    assert client.get(reverse("orgs:org_detail", args=[world.wuyuan.pk])).status_code == 404
    assert client.get(reverse("orgs:org_detail", args=[world.qinshan_village.pk])).status_code == 200
    own = world.members["qinshan_a"]
    assert client.get(reverse("orgs:member_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("orgs:member_detail", args=[999999])).status_code == 404


def test_out_of_scope_answers_exactly_like_missing(world, client_for):
    client = client_for("qinshan_secretary")
    out_of_scope = client.get(reverse("orgs:member_detail", args=[world.members["hebin_a"].pk]))
    missing = client.get(reverse("orgs:member_detail", args=[987654]))
    assert out_of_scope.status_code == missing.status_code == 404

    def without_tokens(response):  # CSRF tokens differ on every render; the language switch names the page
        return re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": |name="next" type="hidden" value=)"[^"]+"', "",
                      response.content.decode())

    assert without_tokens(out_of_scope) == without_tokens(missing)
    assert "页面不存在" in without_tokens(missing)


# --- tree ----------------------------------------------------------------------------------------------------------


def test_tree_shows_the_minimal_scope_roots_with_subtree_member_counts(world, client_for):
    response = client_for("county_admin").get(reverse("orgs:tree"))
    assert [n.name for n in response.context["nodes"]] == ["海盐县"]
    assert response.context["nodes"][0].member_count == 3

    response = client_for("wuyuan_admin").get(reverse("orgs:tree"))
    assert [(n.name, n.member_count) for n in response.context["nodes"]] == [("武原镇", 2)]


def test_tree_roots_are_only_the_top_of_overlapping_roles(world):
    user = services.user_create(username="two_roles", password="x-pass-12345")
    services.role_grant(user=user, kind="secretary", org=world.hebin)
    services.role_grant(user=user, kind="org_admin", org=world.wuyuan)
    services.role_grant(user=user, kind="secretary", org=world.qinshan_village)
    client = Client()
    client.force_login(user)
    nodes = client.get(reverse("orgs:tree")).context["nodes"]
    assert [n.name for n in nodes] == ["武原镇", "杨柳村"]


def test_children_partial_counts_each_subtree(world, client_for):
    response = client_for("county_admin").get(reverse("orgs:children", args=[world.county.pk]), **HTMX)
    counts = {n.name: n.member_count for n in response.context["nodes"]}
    assert counts == {"武原镇": 2, "秦山镇": 1, "县卫生局": 0}
    html = response.content.decode()
    assert "<html" not in html
    assert reverse("orgs:children", args=[world.wuyuan.pk]) in html  # 武原镇 has children: expandable
    assert reverse("orgs:children", args=[world.health_bureau.pk]) not in html  # a leaf


def test_members_transferred_out_are_not_counted(world, client_for):
    make_member("赵离", world.hebin_branch, status=Member.Status.LEFT)
    response = client_for("county_admin").get(reverse("orgs:children", args=[world.county.pk]))
    assert {n.name: n.member_count for n in response.context["nodes"]}["武原镇"] == 2


def test_children_cost_the_same_queries_however_many_there_are(world, client_for, django_assert_max_num_queries):
    client = client_for("county_admin")
    url = reverse("orgs:children", args=[world.wuyuan.pk])
    # 7: one of them reads the dual-managed members under the children (selectors.member_counts), once for all
    with django_assert_max_num_queries(7):
        client.get(url)
    for i in range(12):
        village = services.org_create(name=f"新村{i}", code=f"330424001{i + 100}", kind=OrgKind.VILLAGE,
                                      parent=world.wuyuan)
        make_member(f"新党员{i}", village)
    with django_assert_max_num_queries(7):
        response = client.get(url)
    assert len(response.context["nodes"]) == 13
    assert all(n.member_count == 1 for n in response.context["nodes"] if n.name.startswith("新村"))


def test_tree_search_by_name_code_and_initials_shows_full_names(world, client_for):
    client = client_for("county_admin")
    for q in ["河滨", "330424001001", "hbsq"]:
        response = client.get(reverse("orgs:tree"), {"q": q}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="org-search-results")
        html = response.content.decode()
        assert "<html" not in html, q
        assert "海盐县/武原镇/河滨社区" in html, q
    full = client.get(reverse("orgs:tree"), {"q": "杨柳"}).content.decode()
    assert "海盐县/秦山镇/杨柳村" in full and "<html" in full


def test_tree_search_stays_in_scope(world, client_for):
    html = client_for("hebin_secretary").get(reverse("orgs:tree"), {"q": "村"}).content.decode()
    assert "杨柳村" not in html


# --- organisation page ---------------------------------------------------------------------------------------------


def test_org_page_links_only_ancestors_in_scope(world, extra, client_for):
    response = client_for("hebin_secretary").get(reverse("orgs:org_detail", args=[world.hebin_branch.pk]))
    html = response.content.decode()
    assert reverse("orgs:org_detail", args=[world.hebin.pk]) in html
    assert reverse("orgs:org_detail", args=[world.wuyuan.pk]) not in html
    assert "武原镇" in html  # shown in the path, as text
    assert "张建国" in html and "李秀英" in html
    assert response.context["members"].total == 2


def test_org_page_shows_children_counts_and_contact_points(world, extra, client_for):
    response = client_for("wuyuan_admin").get(reverse("orgs:org_detail", args=[world.hebin.pk]))
    assert [(n.name, n.member_count) for n in response.context["nodes"]] == [("河滨社区党支部", 2)]
    html = response.content.decode()
    assert "沈明" in html and reverse("orgs:contact_point_detail", args=[extra.cp.pk]) in html
    assert "武原镇社区指导组" in html
    assert f"?within={world.hebin.pk}" in html


def test_org_page_lists_members_managed_there(world, client_for):
    member = world.members["qinshan_a"]
    services.member_set_managing_org(member=member, org=world.hebin, on=dt.date(2024, 1, 1))
    html = client_for("hebin_secretary").get(reverse("orgs:org_detail", args=[world.hebin.pk])).content.decode()
    assert "王海" in html


# --- member list ---------------------------------------------------------------------------------------------------


def test_member_list_masks_id_and_phone(world, client_for):
    response = client_for("county_admin").get(reverse("orgs:member_list"))
    html = response.content.decode()
    for member in world.members.values():
        assert member.person.id_number not in html
        assert member.person.id_number_masked in html
    shown = re.findall(r'data-testid="id-masked">([^<]*)<', html)
    assert len(shown) == 3 and all(MASKED_ID.match(value) for value in shown)
    assert "13805735678" not in html
    assert "138****5678" in html


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"q": "张"}, {"张建国"}),
        ({"q": "zjg"}, {"张建国"}),
        ({"status": "retired"}, {"李秀英"}),
        ({"gender": "F"}, {"李秀英"}),
        ({"category": "full"}, {"张建国", "李秀英", "王海"}),
        ({"join_year": "1975"}, {"李秀英"}),
        ({"age_min": "60"}, {"李秀英"}),
        ({"age_max": "60"}, {"张建国", "王海"}),
        ({"within": "WUYUAN"}, {"张建国", "李秀英"}),
        ({"within": "QINSHAN", "q": "王"}, {"王海"}),
    ],
)
def test_member_list_filters(world, client_for, params, names):
    ids = {"WUYUAN": world.wuyuan.pk, "QINSHAN": world.qinshan.pk}
    params = {k: str(ids.get(v, v)) for k, v in params.items()}
    response = client_for("county_admin").get(reverse("orgs:member_list"), params)
    assert response.status_code == 200
    assert {m.person.name for m in response.context["page"]} == names


@pytest.mark.parametrize(
    "params",
    [{"age_min": "abc"}, {"age_min": "3000"}, {"age_max": "-4000"}, {"join_year": "99999"},
     {"within": "99999999999999999999999"}, {"within": "1.5"}, {"status": "nonsense"}],
)
def test_member_list_bad_filter_is_a_clear_error_not_a_crash(world, client_for, params):
    response = client_for("county_admin").get(reverse("orgs:member_list"), params)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert list(response.context["page"]) == []
    assert "invalid-feedback" in response.content.decode()


def test_within_another_scope_shows_nothing_and_no_name(world, client_for):
    response = client_for("hebin_secretary").get(reverse("orgs:member_list"), {"within": world.qinshan.pk})
    assert list(response.context["page"]) == []
    assert response.context["within"] is None
    assert "秦山镇" not in response.content.decode()


def test_org_picker_partial_links_keep_the_other_filters(world, client_for):
    response = client_for("wuyuan_admin").get(
        reverse("orgs:member_list"), {"org_q": "河滨", "status": "active", "q": ""},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="org-picker",
    )
    html = response.content.decode()
    assert "<html" not in html
    assert f"within={world.hebin.pk}" in html and "status=active" in html and "org_q" not in html
    assert "杨柳村" not in client_for("wuyuan_admin").get(reverse("orgs:member_list"), {"org_q": "村"}).content.decode()


def test_member_list_queries_do_not_grow_with_page_size(world, client_for, django_assert_max_num_queries):
    client = client_for("wuyuan_admin")
    url = reverse("orgs:member_list")
    with django_assert_max_num_queries(8) as few:
        client.get(url)
    for i in range(60):
        make_member(f"党员{i:02d}", world.hebin_branch)
    with django_assert_max_num_queries(8) as many:
        response = client.get(url)
    assert len(response.context["page"]) == 50
    assert len(many.captured_queries) == len(few.captured_queries)
    second = client.get(url, {"page": 2})
    assert len(second.context["page"]) == 12


def test_export_link_carries_the_filters(world, client_for):
    try:
        export = reverse("orgs:member_export")
    except NoReverseMatch:
        pytest.skip("orgs:member_export is not there yet")
    html = client_for("hebin_secretary").get(reverse("orgs:member_list"), {"q": "张", "page": "1"}).content.decode()
    assert f'href="{export}?q=%E5%BC%A0"' in html


# --- member page and the reveal ------------------------------------------------------------------------------------


def test_member_page_masks_and_shows_history_and_managing_org(world, client_for):
    member = world.members["qinshan_a"]
    services.member_transfer(member=member, to_org=world.hebin_branch, on=dt.date(2020, 1, 1))
    services.member_set_managing_org(member=member, org=world.qinshan_village, on=dt.date(2020, 1, 1))
    response = client_for("hebin_secretary").get(reverse("orgs:member_detail", args=[member.pk]))
    html = response.content.decode()
    assert member.person.id_number not in html and member.person.id_number_masked in html
    assert "13805735678" not in html
    assert [ms.org.name for ms, _ in response.context["memberships"]] == ["杨柳村党支部", "河滨社区党支部", "杨柳村"]
    assert "海盐县/秦山镇/杨柳村" in html  # the managing organisation, named but not linked (out of scope)
    assert reverse("orgs:org_detail", args=[world.qinshan_village.pk]) not in html
    assert 'data-testid="unmask-button"' in html


def test_reveal_shows_the_values_and_is_audited(world, client_for):
    member = world.members["hebin_a"]
    url = reverse("orgs:member_unmask", args=[member.pk])
    client = client_for("hebin_secretary")
    response = client.post(url, **HTMX, HTTP_HX_TARGET="personal-data")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert member.person.id_number in html and "13805735678" in html
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="unmask")
    assert event.actor == world.hebin_secretary
    assert (event.model, event.object_id) == ("orgs.Member", str(member.pk))
    page = client.post(url).content.decode()  # without htmx: the whole page, audited again
    assert AuditEvent.objects.filter(action="unmask").count() == 2
    assert member.person.id_number in page
    assert f'name="next" type="hidden" value="{reverse("orgs:member_detail", args=[member.pk])}"' in page


def test_reveal_refused_with_404_and_not_audited_for_those_without_the_right(world, client_for):
    member = world.members["hebin_a"]
    url = reverse("orgs:member_unmask", args=[member.pk])
    for persona in ["inspector", "qinshan_secretary", "member", "resident"]:
        response = client_for(persona).post(url)
        assert response.status_code == 404, persona
        assert member.person.id_number not in response.content.decode()
    assert client_for("hebin_secretary").get(url).status_code == 405
    assert not AuditEvent.objects.filter(action="unmask").exists()
    page = client_for("inspector").get(reverse("orgs:member_detail", args=[member.pk])).content.decode()
    assert 'data-testid="unmask-button"' not in page


# --- contact points and guidance groups ----------------------------------------------------------------------------


def test_contact_point_list_filters(world, extra, client_for):
    other = services.contact_point_create(leader=make_person("钱进"), org=world.hebin,
                                          kind=ContactPoint.Kind.ENTERPRISE, start=dt.date(2024, 1, 1))
    client = client_for("wuyuan_admin")
    url = reverse("orgs:contact_point_list")
    assert {cp.pk for cp in client.get(url).context["page"]} == {extra.cp.pk, other.pk}
    assert [cp.pk for cp in client.get(url, {"kind": "enterprise"}).context["page"]] == [other.pk]
    assert [cp.pk for cp in client.get(url, {"q": "沈"}).context["page"]] == [extra.cp.pk]
    assert {cp.pk: cp.n_visits for cp in client.get(url).context["page"]} == {extra.cp.pk: 1, other.pk: 0}
    response = client.get(url, {"kind": "nonsense"})
    assert response.status_code == 200 and list(response.context["page"]) == []
    assert response.context["form"].errors


def test_contact_point_page_shows_visits_and_the_form_to_those_who_may_record(world, extra, client_for):
    url = reverse("orgs:contact_point_detail", args=[extra.cp.pk])
    html = client_for("hebin_secretary").get(url).content.decode()
    assert "指导制定承诺清单" in html and 'data-testid="visit-form"' in html
    assert f'type="date" name="date" value="{timezone.localdate():%Y-%m-%d}"' in html  # what a date input accepts
    html = client_for("inspector").get(url).content.decode()
    assert "指导制定承诺清单" in html and 'data-testid="visit-form"' not in html


def test_recording_a_visit_writes_it_and_audits(world, extra, client_for):
    url = reverse("orgs:contact_point_detail", args=[extra.cp.pk])
    response = client_for("hebin_secretary").post(url, {"date": "2024-05-06", "notes": "检查台账",
                                                        "follow_ups": "补齐会议记录"})
    assert response.status_code == 302
    visit = GuidanceVisit.objects.get(notes="检查台账")
    assert visit.recorded_by == world.hebin_secretary and visit.date == dt.date(2024, 5, 6)
    assert AuditEvent.objects.filter(action="create", model="orgs.GuidanceVisit", object_id=str(visit.pk)).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2999-01-01", "notes": "未来"}, "指导日期晚于今天"),
        ({"date": "2023-12-31", "notes": "太早"}, "指导日期早于建立联系点的日期"),
        ({"date": "2024-05-06", "notes": "   "}, None),
        ({"date": "not a date", "notes": "x"}, None),
        ({"date": "2024-02-30", "notes": "x"}, None),
    ],
)
def test_bad_visit_is_a_form_error_and_writes_nothing(world, extra, client_for, data, message):
    before = (GuidanceVisit.objects.count(), AuditEvent.objects.count())
    response = client_for("hebin_secretary").post(reverse("orgs:contact_point_detail", args=[extra.cp.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors
    if message:
        assert message in response.content.decode()
    assert (GuidanceVisit.objects.count(), AuditEvent.objects.count()) == before


def test_guidance_groups_list_units_linking_those_in_scope(world, extra, client_for):
    html = client_for("wuyuan_admin").get(reverse("orgs:guidance_group_list")).content.decode()
    assert "武原镇社区指导组" in html and reverse("orgs:org_detail", args=[world.hebin.pk]) in html
    assert "武原镇社区指导组" not in client_for("hebin_secretary").get(reverse("orgs:guidance_group_list")).content.decode()


# ---- guidance groups: their people and the units they guide --------------------------------------------------------


def test_guidance_group_staffed_through_the_service_and_shown_on_its_page_and_the_units_page(world, client_for):
    group = services.guidance_group_create(name="创先争优活动社区系统指导组", system="社区系统", org=world.county)
    leader, staff = make_person("组长甲"), [make_person("组员乙"), make_person("组员丙")]
    with pytest.raises(services.GuidanceGroupRefused):  # a town administrator may not staff the county's group
        services.guidance_group_staff(actor=world.users["wuyuan_admin"], group=group, leader=leader, people=staff,
                                      units=[world.hebin])
    town_group = services.guidance_group_create(name="武原镇指导组", system="社区系统", org=world.wuyuan)
    with pytest.raises(ValidationError):  # a unit outside the forming organisation's subtree
        services.guidance_group_staff(actor=world.users["wuyuan_admin"], group=town_group, leader=leader,
                                      people=staff, units=[world.qinshan])
    assert not group.people.exists() and not town_group.people.exists() and not group.units.exists()
    services.guidance_group_staff(actor=world.users["county_admin"], group=group, leader=leader, people=staff,
                                  units=[world.hebin])
    assert set(group.people.all()) == {leader, *staff} and group.leader == leader
    audit = AuditEvent.objects.filter(model="orgs.GuidanceGroup", object_id=str(group.pk), action="update").get()
    assert audit.after["people"] == sorted(p.pk for p in [leader, *staff])

    page = client_for("county_admin").get(reverse("orgs:guidance_group_detail", args=[group.pk])).content.decode()
    assert "组长甲" in page and "组员乙" in page and "组员丙" in page and "3 人" in page and "河滨社区" in page
    listing = client_for("county_admin").get(reverse("orgs:guidance_group_list")).content.decode()
    assert "社区系统 · 海盐县 · 组长: 组长甲 · 3 人" in " ".join(listing.split()).replace("组长：", "组长: ")
    unit_page = client_for("hebin_secretary").get(reverse("orgs:org_detail", args=[world.hebin.pk])).content.decode()
    assert "创先争优活动社区系统指导组" in unit_page and "组长甲" in unit_page and "组员丙" in unit_page
    assert "/orgs/guidance-groups/" not in unit_page.split("创先争优活动社区系统指导组")[0][-200:]  # no link out of scope
    assert client_for("hebin_secretary").get(reverse("orgs:guidance_group_detail", args=[group.pk])).status_code == 404

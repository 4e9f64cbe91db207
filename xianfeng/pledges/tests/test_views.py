import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xianfeng.core.models import AuditEvent
from xianfeng.notify.models import SmsMessage
from xianfeng.orgs.models import Role

from .. import services
from ..models import Comment, Pledge
from .factories import draft, fulfilled, make_round, published, resident


def item_post(due, texts=("年底前为本村5户低保户各送一次米面油",), submit=False):
    data = {"title": "我的承诺", "items-TOTAL_FORMS": str(len(texts)), "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "1", "items-MAX_NUM_FORMS": "10"}
    for i, text in enumerate(texts):
        data.update({f"items-{i}-kind": "service", f"items-{i}-text": text, f"items-{i}-target_value": "5",
                     f"items-{i}-target_unit": "户", f"items-{i}-due_date": due.isoformat()})
    if submit:
        data["submit"] = "1"
    return data


def test_full_lifecycle_through_http(world, client_for):
    make_round(world)
    member, secretary = client_for("member"), client_for("hebin_secretary")
    due = timezone.localdate() + dt.timedelta(days=20)
    response = member.post(reverse("pledges:new"), item_post(due, submit=True))
    pledge = Pledge.objects.get()
    assert response.status_code == 302 and pledge.status == "submitted"
    html = secretary.get(reverse("pledges:list") + "?status=submitted").content.decode()
    assert "张建国" in html
    assert secretary.post(reverse("pledges:action", args=[pledge.pk, "approve"])).status_code == 302
    assert secretary.post(reverse("pledges:action", args=[pledge.pk, "publish"])).status_code == 302
    response = member.post(reverse("pledges:progress", args=[pledge.pk]), {"percent": "50", "text": "已送3户"})
    assert response.status_code == 302
    member.post(reverse("pledges:claim", args=[pledge.pk]), {"evidence": "5户低保户都已送到"})
    secretary.post(reverse("pledges:action", args=[pledge.pk, "confirm"]))
    rater = Client()
    rater.force_login(resident(world))
    assert rater.post(reverse("pledges:board_rate", args=[pledge.pk]), {"value": "satisfied"}).status_code == 302
    secretary.post(reverse("pledges:action", args=[pledge.pk, "evaluate"]), {"org_score": "95"})
    secretary.post(reverse("pledges:action", args=[pledge.pk, "recognise"]))
    pledge.refresh_from_db()
    assert pledge.status == "recognised" and pledge.score_total == pytest.approx((40 * 100 + 30 * 95) / 70, abs=0.05)
    board = Client().get(reverse("pledges:board", args=[world.hebin.pk])).content.decode()
    assert 'data-testid="recognised"' in board and "张建国" in board
    assert list(pledge.events.values_list("to_status", flat=True)) == [
        "draft", "submitted", "approved", "published", "in_progress", "claimed", "fulfilled", "evaluated", "recognised"]


def test_forbidden_transition_answers_400_with_the_reason(world, client_for):
    pledge = draft(world)
    response = client_for("hebin_secretary").post(reverse("pledges:action", args=[pledge.pk, "evaluate"]),
                                                  {"org_score": "80"})
    assert response.status_code == 400 and "草稿" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.status == "draft"


def test_bad_items_are_shown_and_nothing_is_saved(world, client_for):
    pledge_round = make_round(world)
    response = client_for("member").post(reverse("pledges:new"), item_post(pledge_round.end + dt.timedelta(days=5)))
    assert response.status_code == 400 and "完成期限须在" in response.content.decode()
    assert not Pledge.objects.exists()


@pytest.mark.parametrize("name", ["pledges:detail", "pledges:edit"])
def test_outsider_gets_404_on_a_pledge(world, client_for, name):
    pledge = draft(world)
    assert client_for("qinshan_secretary").get(reverse(name, args=[pledge.pk])).status_code == 404
    assert client_for("resident").get(reverse(name, args=[pledge.pk])).status_code == 404


def test_outsider_gets_404_on_actions_and_lists(world, client_for):
    pledge = draft(world)
    services.pledge_submit(pledge=pledge, actor=world.member)
    outsider = client_for("qinshan_secretary")
    assert outsider.post(reverse("pledges:action", args=[pledge.pk, "approve"])).status_code == 404
    item = pledge.items.first()
    assert outsider.post(reverse("pledges:item_review", args=[item.pk]), {"ok": "1"}).status_code == 404
    assert outsider.get(reverse("pledges:list") + f"?org={world.hebin.pk}").status_code == 404
    assert outsider.get(reverse("pledges:figures") + f"?org={world.hebin.pk}").status_code == 404
    assert "张建国" not in outsider.get(reverse("pledges:list")).content.decode()
    pledge.refresh_from_db()
    assert pledge.status == "submitted"
    for name in ("pledges:list", "pledges:figures", "pledges:clusters", "pledges:moderation", "pledges:export"):
        assert client_for("resident").get(reverse(name)).status_code == 404, name


def test_public_board_shows_published_pledges_only_and_no_personal_data(world, client_for):
    pledge_round = make_round(world)
    hidden = draft(world, pledge_round)
    from xianfeng.core.testing import make_user

    other_user = make_user("li", Role.Kind.MEMBER, world.hebin_branch, person=world.members["hebin_b"].person)
    shown = services.pledge_create(round=pledge_round, member=world.members["hebin_b"], actor=other_user,
                                   items=[{"kind": "post", "text": "每周三到南门社区为老人测血压", "due_date": pledge_round.end}])
    services.pledge_submit(pledge=shown, actor=other_user)
    services.pledge_approve(pledge=shown, actor=world.hebin_secretary)
    services.pledge_publish(pledge=shown, actor=world.hebin_secretary)
    response = Client().get(reverse("pledges:board", args=[world.hebin.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "李秀英" in html and "每周三到南门社区为老人测血压" in html
    assert "张建国" not in html and "低保户" not in html
    person = world.members["hebin_b"].person
    assert person.id_number not in html and person.phone not in html and person.phone_masked not in html
    assert Client().get(reverse("pledges:board_pledge", args=[hidden.pk])).status_code == 404
    assert "李秀英" in Client().get(reverse("pledges:board", args=[world.hebin.pk]) + "?q=血压").content.decode()
    assert "李秀英" not in Client().get(reverse("pledges:board", args=[world.hebin.pk]) + "?q=修桥").content.decode()


def test_poster_has_a_qr_code_linking_the_board(world):
    published(world)
    response = Client().get(reverse("pledges:poster", args=[world.hebin.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "<svg" in html and "@page { size: A4" in html
    assert reverse("pledges:board", args=[world.hebin.pk]) in html


def test_second_rating_is_409_and_script_is_shown_as_text(world):
    pledge = published(world)
    client = Client()
    client.force_login(resident(world))
    assert client.post(reverse("pledges:board_rate", args=[pledge.pk]), {"value": "basic"}).status_code == 302
    response = client.post(reverse("pledges:board_rate", args=[pledge.pk]), {"value": "satisfied"})
    assert response.status_code == 409
    response = client.post(reverse("pledges:board_comment", args=[pledge.pk]),
                           {"text": "<script>alert('x')</script>", "agreed": "on"})
    assert response.status_code == 302
    html = client.get(reverse("pledges:board_pledge", args=[pledge.pk])).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "<script>alert" not in html
    assert Comment.objects.get().text == "<script>alert('x')</script>"


def test_comment_without_agreeing_to_the_rules_is_refused(world):
    pledge = published(world)
    client = Client()
    client.force_login(resident(world))
    response = client.post(reverse("pledges:board_comment", args=[pledge.pk]), {"text": "好"})
    assert response.status_code == 400 and "文明评论规则" in response.content.decode()
    assert not Comment.objects.exists()


def test_moderation_hides_and_restores_through_http(world, client_for):
    pledge = published(world)
    comment = services.comment_post(pledge=pledge, actor=resident(world), text="造谣内容", agreed=True)
    reporter = Client()
    reporter.force_login(resident(world))
    reporter.post(reverse("pledges:comment_report", args=[comment.pk]))
    secretary = client_for("hebin_secretary")
    html = secretary.get(reverse("pledges:moderation")).content.decode()
    assert "造谣内容" in html
    assert client_for("qinshan_secretary").post(reverse("pledges:comment_moderate", args=[comment.pk, "hide"]),
                                                {"reason": "x"}).status_code == 404
    secretary.post(reverse("pledges:comment_moderate", args=[comment.pk, "hide"]), {"reason": "内容不实"})
    assert "造谣内容" not in Client().get(reverse("pledges:board_pledge", args=[pledge.pk])).content.decode()
    secretary.post(reverse("pledges:comment_moderate", args=[comment.pk, "restore"]), {"reason": "核实无误"})
    assert "造谣内容" in Client().get(reverse("pledges:board_pledge", args=[pledge.pk])).content.decode()
    secretary.post(reverse("pledges:moderation"), {"word": "造谣"})
    client = Client()
    client.force_login(resident(world))
    response = client.post(reverse("pledges:board_comment", args=[pledge.pk]), {"text": "又在造谣", "agreed": "on"})
    assert response.status_code == 400


def test_secretary_sees_the_formulaic_flag_on_review(world, client_for):
    pledge_round = make_round(world)
    pledge = services.pledge_create(round=pledge_round, member=world.members["hebin_a"], actor=world.member,
                                    items=[{"kind": "vanguard", "text": "发挥党员先锋模范作用，全心全意为人民服务",
                                            "due_date": pledge_round.end}])
    services.pledge_submit(pledge=pledge, actor=world.member)
    html = client_for("hebin_secretary").get(reverse("pledges:detail", args=[pledge.pk])).content.decode()
    assert 'data-testid="formulaic-flag"' in html and "不具体" in html
    assert 'data-testid="formulaic-flag"' not in client_for("member").get(
        reverse("pledges:detail", args=[pledge.pk])).content.decode()


def test_figures_and_drill_down(world, client_for):
    fulfilled(world)
    client = client_for("wuyuan_admin")
    response = client.get(reverse("pledges:figures"))
    assert response.status_code == 200
    head = response.context["head"]
    assert head.org == world.wuyuan and head.published == 1 and head.fulfilled == 1 and head.members == 2
    assert head.pledged == 1
    html = client.get(reverse("pledges:list") + f"?org={world.wuyuan.pk}&status=fulfilled").content.decode()
    assert "张建国" in html
    county = client_for("county_admin").get(reverse("pledges:figures")).context
    assert county["head"].org == world.county and county["head"].members == 3


def test_ledger_export_is_scoped_and_audited(world, client_for):
    published(world)
    response = client_for("hebin_secretary").get(reverse("pledges:export"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "批次" and len(rows) == 3 and rows[1][2] == "张建国"
    assert AuditEvent.objects.filter(action="export", model="pledges.Pledge").count() == 1
    response = client_for("qinshan_secretary").get(reverse("pledges:export"))
    assert len(list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows())) == 1


def test_clusters_page_lists_templates_and_users(world, client_for):
    pledge_round = make_round(world, template_min_members=2)
    from xianfeng.core.testing import make_member, make_user

    for i in range(3):
        m = make_member(f"同志{i}", world.hebin_branch)
        u = make_user(f"tz{i}", Role.Kind.MEMBER, world.hebin_branch, person=m.person)
        p = services.pledge_create(round=pledge_round, member=m, actor=u, items=[
            {"kind": "vanguard", "text": "立足本职岗位，充分发挥共产党员先锋模范作用", "due_date": pledge_round.end}])
        services.pledge_submit(pledge=p, actor=u)
    client = client_for("hebin_secretary")
    assert client.post(reverse("pledges:clusters"), {"round": pledge_round.pk}).status_code == 404  # no change on county
    client_for("county_admin").post(reverse("pledges:clusters"), {"round": pledge_round.pk})
    html = client.get(reverse("pledges:clusters")).content.decode()
    assert "立足本职岗位" in html and "同志0" in html and "同志2" in html
    assert "立足本职岗位" not in client_for("qinshan_secretary").get(reverse("pledges:clusters")).content.decode()


def test_resident_signup_through_the_page(world):
    client = Client()
    response = client.post(reverse("pledges:resident_signup"), {"phone": "13700001111", "step": "code"})
    assert response.status_code == 200
    code = SmsMessage.objects.get().text.split("是")[1][:6]
    response = client.post(reverse("pledges:resident_signup"), {
        "phone": "13700001111", "code": code, "name": "钱居民", "org": world.hebin.pk, "password": "a-good-pass-9",
        "step": "register", "next": f"/pledges/board/{world.hebin.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/pledges/board/{world.hebin.pk}/"
    assert client.get(reverse("home")).status_code == 200  # signed in
    response = client.post(reverse("pledges:resident_signup"), {"phone": "abc", "step": "code"})
    assert response.status_code == 400


def test_photo_of_a_draft_is_private(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    pledge = published(world)
    buffer = io.BytesIO()
    Image.new("RGB", (5, 5)).save(buffer, format="PNG")
    services.milestone_record(pledge=pledge, percent=10, text="开始", actor=world.member,
                              photos=[SimpleUploadedFile("a.png", buffer.getvalue())])
    photo = pledge.photos.get()
    assert Client().get(reverse("pledges:photo", args=[photo.pk])).status_code == 200
    Pledge.objects.filter(pk=pledge.pk).update(status="approved")
    assert Client().get(reverse("pledges:photo", args=[photo.pk])).status_code == 404
    assert client_for("member").get(reverse("pledges:photo", args=[photo.pk])).status_code == 200


def test_member_list_page_and_peer_rating(world, client_for):
    pledge = fulfilled(world)
    from xianfeng.core.testing import make_user

    colleague = make_user("col", Role.Kind.MEMBER, world.hebin_branch, person=world.members["hebin_b"].person)
    client = Client()
    client.force_login(colleague)
    assert "张建国" in client.get(reverse("pledges:mine")).content.decode()
    client.post(reverse("pledges:peer_rate", args=[pledge.pk]), {"score": "88"})
    assert pledge.peer_ratings.get().score == 88
    assert client_for("member").get(reverse("pledges:mine")).status_code == 200


def test_my_pledges_is_in_the_menu_of_members_and_not_of_residents(world, client_for):
    url = reverse("pledges:mine")
    for persona in ("member", "hebin_secretary"):
        html = client_for(persona).get(reverse("home")).content.decode()
        assert f'href="{url}"' in html, persona
    assert f'href="{url}"' not in client_for("resident").get(reverse("home")).content.decode()
    member = client_for("member")
    make_round(world)
    page = member.get(url).content.decode()
    assert 'data-testid="new-pledge"' in page
    due = timezone.localdate() + dt.timedelta(days=20)
    response = member.post(reverse("pledges:new"), item_post(due, submit=True))
    assert response.status_code == 302
    assert Pledge.objects.get(member=world.members["hebin_a"]).status == "submitted"


def test_secretary_drafts_an_organisation_pledge_and_the_town_reviews_it(world, client_for):
    make_round(world)
    secretary = client_for("hebin_secretary")
    page = secretary.get(reverse("pledges:mine")).content.decode()
    assert 'data-testid="org-pledge-form"' in page and "河滨社区党支部" in page
    new = reverse("pledges:new") + f"?org={world.hebin_branch.pk}"
    assert secretary.get(new).status_code == 200
    due = timezone.localdate() + dt.timedelta(days=20)
    response = secretary.post(new, item_post(due, texts=("年内为河滨社区修好3处破损路灯",), submit=True))
    assert response.status_code == 302, response.content.decode()[:500]
    pledge = Pledge.objects.get(member__isnull=True)
    assert pledge.org == world.hebin_branch and pledge.status == "submitted"
    assert secretary.post(reverse("pledges:action", args=[pledge.pk, "approve"])).status_code == 400  # own pledge
    assert client_for("wuyuan_admin").post(reverse("pledges:action", args=[pledge.pk, "approve"])).status_code == 302
    pledge.refresh_from_db()
    assert pledge.status == "approved"
    assert client_for("qinshan_secretary").get(new).status_code == 404
    assert client_for("member").get(new).status_code == 404


def test_a_photo_that_is_not_an_image_or_too_big_is_a_field_error_on_the_page(world, client_for, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from ..models import Milestone, Photo

    pledge = published(world)
    member = client_for("member")
    url = reverse("pledges:progress", args=[pledge.pk])
    fake = SimpleUploadedFile("x.jpg", b"<script>not an image</script>", content_type="image/jpeg")
    response = member.post(url, {"percent": "30", "text": "已走访3户", "photos": [fake]})
    assert response.status_code == 400 and "不是有效的图片" in response.content.decode()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 10)).save(buffer, format="PNG")
    settings.PLEDGES_PHOTO_MAX_BYTES = 50
    big = SimpleUploadedFile("big.png", buffer.getvalue(), content_type="image/png")
    response = member.post(url, {"percent": "30", "text": "已走访3户", "photos": [big]})
    assert response.status_code == 400 and "不能超过" in response.content.decode()
    assert not Milestone.objects.exists() and not Photo.objects.exists()
    pledge.refresh_from_db()
    assert pledge.status == "published" and pledge.progress == 0


def test_outsider_gets_404_on_progress_claims_peer_ratings_and_moderation(world, client_for):
    pledge = published(world)
    resident_client = Client()
    resident_client.force_login(resident(world))
    resident_client.post(reverse("pledges:board_comment", args=[pledge.pk]), {"text": "很好", "agreed": "on"})
    comment = Comment.objects.get()
    outsider = client_for("qinshan_secretary")
    assert outsider.post(reverse("pledges:progress", args=[pledge.pk]), {"percent": "50", "text": "x"}).status_code == 404
    assert outsider.post(reverse("pledges:claim", args=[pledge.pk]), {"evidence": "已完成全部"}).status_code == 404
    assert outsider.post(reverse("pledges:peer_rate", args=[pledge.pk]), {"score": "90"}).status_code == 404
    assert outsider.post(reverse("pledges:comment_moderate", args=[comment.pk, "hide"]),
                         {"reason": "x"}).status_code == 404
    assert outsider.post(reverse("pledges:action", args=[pledge.pk, "not_fulfilled"]),
                         {"reason": "没有完成的原因"}).status_code == 404
    pledge.refresh_from_db()
    comment.refresh_from_db()
    assert pledge.status == "published" and pledge.progress == 0 and comment.state == "visible"


def test_a_step_taken_by_the_system_shows_as_such_on_the_detail_page(world, client_for):
    """History rows without a user (a job, a bulk import) are the system's; the page said 500 for them."""
    from ..models import PledgeEvent

    pledge = published(world)
    PledgeEvent.objects.create(pledge=pledge, by=None, action="到期提醒", from_status=pledge.status,
                               to_status=pledge.status)
    response = client_for("hebin_secretary").get(reverse("pledges:detail", args=[pledge.pk]))
    assert response.status_code == 200
    assert "到期提醒 · 系统" in response.content.decode()


def test_a_branch_pledge_is_not_among_the_colleagues_to_rate(world, client_for, settings):
    """The branch's own (organisation) pledge has no member: it is not a colleague's, and the page rendered a
    missing name for it."""
    from ..models import Status

    pledge = fulfilled(world)
    branch = Pledge.objects.create(round=pledge.round, org=world.hebin_branch, status=Status.FULFILLED,
                                   due_date=pledge.due_date)
    settings.TEMPLATES = [dict(t, OPTIONS=dict(t["OPTIONS"], string_if_invalid="INVALID[%s]")) for t in settings.TEMPLATES]
    from xianfeng.core.testing import make_user

    colleague = make_user("col", Role.Kind.MEMBER, world.hebin_branch, person=world.members["hebin_b"].person)
    client = Client()
    client.force_login(colleague)
    html = client.get(reverse("pledges:mine")).content.decode()
    assert "INVALID[" not in html
    assert reverse("pledges:peer_rate", args=[pledge.pk]) in html
    assert reverse("pledges:peer_rate", args=[branch.pk]) not in html


def test_clusters_page_lists_the_first_users_of_a_template_and_counts_the_rest(world, client_for, monkeypatch):
    from xianfeng.core.testing import make_member, make_user

    from .. import views

    monkeypatch.setattr(views, "CLUSTER_NAMES", 2)
    pledge_round = make_round(world, template_min_members=2)
    for i in range(4):
        m = make_member(f"同志{i}", world.hebin_branch)
        u = make_user(f"tz{i}", Role.Kind.MEMBER, world.hebin_branch, person=m.person)
        p = services.pledge_create(round=pledge_round, member=m, actor=u, items=[
            {"kind": "vanguard", "text": "立足本职岗位，充分发挥共产党员先锋模范作用", "due_date": pledge_round.end}])
        services.pledge_submit(pledge=p, actor=u)
    services.formulaic_detect(round=pledge_round)
    html = client_for("hebin_secretary").get(reverse("pledges:clusters")).content.decode()
    assert sum(f"同志{i}" in html for i in range(4)) == 2
    assert "另有 2 条" in html


def test_figures_link_up_one_level_only_within_the_viewers_scope(world, client_for):
    up = reverse("pledges:figures") + f"?org={world.wuyuan.pk}"
    assert up not in client_for("hebin_secretary").get(reverse("pledges:figures")).content.decode()
    html = client_for("wuyuan_admin").get(reverse("pledges:figures") + f"?org={world.hebin.pk}").content.decode()
    assert up in html

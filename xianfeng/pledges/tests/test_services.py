import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import make_member, make_user
from xianfeng.notify.models import Notification, SmsMessage
from xianfeng.orgs.models import Resident, Role, User

from .. import formulaic, services
from ..models import Comment, Milestone, Photo, Pledge, PledgeEvent, PledgeItem, Rating, SensitiveWord, TemplateCluster
from .factories import draft, fulfilled, items, make_round, published, resident

DATA = Path(__file__).parent / "data" / "formulaic_labelled.csv"


def png_upload(name="photo.png", size=(40, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# --- the cycle ------------------------------------------------------------------------------------------------------


def test_full_cycle_leaves_one_event_per_transition(world):
    pledge = fulfilled(world)
    assert pledge.status == Pledge.Status.FULFILLED and pledge.fulfilled_on == timezone.localdate()
    assert pledge.confirmed_by == world.hebin_secretary
    services.pledge_evaluate(pledge=pledge, org_score=90, actor=world.hebin_secretary)
    services.pledge_recognise(pledge=pledge, actor=world.hebin_secretary)
    steps = list(PledgeEvent.objects.filter(pledge=pledge).values_list("from_status", "to_status", "by__username"))
    assert steps == [
        ("", "draft", "member_demo"), ("draft", "submitted", "member_demo"), ("submitted", "approved", "hebin_secretary"),
        ("approved", "published", "hebin_secretary"), ("published", "claimed", "member_demo"),
        ("claimed", "fulfilled", "hebin_secretary"), ("fulfilled", "evaluated", "hebin_secretary"),
        ("evaluated", "recognised", "hebin_secretary"),
    ]
    assert AuditEvent.objects.filter(model="pledges.Pledge", object_id=str(pledge.pk)).count() == 8


def test_items_are_validated_and_nothing_is_written(world):
    pledge_round = make_round(world)
    bad = [{"kind": "nonsense", "text": "短", "due_date": pledge_round.end + dt.timedelta(days=1)},
           {"kind": "service", "text": "为低保户送米面油", "target_value": "-3", "due_date": pledge_round.end}]
    with pytest.raises(ValidationError) as exc:
        services.pledge_create(round=pledge_round, member=world.members["hebin_a"], items=bad, actor=world.member)
    messages = exc.value.message_dict["items"]
    assert messages[0].startswith("第1项") and "类别" in messages[0] and "4个字" in messages[0] and "期限" in messages[0]
    assert messages[1].startswith("第2项") and "正数" in messages[1]
    assert not Pledge.objects.exists()


def test_a_member_pledges_only_for_himself_and_once_per_round(world):
    pledge_round = make_round(world)
    with pytest.raises(services.PledgeError):
        services.pledge_create(round=pledge_round, member=world.members["hebin_b"], items=items(), actor=world.member)
    draft(world, pledge_round)
    with pytest.raises(ValidationError):
        draft(world, pledge_round)


def test_evaluating_a_draft_is_refused_with_the_reason(world):
    pledge = draft(world)
    with pytest.raises(services.PledgeError) as exc:
        services.pledge_evaluate(pledge=pledge, org_score=80, actor=world.hebin_secretary)
    assert "草稿" in exc.value.messages[0]
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.DRAFT and pledge.score_total is None


def test_a_secretary_cannot_approve_his_own_pledge(world):
    secretary_member = make_member("赵书记", world.hebin_branch)
    boss = make_user("boss", Role.Kind.SECRETARY, world.hebin, person=secretary_member.person)
    pledge_round = make_round(world)
    pledge = services.pledge_create(round=pledge_round, member=secretary_member, items=items(), actor=boss)
    services.pledge_submit(pledge=pledge, actor=boss)
    with pytest.raises(services.PledgeError) as exc:
        services.pledge_approve(pledge=pledge, actor=boss)
    assert "自己" in exc.value.messages[0]
    services.pledge_approve(pledge=pledge, actor=world.wuyuan_admin)


def test_an_outsider_secretary_cannot_review(world):
    pledge = draft(world)
    services.pledge_submit(pledge=pledge, actor=world.member)
    with pytest.raises(services.PledgeError):
        services.pledge_approve(pledge=pledge, actor=world.qinshan_secretary)


def test_returned_item_sends_the_pledge_back_with_the_reason(world):
    pledge = draft(world)
    services.pledge_submit(pledge=pledge, actor=world.member)
    item = pledge.items.first()
    services.item_review(item=item, ok=False, note="表述笼统，请写明户数", actor=world.hebin_secretary)
    with pytest.raises(services.PledgeError):
        services.pledge_approve(pledge=pledge, actor=world.hebin_secretary)
    services.pledge_return(pledge=pledge, reason="第1项不具体", actor=world.hebin_secretary)
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.RETURNED and pledge.return_reason == "第1项不具体"
    services.pledge_update(pledge=pledge, items=items(), actor=world.member)
    services.pledge_submit(pledge=pledge, actor=world.member)
    assert set(pledge.items.values_list("review", flat=True)) == {PledgeItem.Review.PENDING}


def test_milestones_record_progress_and_photos(world):
    pledge = published(world)
    services.milestone_record(pledge=pledge, percent=40, text="已走访3户", actor=world.member, photos=[png_upload()])
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.IN_PROGRESS and pledge.progress == 40
    assert Photo.objects.get().width == 40
    with pytest.raises(ValidationError) as exc:
        services.milestone_record(pledge=pledge, percent=20, text="倒退", actor=world.member)
    assert "percent" in exc.value.message_dict
    assert Milestone.objects.count() == 1


def test_a_photo_that_is_not_an_image_or_too_big_is_a_field_error(world, settings):
    pledge = published(world)
    fake = SimpleUploadedFile("x.jpg", b"<html>not an image</html>", content_type="image/jpeg")
    with pytest.raises(ValidationError) as exc:
        services.milestone_record(pledge=pledge, percent=10, text="进展", actor=world.member, photos=[fake])
    assert "不是有效的图片" in exc.value.message_dict["photos"][0]
    settings.PLEDGES_PHOTO_MAX_BYTES = 100
    with pytest.raises(ValidationError) as exc:
        services.milestone_record(pledge=pledge, percent=10, text="进展", actor=world.member, photos=[png_upload()])
    assert "不能超过" in exc.value.message_dict["photos"][0]
    assert not Milestone.objects.exists() and not Photo.objects.exists()
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.PUBLISHED


def test_not_fulfilled_needs_a_public_explanation(world):
    pledge = published(world)
    with pytest.raises(ValidationError):
        services.pledge_not_fulfilled(pledge=pledge, explanation="", actor=world.hebin_secretary)
    services.pledge_not_fulfilled(pledge=pledge, explanation="因道路施工延期，明年春节前完成", actor=world.hebin_secretary)
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.NOT_FULFILLED and "道路施工" in pledge.explanation


# --- evaluation ---------------------------------------------------------------------------------------------------------


def test_evaluation_weighs_residents_peers_and_organisation(world):
    pledge = fulfilled(world)
    services.rating_post(pledge=pledge, actor=resident(world), value="satisfied")
    services.rating_post(pledge=pledge, actor=resident(world), value="basic")
    colleague = make_user("colleague", Role.Kind.MEMBER, world.hebin_branch, person=world.members["hebin_b"].person)
    services.peer_rating_post(pledge=pledge, actor=colleague, score=80)
    with pytest.raises(services.PledgeError):
        services.peer_rating_post(pledge=pledge, actor=world.member, score=100)  # his own
    services.pledge_evaluate(pledge=pledge, org_score=90, actor=world.hebin_secretary)
    pledge.refresh_from_db()
    assert pledge.score_residents == 87.5 and pledge.score_peers == 80 and pledge.score_org == 90
    assert pledge.score_total == pytest.approx(0.4 * 87.5 + 0.3 * 80 + 0.3 * 90, abs=0.05)
    assert pledge.rank_in_branch == 1


def test_missing_sides_drop_out_of_the_weights(world):
    pledge_round = make_round(world)
    assert services.combined_score(pledge_round, None, None, 70) == 70
    assert services.combined_score(pledge_round, 100, None, 65) == 85


def test_a_second_rating_is_refused(world):
    pledge = published(world)
    person = resident(world)
    services.rating_post(pledge=pledge, actor=person, value="satisfied")
    with pytest.raises(services.AlreadyRated):
        services.rating_post(pledge=pledge, actor=person, value="unsatisfied")
    assert Rating.objects.get().value == "satisfied"


def test_only_residents_rate_and_only_public_pledges(world):
    pledge = draft(world)
    with pytest.raises(services.PledgeError):
        services.rating_post(pledge=pledge, actor=resident(world), value="satisfied")
    with pytest.raises(services.PledgeError):
        services.rating_post(pledge=published(world, make_round(world, name="另一批")), actor=world.inspector,
                             value="satisfied")


# --- comments ---------------------------------------------------------------------------------------------------------


def test_comments_need_the_rules_and_refuse_sensitive_words_and_floods(world, settings):
    pledge = published(world)
    person = resident(world)
    with pytest.raises(ValidationError):
        services.comment_post(pledge=pledge, actor=person, text="很好", agreed=False)
    services.sensitive_word_add(word="骗子", actor=world.county_admin)
    with pytest.raises(ValidationError) as exc:
        services.comment_post(pledge=pledge, actor=person, text="这人是骗子", agreed=True)
    assert "骗子" in exc.value.message_dict["text"][0]
    settings.PLEDGES_COMMENT_LIMIT = 2
    services.comment_post(pledge=pledge, actor=person, text="<script>alert(1)</script>", agreed=True)
    services.comment_post(pledge=pledge, actor=person, text="第二条", agreed=True)
    with pytest.raises(ValidationError) as exc:
        services.comment_post(pledge=pledge, actor=person, text="第三条", agreed=True)
    assert "频繁" in exc.value.message_dict["text"][0]
    assert Comment.objects.first().text == "<script>alert(1)</script>"


def test_moderators_hide_and_restore_with_a_reason(world):
    pledge = published(world)
    comment = services.comment_post(pledge=pledge, actor=resident(world), text="乱说一通", agreed=True)
    reporter = resident(world)
    assert services.comment_report(comment=comment, actor=reporter) is True
    assert services.comment_report(comment=comment, actor=reporter) is False
    assert Comment.objects.get().reports == 1
    with pytest.raises(services.PledgeError):
        services.comment_hide(comment=comment, reason="不实", actor=world.qinshan_secretary)
    with pytest.raises(ValidationError):
        services.comment_hide(comment=comment, reason="", actor=world.hebin_secretary)
    services.comment_hide(comment=comment, reason="内容不实", actor=world.hebin_secretary)
    assert Comment.objects.get().state == "hidden"
    services.comment_restore(comment=comment, reason="核实后属实", actor=world.hebin_secretary)
    assert list(comment.moderation.values_list("action", "reason")) == [("hide", "内容不实"), ("restore", "核实后属实")]


def test_sensitive_words_are_unique(world):
    services.sensitive_word_add(word="骗子", actor=world.county_admin)
    with pytest.raises(ValidationError):
        services.sensitive_word_add(word="骗子", actor=world.county_admin)
    services.sensitive_word_remove(word=SensitiveWord.objects.get(), actor=world.county_admin)
    assert not SensitiveWord.objects.exists()


# --- formulaic detection ----------------------------------------------------------------------------------------------


def labelled_set():
    with DATA.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_labelled_set_is_large_and_mixed():
    rows = labelled_set()
    kinds = {row["kind"] for row in rows}
    assert len(rows) >= 300 and kinds == {"specific", "template_copy", "paraphrase", "generic"}
    assert len({row["text"] for row in rows}) > 250


def test_detector_precision_and_recall_on_the_labelled_set():
    rows = labelled_set()
    result = formulaic.detect([r["text"] for r in rows], [r["author"] for r in rows], min_authors=3,
                              specificity_threshold=0.4)
    truth = [r["formulaic"] == "1" for r in rows]
    tp = sum(p and t for p, t in zip(result.formulaic, truth, strict=True))
    fp = sum(p and not t for p, t in zip(result.formulaic, truth, strict=True))
    fn = sum(t and not p for p, t in zip(result.formulaic, truth, strict=True))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    # the copies are caught as templates, not only by their vagueness: every template group is one cluster
    copies = [i for i, r in enumerate(rows) if r["kind"] == "template_copy"]
    assert all(i in result.template_of for i in copies)
    assert len(result.templates) == len({rows[i]["group"] for i in copies})


def test_single_character_overlap_does_not_make_texts_alike():
    sig = formulaic.MinHasher().signatures(["为民服务办实事", "办实事为民服务", "年底前修好村口的桥"])
    assert (sig[0] == sig[2]).mean() < 0.1
    assert formulaic.lsh_clusters(sig).tolist() == [0, 1, 2]


def test_specificity_counts_concrete_things():
    assert formulaic.specificity("发挥党员先锋模范作用，全心全意为人民服务") == 0
    features = formulaic.specificity_features("每月15日到河滨社区3号楼为独居的王大爷测一次血压")
    assert all(features.values())


def test_round_detection_flags_template_copies_and_clusters_page_data(world):
    pledge_round = make_round(world, template_min_members=3)
    template = "每月为社区孤寡老人上门服务一次，帮助解决生活困难"
    pledges = []
    for i in range(4):
        member = make_member(f"党员{i}", world.hebin_branch)
        user = make_user(f"m{i}", Role.Kind.MEMBER, world.hebin_branch, person=member.person)
        pledge = services.pledge_create(round=pledge_round, member=member, actor=user,
                                        items=items(texts=[f"我承诺{template}" if i % 2 else template]))
        services.pledge_submit(pledge=pledge, actor=user)
        pledges.append(pledge)
    specific = draft(world, pledge_round)
    services.pledge_submit(pledge=specific, actor=world.member)
    counts = services.formulaic_detect(round=pledge_round)
    assert counts["templates"] == 1 and counts["flagged"] == 4
    cluster = TemplateCluster.objects.get()
    assert cluster.members == 4 and cluster.item_count == 4
    assert set(Pledge.objects.filter(formulaic=True).values_list("pk", flat=True)) == {p.pk for p in pledges}
    # a new copy submitted after the run is flagged at once against the known template
    member = make_member("后来者", world.hebin_branch)
    user = make_user("late", Role.Kind.MEMBER, world.hebin_branch, person=member.person)
    late = services.pledge_create(round=pledge_round, member=member, actor=user, items=items(texts=[template + "。"]))
    services.pledge_submit(pledge=late, actor=user)
    late.refresh_from_db()
    assert late.formulaic and "雷同" in late.formulaic_reason


# --- sign-up and reminders --------------------------------------------------------------------------------------------


def test_resident_signup_with_an_sms_code(world):
    services.signup_code_send(phone="13912345678")
    text = SmsMessage.objects.get().text
    code = next(part for part in text.split("是")[1:])[:6]
    with pytest.raises(ValidationError):
        services.signup_code_send(phone="13912345678")  # one a minute
    with pytest.raises(ValidationError):
        services.resident_signup(phone="13912345678", code="000000" if code != "000000" else "111111",
                                 password="good-pass-123", name="周群众", org=world.hebin)
    user = services.resident_signup(phone="13912345678", code=code, password="good-pass-123", name="周群众",
                                    org=world.hebin)
    assert user.username == "13912345678" and user.roles.get().kind == "resident"
    assert Resident.objects.get(person=user.person).org == world.hebin
    with pytest.raises(ValidationError):
        services.resident_signup(phone="13912345678", code=code, password="good-pass-123", name="周群众",
                                 org=world.hebin)
    assert User.objects.filter(username="13912345678").count() == 1


def test_signup_refuses_a_town_and_a_weak_password(world):
    services.signup_code_send(phone="13912345679")
    with pytest.raises(ValidationError) as exc:
        services.resident_signup(phone="13912345679", code="123456", password="123", name="某人", org=world.wuyuan)
    assert "org" in exc.value.message_dict or "password" in exc.value.message_dict


def test_reminders_notify_member_and_secretary_once_a_day(world):
    pledge_round = make_round(world)
    pledge = services.pledge_create(round=pledge_round, member=world.members["hebin_a"], actor=world.member,
                                    items=items(due=timezone.localdate() + dt.timedelta(days=2)))
    services.pledge_submit(pledge=pledge, actor=world.member)
    services.pledge_approve(pledge=pledge, actor=world.hebin_secretary)
    services.pledge_publish(pledge=pledge, actor=world.hebin_secretary)
    assert services.reminders_send() == 2
    assert services.reminders_send() == 2
    recipients = set(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == {"member_demo", "hebin_secretary"}
    assert Notification.objects.count() == 4  # two items × two people, the second run sent nothing new


def test_the_worker_sends_the_daily_reminders(world):
    """The `pledges.reminders` job, declared @daily in jobs.py, run by the worker like any other due job."""
    from xianfeng.jobs.models import Job
    from xianfeng.jobs.services import periodic_sync
    from xianfeng.jobs.worker import Worker

    pledge_round = make_round(world)
    pledge = services.pledge_create(round=pledge_round, member=world.members["hebin_a"], actor=world.member,
                                    items=items(due=timezone.localdate() - dt.timedelta(days=1)))
    services.pledge_submit(pledge=pledge, actor=world.member)
    services.pledge_approve(pledge=pledge, actor=world.hebin_secretary)
    services.pledge_publish(pledge=pledge, actor=world.hebin_secretary)
    periodic_sync()
    now = timezone.now()
    Job.objects.update(due_at=now + dt.timedelta(days=1))
    assert Job.objects.filter(name="pledges.reminders").update(due_at=now - dt.timedelta(seconds=1)) == 1
    stats = Worker(exit_when_idle=True, heartbeat_thread=False, sync_periodic=False).run()
    assert stats.ran == 1 and stats.failed == 0
    subjects = set(Notification.objects.filter(recipient=world.member).values_list("subject", flat=True))
    assert subjects and all(s.startswith("承诺事项已逾期") for s in subjects)
    assert Notification.objects.filter(recipient=world.hebin_secretary).exists()
    assert Job.objects.get(name="pledges.reminders").due_at > now  # rescheduled for tomorrow

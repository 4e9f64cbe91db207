import pytest
from django.test import Client
from django.utils import timezone

from xianfeng.core.testing import race

from .. import services
from ..models import Pledge, PledgeEvent, Rating
from .factories import draft, make_round, published, resident

API = "/api/v1/pledges/"


def test_lifecycle_through_the_api(world, client_for):
    pledge_round = make_round(world)
    member, secretary = client_for("member"), client_for("hebin_secretary")
    due = timezone.localdate().isoformat()
    response = member.post(API, {"round": pledge_round.pk, "items": [
        {"kind": "service", "text": "年底前为本村5户低保户送米面油", "target_value": "5", "target_unit": "户",
         "due_date": due}]}, content_type="application/json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert member.post(f"{API}{pk}/submit/").json()["status"] == "submitted"
    item = response.json()["items"][0]["id"]
    assert secretary.post(f"{API}{pk}/review-item/", {"item": item, "ok": True},
                          content_type="application/json").status_code == 200
    assert secretary.post(f"{API}{pk}/approve/").json()["status"] == "approved"
    assert secretary.post(f"{API}{pk}/publish/").json()["status"] == "published"
    assert member.post(f"{API}{pk}/progress/", {"percent": 60, "text": "已送3户"},
                       content_type="application/json").json()["progress"] == 60
    assert member.post(f"{API}{pk}/fulfil/", {"evidence": "全部送到"}, content_type="application/json").status_code == 200
    assert secretary.post(f"{API}{pk}/confirm/").json()["status"] == "fulfilled"
    rater = Client()
    rater.force_login(resident(world))
    assert rater.post(f"{API}{pk}/rate/", {"value": "satisfied"}, content_type="application/json").status_code == 201
    assert rater.post(f"{API}{pk}/rate/", {"value": "basic"}, content_type="application/json").status_code == 409
    body = secretary.post(f"{API}{pk}/evaluate/", {"org_score": 90}, content_type="application/json").json()
    assert body["status"] == "evaluated" and body["score_total"] is not None
    assert secretary.post(f"{API}{pk}/recognise/").json()["status"] == "recognised"


def test_forbidden_transitions_answer_400_with_the_reason(world, client_for):
    pledge = draft(world)
    response = client_for("hebin_secretary").post(f"{API}{pledge.pk}/evaluate/", {"org_score": 90},
                                                  content_type="application/json")
    assert response.status_code == 400 and "草稿" in str(response.json())
    response = client_for("member").post(f"{API}{pledge.pk}/approve/")
    assert response.status_code == 400
    pledge.refresh_from_db()
    assert pledge.status == "draft"


def test_outsider_gets_404(world, client_for):
    pledge = draft(world)
    outsider = client_for("qinshan_secretary")
    assert outsider.get(f"{API}{pledge.pk}/").status_code == 404
    assert outsider.post(f"{API}{pledge.pk}/submit/").status_code == 404
    assert outsider.get(API).json()["count"] == 0
    assert client_for("resident").post(f"{API}{pledge.pk}/rate/", {"value": "satisfied"},
                                       content_type="application/json").status_code == 404  # not public


def test_unknown_fields_and_bad_values_are_400(world, client_for):
    pledge = published(world)
    member = client_for("member")
    assert member.post(f"{API}{pledge.pk}/progress/", {"percent": 500, "text": "x"},
                       content_type="application/json").status_code == 400
    assert member.post(f"{API}{pledge.pk}/progress/", {"percent": 5, "text": "x", "extra": 1},
                       content_type="application/json").status_code == 400


ACTIONS = ("submit", "review-item", "approve", "return", "publish", "progress", "fulfil", "confirm", "reject-claim",
           "not-fulfilled", "evaluate", "recognise", "close", "rate")


def test_openapi_documents_every_action(db, client_for, world):
    schema = client_for("county_admin").get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for action in ACTIONS:
        operation = paths[f"/api/v1/pledges/{{id}}/{action}/"]["post"]
        assert operation.get("summary"), action
        assert {"400", "404"} <= set(operation["responses"]), action
    assert "409" in paths["/api/v1/pledges/{id}/rate/"]["post"]["responses"]
    create = paths["/api/v1/pledges/"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "org" in schema["components"]["schemas"][create.rsplit("/", 1)[1]]["properties"]


def test_organisation_pledge_through_the_api(world, client_for):
    """组织承诺: the branch's secretary drafts it for the organisation; the town reviews it; an outsider gets 404."""
    pledge_round = make_round(world)
    due = timezone.localdate().isoformat()
    body = {"round": pledge_round.pk, "org": world.hebin_branch.pk, "items": [
        {"kind": "service", "text": "年内为河滨社区修好3处破损路灯", "due_date": due}]}
    assert client_for("qinshan_secretary").post(API, body, content_type="application/json").status_code == 404
    secretary = client_for("hebin_secretary")
    response = secretary.post(API, body, content_type="application/json")
    assert response.status_code == 201, response.content
    pledge = response.json()
    assert pledge["member"] is None and pledge["owner_name"] == "河滨社区党支部"
    response = secretary.post(f"{API}{pledge['id']}/submit/")
    assert response.json().get("status") == "submitted", response.json()
    assert secretary.post(f"{API}{pledge['id']}/approve/").status_code == 400  # not one's own
    town = client_for("wuyuan_admin")
    response = town.post(f"{API}{pledge['id']}/approve/")
    assert response.json().get("status") == "approved", response.json()
    assert client_for("qinshan_secretary").get(f"{API}{pledge['id']}/").status_code == 404


def test_reject_claim_and_close_through_the_api(world, client_for):
    pledge = published(world)
    member, secretary = client_for("member"), client_for("hebin_secretary")
    assert member.post(f"{API}{pledge.pk}/fulfil/", {"evidence": "全部送到"}, content_type="application/json").json()[
        "status"] == "claimed"
    assert secretary.post(f"{API}{pledge.pk}/reject-claim/", {"reason": "请补充照片"},
                          content_type="application/json").json()["status"] == "in_progress"
    assert member.post(f"{API}{pledge.pk}/fulfil/", {"evidence": "已补充照片三张"}, content_type="application/json").status_code == 200
    assert secretary.post(f"{API}{pledge.pk}/confirm/").json()["status"] == "fulfilled"
    assert secretary.post(f"{API}{pledge.pk}/close/", {"reason": "x"}, content_type="application/json").status_code == 400
    assert secretary.post(f"{API}{pledge.pk}/evaluate/", {"org_score": 70},
                          content_type="application/json").status_code == 200
    assert secretary.post(f"{API}{pledge.pk}/close/", {"reason": "未获表彰"},
                          content_type="application/json").json()["status"] == "closed"
    assert client_for("qinshan_secretary").post(f"{API}{pledge.pk}/close/", {"reason": "x"},
                                                content_type="application/json").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_ratings_leave_one_row(postgres_only, world):
    """Eight clients post the same resident's rating at once: one 201, the rest 409, one row (PostgreSQL)."""
    pledge = published(world)
    user = resident(world)
    clients = []
    for _ in range(8):
        client = Client()
        client.force_login(user)
        clients.append(client)

    def post(i):
        return clients[i].post(f"{API}{pledge.pk}/rate/", {"value": "satisfied"},
                               content_type="application/json").status_code

    assert sorted(race(8, post)) == [201] + [409] * 7
    assert Rating.objects.filter(pledge=pledge).count() == 1
    assert Pledge.objects.get(pk=pledge.pk).status == "published"


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviews_move_a_pledge_once(postgres_only, world, django_user_model):
    """Two reviewers approve the same pledge at once: one wins, the other gets 400, one event row (PostgreSQL)."""
    pledge = draft(world)
    services.pledge_submit(pledge=pledge, actor=world.member)
    reviewers = []
    for user in (world.hebin_secretary, world.wuyuan_admin):
        client = Client()
        client.force_login(user)
        reviewers.append(client)

    def approve(i):
        return reviewers[i].post(f"{API}{pledge.pk}/approve/").status_code

    assert sorted(race(2, approve)) == [200, 400]
    assert PledgeEvent.objects.filter(pledge=pledge, to_status="approved").count() == 1

import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from ..models import Pledge, Rating
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


def test_openapi_documents_the_actions(db, client_for, world):
    schema = client_for("county_admin").get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for action in ("submit", "approve", "return", "publish", "progress", "fulfil", "evaluate", "rate"):
        assert f"/api/v1/pledges/{{id}}/{action}/" in paths, action


@pytest.mark.django_db(transaction=True)
def test_concurrent_ratings_leave_one_row(postgres_only, world):
    """Eight threads post the same resident's rating at once: one 201, the rest 409, one row (PostgreSQL)."""
    pledge = published(world)
    user = resident(world)
    results = []
    barrier = threading.Barrier(8)

    def post():
        client = Client()
        client.force_login(user)
        barrier.wait()
        results.append(client.post(f"{API}{pledge.pk}/rate/", {"value": "satisfied"},
                                   content_type="application/json").status_code)
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 7
    assert Rating.objects.filter(pledge=pledge).count() == 1
    assert Pledge.objects.get(pk=pledge.pk).status == "published"

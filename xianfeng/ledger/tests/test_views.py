import pytest
from django.urls import reverse

from xianfeng.core.models import AuditEvent
from xianfeng.ledger.services import ledger_post


@pytest.fixture
def posted(book, award):
    award(book.zhang, 30, "v:1")
    award(book.wang, 7, "v:2")
    ledger_post(entries=[(book.zhang, -12), (book.pool, 12)], memo="兑换毛巾", kind="points.redeem", key="v:3")
    return book


def test_secretary_sees_accounts_of_the_own_subtree_only(client_for, posted):
    client = client_for("hebin_secretary")
    page = client.get(reverse("ledger:account_list")).content.decode()
    assert "张建国 积分" in page and "王海 积分" not in page and "县积分池" not in page
    assert client.get(reverse("ledger:account_detail", args=[posted.wang.pk])).status_code == 404
    assert client.get(reverse("ledger:statement_xlsx", args=[posted.wang.pk])).status_code == 404


def test_outsider_secretary_gets_404_on_a_wuyuan_account(client_for, posted):
    client = client_for("qinshan_secretary")
    assert client.get(reverse("ledger:account_detail", args=[posted.zhang.pk])).status_code == 404
    assert client.get(f"/api/v1/ledger-accounts/{posted.zhang.pk}/").status_code == 404
    assert client.get(f"/api/v1/ledger-accounts/{posted.zhang.pk}/statement/").status_code == 404


def test_statement_page_shows_running_balance(client_for, posted):
    response = client_for("hebin_secretary").get(reverse("ledger:account_detail", args=[posted.zhang.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "兑换毛巾" in body and 'data-testid="balance">18<' in body


def test_member_sees_and_exports_the_own_points_card_only(client_for, posted):
    client = client_for("member")
    listing = client.get(reverse("ledger:account_list")).content.decode()
    assert "张建国 积分" in listing and "县积分池" not in listing
    assert client.get(reverse("ledger:account_detail", args=[posted.pool.pk])).status_code == 404
    response = client.get(reverse("ledger:statement_xlsx", args=[posted.zhang.pk]))
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert AuditEvent.objects.filter(action="export", object_id=str(posted.zhang.pk)).exists()


def test_inspector_may_view_but_not_export(client_for, posted):
    client = client_for("inspector")
    assert client.get(reverse("ledger:account_detail", args=[posted.zhang.pk])).status_code == 200
    assert client.get(reverse("ledger:statement_xlsx", args=[posted.zhang.pk])).status_code == 404


def test_api_lists_accounts_and_statements_in_scope(client_for, posted):
    client = client_for("hebin_secretary")
    data = client.get("/api/v1/ledger-accounts/").json()
    assert [a["name"] for a in data["results"]] == ["张建国 积分"]
    lines = client.get(f"/api/v1/ledger-accounts/{posted.zhang.pk}/statement/").json()["results"]
    assert [(line["amount"], line["running_balance"]) for line in lines] == [(-12, 18), (30, 30)]
    assert client.post("/api/v1/ledger-accounts/", {}).status_code == 405


def test_list_pages_stay_within_a_few_queries(client_for, posted, django_assert_max_num_queries):
    client = client_for("county_admin")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("ledger:account_list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("ledger:account_detail", args=[posted.zhang.pk])).status_code == 200

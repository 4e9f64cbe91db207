"""Care funds on the ledger (allocations, the approval chain, the zero floor) and care cases with their visits."""

import datetime as dt

import pytest
from django.db import connection

from xianfeng.care import services
from xianfeng.care.models import CareAction, CareCase, Disbursement
from xianfeng.ledger.services import FloorCrossed, account_balance, ledger_verify
from xianfeng.notify.models import Notification


def fund_money(care, county=300_000_00):
    w = care.world
    services.fund_contribute(fund=care.county_fund, amount=county, memo="县财政拨款", key="c1", actor=w.county_admin)
    services.fund_allocate(source=care.county_fund, target=care.wuyuan_fund, amount=50_000_00, memo="", key="a1",
                           actor=w.county_admin)
    services.fund_allocate(source=care.wuyuan_fund, target=care.hebin_fund, amount=10_000_00, memo="", key="a2",
                           actor=w.wuyuan_admin)


def test_parse_yuan():
    assert services.parse_yuan("1,234.50") == 123450
    assert services.parse_yuan("3150000") == 315000000
    for bad in ["", "0", "-1", "1.234", "abc", "NaN"]:
        with pytest.raises(services.CareError):
            services.parse_yuan(bad)


def test_allocations_go_from_parent_to_direct_child_only_and_are_idempotent(care):
    fund_money(care)
    w = care.world
    assert account_balance(care.county_fund.account) == 250_000_00
    assert account_balance(care.wuyuan_fund.account) == 40_000_00
    assert account_balance(care.hebin_fund.account) == 10_000_00
    services.fund_allocate(source=care.wuyuan_fund, target=care.hebin_fund, amount=10_000_00, memo="", key="a2",
                           actor=w.wuyuan_admin)  # the same key again: nothing moves
    assert account_balance(care.hebin_fund.account) == 10_000_00
    with pytest.raises(services.CareError):
        services.fund_allocate(source=care.county_fund, target=care.hebin_fund, amount=1, memo="", key="skip",
                               actor=w.county_admin)
    with pytest.raises(services.CareError):  # not the owner
        services.fund_allocate(source=care.county_fund, target=care.wuyuan_fund, amount=1, memo="", key="x",
                               actor=w.hebin_secretary)
    with pytest.raises(FloorCrossed):
        services.fund_allocate(source=care.wuyuan_fund, target=care.hebin_fund, amount=40_000_01, memo="",
                               key="too-much", actor=w.wuyuan_admin)
    assert account_balance(care.wuyuan_fund.account) == 40_000_00
    assert ledger_verify().ok


def test_a_sub_fund_must_lie_inside_its_parent(care):
    with pytest.raises(services.CareError):
        services.fund_create(name="秦山", org=care.world.qinshan, owner=care.world.qinshan_secretary,
                             parent=care.wuyuan_fund, actor=care.world.county_admin)


def test_disbursement_goes_applicant_then_secretary_then_fund_owner_and_pays_once(care):
    fund_money(care)
    w = care.world
    d = services.disbursement_request(fund=care.hebin_fund, case=care.case, amount=800_00, reason="住院慰问",
                                      actor=care.volunteer)
    with pytest.raises(services.CareError):  # the owner cannot skip the secretary's review
        services.disbursement_decide(disbursement=d, actor=w.hebin_secretary, approve=True)
    with pytest.raises(services.CareError):  # an outsider cannot review
        services.disbursement_review(disbursement=d, actor=w.qinshan_secretary, approve=True)
    services.disbursement_review(disbursement=d, actor=w.hebin_secretary, approve=True)
    with pytest.raises(services.CareError):
        services.disbursement_decide(disbursement=d, actor=w.wuyuan_admin, approve=True)  # not this fund's owner
    d = services.disbursement_decide(disbursement=d, actor=w.hebin_secretary, approve=True)
    assert d.status == Disbursement.Status.PAID and d.transaction is not None
    assert account_balance(care.hebin_fund.account) == 9_200_00
    assert account_balance(services.aid_account()) == 800_00
    with pytest.raises(services.CareError):
        services.disbursement_decide(disbursement=d, actor=w.hebin_secretary, approve=True)
    assert account_balance(care.hebin_fund.account) == 9_200_00


def test_the_applicant_may_not_review_their_own_request(care):
    fund_money(care)
    d = services.disbursement_request(fund=care.hebin_fund, case=care.case, amount=100, reason="x",
                                      actor=care.world.hebin_secretary)
    with pytest.raises(services.CareError):
        services.disbursement_review(disbursement=d, actor=care.world.hebin_secretary, approve=True)


def test_a_rejection_needs_a_reason_and_moves_no_money(care):
    fund_money(care)
    d = services.disbursement_request(fund=care.hebin_fund, case=care.case, amount=100_00, reason="x",
                                      actor=care.volunteer)
    with pytest.raises(services.CareError):
        services.disbursement_review(disbursement=d, actor=care.world.hebin_secretary, approve=False, note="")
    d = services.disbursement_review(disbursement=d, actor=care.world.hebin_secretary, approve=False, note="材料不全")
    assert d.status == Disbursement.Status.REJECTED
    assert account_balance(care.hebin_fund.account) == 10_000_00


def test_a_fund_never_goes_below_zero(care):
    fund_money(care)
    w = care.world
    d = services.disbursement_request(fund=care.hebin_fund, case=care.case, amount=10_000_01, reason="x",
                                      actor=care.volunteer)
    services.disbursement_review(disbursement=d, actor=w.hebin_secretary, approve=True)
    with pytest.raises(FloorCrossed):
        services.disbursement_decide(disbursement=d, actor=w.hebin_secretary, approve=True)
    d.refresh_from_db()
    assert d.status == Disbursement.Status.REVIEWED and d.transaction is None
    assert account_balance(care.hebin_fund.account) == 10_000_00


def test_statement_for_a_period_and_its_export(care, client_for):
    fund_money(care)
    rows = list(services.fund_statement(care.wuyuan_fund))
    assert [e.amount for e in rows] == [50_000_00, -10_000_00]
    assert [e.running_balance for e in rows] == [50_000_00, 40_000_00]
    assert list(services.fund_statement(care.wuyuan_fund, start=dt.date(2000, 1, 1), end=dt.date(2000, 12, 31))) == []
    response = client_for("wuyuan_admin").get(f"/care/funds/{care.wuyuan_fund.pk}/statement.xlsx")
    assert response.status_code == 200
    from xianfeng.core.excel import read_table

    table = read_table(b"".join(response.streaming_content), filename="s.xlsx")
    assert len(table.rows) == 2
    assert client_for("qinshan_secretary").get(f"/care/funds/{care.wuyuan_fund.pk}/statement.xlsx").status_code == 404


# --- cases ---------------------------------------------------------------------------------------------------------


def test_a_visit_moves_the_next_visit_and_an_overdue_case_is_flagged_once_to_its_secretary(care):
    case = care.case
    assert services.cases_flag_overdue(today=dt.date(2026, 3, 10)) == 0
    assert services.cases_flag_overdue(today=dt.date(2026, 3, 11)) == 1
    assert services.cases_flag_overdue(today=dt.date(2026, 3, 12)) == 0
    note = Notification.objects.get(kind="care.visit_overdue")
    assert note.recipient == care.world.hebin_secretary
    services.action_record(case=case, kind=CareAction.Kind.VISIT, date=dt.date(2026, 3, 12), notes="上门走访，身体尚可",
                           actor=care.volunteer, today=dt.date(2026, 3, 12))
    case.refresh_from_db()
    assert case.next_visit_due == dt.date(2026, 4, 11)
    # an older visit recorded late does not move the due date back
    services.action_record(case=case, kind=CareAction.Kind.SPRING_BREEZE, date=dt.date(2026, 3, 5), notes="春风行动",
                           actor=care.volunteer, today=dt.date(2026, 3, 12))
    case.refresh_from_db()
    assert case.next_visit_due == dt.date(2026, 4, 11)


def test_actions_refuse_future_dates_and_strangers(care):
    with pytest.raises(services.CareError):
        services.action_record(case=care.case, kind="visit", date=dt.date(2026, 3, 13), notes="x", actor=care.volunteer,
                               today=dt.date(2026, 3, 12))
    with pytest.raises(services.CareError):
        services.action_record(case=care.case, kind="visit", date=dt.date(2026, 3, 1), notes="x",
                               actor=care.world.qinshan_secretary, today=dt.date(2026, 3, 12))
    assert not CareAction.objects.exists()


def test_one_open_case_per_member(care):
    with pytest.raises(services.CareError):
        services.case_open(member=care.case.member, org=care.world.hebin, reason=CareCase.Reason.SICK,
                           actor=care.world.hebin_secretary)


# --- concurrency (PostgreSQL) --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_disbursements_never_overdraw_the_fund(postgres_only, care):
    from xianfeng.core.testing import race

    fund_money(care)  # the 河滨 fund holds 10,000 yuan
    w = care.world
    requests = []
    for i in range(6):
        d = services.disbursement_request(fund=care.hebin_fund, case=care.case, amount=3_000_00, reason=f"帮扶{i}",
                                          actor=care.volunteer)
        requests.append(services.disbursement_review(disbursement=d, actor=w.hebin_secretary, approve=True))
    outcomes = race(len(requests), lambda i: services.disbursement_decide(disbursement=requests[i],
                                                                          actor=w.hebin_secretary, approve=True))
    paid = [o for o in outcomes if isinstance(o, Disbursement)]
    short = [o for o in outcomes if isinstance(o, FloorCrossed)]
    assert (len(paid), len(short)) == (3, 3), outcomes
    assert account_balance(care.hebin_fund.account) == 1_000_00
    assert Disbursement.objects.filter(status=Disbursement.Status.PAID).count() == 3
    assert connection.vendor == "postgresql" and ledger_verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_take_a_parent_fund_below_zero(postgres_only, care):
    from xianfeng.core.testing import race

    services.fund_contribute(fund=care.county_fund, amount=1_000_00, memo="设立", key="race", actor=care.world.county_admin)
    outcomes = race(5, lambda i: services.fund_allocate(source=care.county_fund, target=care.wuyuan_fund,
                                                        amount=300_00, memo="下拨", key=f"race-{i}",
                                                        actor=care.world.county_admin))
    assert sum(isinstance(o, FloorCrossed) for o in outcomes) == 2, outcomes
    assert account_balance(care.county_fund.account) == 100_00
    assert account_balance(care.wuyuan_fund.account) == 900_00


@pytest.mark.django_db(transaction=True)
def test_the_same_press_by_http_and_mqtt_at_once_raises_one_alert(postgres_only, care):
    from xianfeng.care.models import Alert, DeviceEvent
    from xianfeng.core.testing import race

    envelopes = [services.signed_envelope(care.device, {"event_id": "both-ways", "type": "press"}) for _ in range(4)]
    outcomes = race(4, lambda i: services.ingest(serial=care.device.serial, body=envelopes[i]["body"].encode(),
                                                 timestamp=envelopes[i]["ts"], nonce=envelopes[i]["nonce"],
                                                 signature=envelopes[i]["sig"], source=("http", "mqtt")[i % 2]))
    assert sorted(o.status for o in outcomes) == [200, 200, 200, 201], outcomes
    assert Alert.objects.count() == 1 and {o.alert.pk for o in outcomes} == {Alert.objects.get().pk}
    assert DeviceEvent.objects.filter(outcome="duplicate").count() == 3

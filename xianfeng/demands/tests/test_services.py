"""Claims, lapses, pairings, service records and confirmation."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from xianfeng.core.testing import make_member
from xianfeng.demands.models import Claim, Demand, ServiceRecord
from xianfeng.demands.services import (
    AlreadyClaimed,
    AlreadyConfirmed,
    DemandConflict,
    DemandNotOpen,
    claim_withdraw,
    claims_lapse,
    demand_claim,
    demand_close,
    demand_create,
    demands_expire,
    pairing_create,
    service_confirm,
    service_record,
)
from xianfeng.ledger.services import ledger_verify
from xianfeng.notify.models import Notification
from xianfeng.points.services import balance_of


def make_demand(world, **kw):
    values = {"org": world.hebin, "category": "助老", "description": "陪老人买菜", "actor": world.hebin_secretary} | kw
    return demand_create(**values)


def test_second_claim_loses(world):
    demand = make_demand(world)
    demand_claim(demand=demand, member=world.members["hebin_a"], actor=None)
    with pytest.raises(AlreadyClaimed):
        demand_claim(demand=demand, member=world.members["hebin_b"], actor=None)
    demand.refresh_from_db()
    assert demand.status == Demand.Status.CLAIMED and demand.claimed_count == 1


def test_group_job_fills_exactly_to_capacity(world):
    demand = make_demand(world, capacity=2)
    third = make_member("赵三", world.hebin_branch)
    demand_claim(demand=demand, member=world.members["hebin_a"], actor=None)
    demand.refresh_from_db()
    assert demand.status == Demand.Status.OPEN
    with pytest.raises(AlreadyClaimed):
        demand_claim(demand=demand, member=world.members["hebin_a"], actor=None)  # the same member twice
    demand_claim(demand=demand, member=world.members["hebin_b"], actor=None)
    with pytest.raises(AlreadyClaimed):
        demand_claim(demand=demand, member=third, actor=None)
    demand.refresh_from_db()
    assert (demand.status, demand.claimed_count, demand.claims.count()) == (Demand.Status.CLAIMED, 2, 2)


def test_member_of_another_village_cannot_claim(world):
    with pytest.raises(ValidationError):
        demand_claim(demand=make_demand(world), member=world.members["qinshan_a"], actor=None)


def test_closed_or_expired_demand_cannot_be_claimed(world):
    closed = demand_close(demand=make_demand(world), reason="已解决", actor=world.hebin_secretary)
    with pytest.raises(DemandNotOpen):
        demand_claim(demand=closed, member=world.members["hebin_a"], actor=None)
    old = make_demand(world, expires_on=dt.date(2020, 1, 1))
    assert demands_expire() == 1
    with pytest.raises(DemandNotOpen):
        demand_claim(demand=old, member=world.members["hebin_a"], actor=None)


def test_unstarted_claim_lapses_back_to_open_and_notifies(world):
    demand = make_demand(world)
    member = world.members["hebin_a"]
    claim = demand_claim(demand=demand, member=member, at=timezone.now() - dt.timedelta(days=8), actor=None)
    fresh = demand_claim(demand=make_demand(world), member=member, actor=None)
    assert claims_lapse() == 1
    assert claims_lapse() == 0
    claim.refresh_from_db()
    demand.refresh_from_db()
    fresh.refresh_from_db()
    assert claim.status == Claim.Status.LAPSED and fresh.status == Claim.Status.CLAIMED
    assert demand.status == Demand.Status.OPEN and demand.claimed_count == 0
    assert Notification.objects.filter(recipient=world.member, kind="demands.lapsed").exists()
    assert Notification.objects.filter(recipient=world.hebin_secretary, kind="demands.lapsed").exists()
    demand_claim(demand=demand, member=world.members["hebin_b"], actor=None)  # open again


def test_withdrawn_claim_gives_the_place_back(world):
    demand = make_demand(world)
    claim = demand_claim(demand=demand, member=world.members["hebin_a"], actor=None)
    claim_withdraw(claim=claim, actor=world.member)
    with pytest.raises(DemandConflict):
        claim_withdraw(claim=claim, actor=world.member)
    demand.refresh_from_db()
    assert demand.status == Demand.Status.OPEN


def test_confirmed_service_awards_points_once_and_completes_the_demand(world):
    demand = make_demand(world, source="resident", actor=world.resident)
    member = world.members["hebin_a"]
    demand_claim(demand=demand, member=member, actor=None)
    record = service_record(member=member, demand=demand, served_on=timezone.localdate(), minutes=120,
                            notes="陪同买菜并送回家", actor=None)
    assert Claim.objects.get().status == Claim.Status.STARTED
    assert balance_of(member) == 0  # not confirmed yet
    service_confirm(record=record, rating="satisfied", actor=world.resident)
    assert balance_of(member) == 2 + 4 + 2
    with pytest.raises(AlreadyConfirmed):
        service_confirm(record=record, rating="satisfied", actor=world.resident)
    assert balance_of(member) == 8
    demand.refresh_from_db()
    record.refresh_from_db()
    assert demand.status == Demand.Status.DONE and record.points == 8 and not record.on_behalf
    assert Claim.objects.get().status == Claim.Status.DONE
    assert ledger_verify().ok


def test_staff_confirm_on_behalf_and_outsiders_cannot(world):
    demand = make_demand(world)
    member = world.members["hebin_a"]
    demand_claim(demand=demand, member=member, actor=None)
    record = service_record(member=member, demand=demand, served_on=timezone.localdate(), minutes=30, notes="修水管", actor=None)
    with pytest.raises(ValidationError):
        service_confirm(record=record, rating="satisfied", actor=world.qinshan_secretary)
    with pytest.raises(ValidationError):
        service_confirm(record=record, rating="great", actor=world.hebin_secretary)
    service_confirm(record=record, rating="fair", actor=world.hebin_secretary)
    record.refresh_from_db()
    assert record.on_behalf and record.status == ServiceRecord.Status.CONFIRMED


@pytest.mark.parametrize("minutes", [0, -5, 1441, "abc", 2.5])
def test_absurd_duration_is_a_field_error(world, minutes):
    demand = make_demand(world)
    member = world.members["hebin_a"]
    demand_claim(demand=demand, member=member, actor=None)
    with pytest.raises(ValidationError) as exc:
        service_record(member=member, demand=demand, served_on=timezone.localdate(), minutes=minutes, notes="x", actor=None)
    assert "minutes" in exc.value.message_dict
    assert not ServiceRecord.objects.exists()


def test_recording_without_a_claim_is_refused(world):
    with pytest.raises(DemandConflict):
        service_record(member=world.members["hebin_a"], demand=make_demand(world), served_on=timezone.localdate(),
                       minutes=30, notes="x", actor=None)


def test_pairing_services_accumulate_and_recurring_demand_stays_claimed(world):
    member = world.members["hebin_a"]
    pairing = pairing_create(org=world.hebin, member=member, household="5-102", start=dt.date(2026, 1, 1), actor=None)
    with pytest.raises(ValidationError):
        pairing_create(org=world.hebin, member=member, household="5-102", start=dt.date(2026, 1, 1), actor=None)
    demand = make_demand(world, recurring=True, household="5-102")
    demand_claim(demand=demand, member=member, actor=None)
    for day in (1, 8):
        r = service_record(member=member, demand=demand, pairing=pairing, served_on=dt.date(2026, 3, day),
                           minutes=60, notes="每周探望", actor=None)
        service_confirm(record=r, rating="satisfied", actor=world.hebin_secretary)
    demand.refresh_from_db()
    assert demand.status == Demand.Status.CLAIMED and pairing.records.count() == 2


def test_services_refuse_an_actor_out_of_reach_before_writing(world):
    from xianfeng.core.policy import NotAllowed, NotFound

    outsider = world.users["qinshan_secretary"]
    with pytest.raises(NotFound):
        demand_create(org=world.hebin, category="助老", description="越权登记", actor=outsider)
    demand = demand_create(org=world.hebin, category="助老", description="陪同复诊", actor=world.hebin_secretary)
    with pytest.raises(NotFound):
        demand_close(demand=demand, reason="越权关闭", actor=outsider)
    with pytest.raises(NotAllowed):  # a member claims for himself only
        demand_claim(demand=demand, member=world.members["hebin_a"], actor=world.hebin_secretary)
    demand.refresh_from_db()
    assert demand.status == Demand.Status.OPEN and demand.claimed_count == 0
    assert Demand.objects.filter(description="越权登记").count() == 0

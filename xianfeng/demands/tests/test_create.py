"""demand_create: what the grids module and the pages call."""

import pytest
from django.core.exceptions import ValidationError

from xianfeng.core.models import AuditEvent
from xianfeng.demands.models import Demand
from xianfeng.demands.services import demand_create


def test_create_records_an_open_demand_and_audits_it(world):
    demand = demand_create(org=world.hebin, category="助老", description="独居老人需要每周买菜", household="3-201",
                           address="河滨路3号201", urgency="urgent", recurring=True, preferred_times="周六上午",
                           source="visit", actor=world.hebin_secretary)
    assert demand.status == Demand.Status.OPEN and demand.capacity == 1 and demand.source == "visit"
    assert demand.created_by == world.hebin_secretary
    assert AuditEvent.objects.filter(model="demands.Demand", object_id=str(demand.pk)).exists()


@pytest.mark.parametrize("field,kwargs", [
    ("category", {"category": "打麻将"}),
    ("urgency", {"urgency": "now"}),
    ("source", {"source": "email"}),
    ("description", {"description": "  "}),
    ("capacity", {"capacity": 0}),
])
def test_bad_input_is_a_field_error_and_writes_nothing(world, field, kwargs):
    values = {"org": world.hebin, "category": "助老", "description": "陪同就医", "actor": world.hebin_secretary} | kwargs
    with pytest.raises(ValidationError) as exc:
        demand_create(**values)
    assert field in exc.value.message_dict
    assert not Demand.objects.exists()

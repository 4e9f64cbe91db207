"""Registering and changing devices, their responder chains, escalation policies and care cases through the pages:
field errors for bad input (nothing written), audit rows, and an outsider (Qinshan's secretary) gets 404."""

import pytest
from django.urls import reverse

from xianfeng.care.models import CareCase, Device, DeviceContact, EscalationPolicy
from xianfeng.core.models import AuditEvent


def device_data(care, **overrides):
    data = {"serial": "YJT-0100", "model": "YJT-200", "case": care.case.pk, "org": care.world.hebin.pk,
            "address": "河滨社区5幢101室", "grid": "河滨2网格", "heartbeat_minutes": "30", "policy": ""}
    data.update(overrides)
    return data


def test_staff_register_a_device_and_see_its_key_once(care, client_for):
    client = client_for("hebin_secretary")
    assert client.get(reverse("care:device_new")).status_code == 200
    response = client.post(reverse("care:device_new"), device_data(care))
    device = Device.objects.get(serial="YJT-0100")
    assert response.status_code == 302 and response["Location"].endswith("?secret=1")
    assert (device.holder, device.case, device.org, device.grid) == (care.case.member.person, care.case,
                                                                     care.world.hebin, "河滨2网格")
    assert AuditEvent.objects.filter(model="care.Device", action="create").exists()


@pytest.mark.parametrize("overrides,field", [
    ({"serial": "YJT-0001"}, "serial"),  # taken
    ({"serial": "bad serial!"}, "serial"),
    ({"heartbeat_minutes": "0"}, "heartbeat_minutes"),
    ({"heartbeat_minutes": "abc"}, "heartbeat_minutes"),
    ({"address": ""}, "address"),
    ({"org": "999999"}, "org"),
])
def test_bad_device_input_gets_a_field_error_and_writes_nothing(care, client_for, overrides, field):
    response = client_for("hebin_secretary").post(reverse("care:device_new"), device_data(care, **overrides))
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert Device.objects.count() == 1


def test_a_policy_of_another_community_is_refused_for_a_device(care, client_for):
    other = EscalationPolicy.objects.create(org=care.world.qinshan, name="秦山", channels=["in_app"])
    response = client_for("county_admin").post(reverse("care:device_new"), device_data(care, policy=other.pk))
    assert response.status_code == 400 and response.context["form"].errors["policy"]
    assert Device.objects.count() == 1


def test_staff_change_a_device_and_its_chain(care, client_for):
    client = client_for("hebin_secretary")
    url = reverse("care:device_edit", args=[care.device.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"model": "x", "address": "", "heartbeat_minutes": "10"})
    assert bad.status_code == 400 and bad.context["form"].errors["address"]
    ok = client.post(url, {"model": "YJT-300", "address": "新地址", "grid": "", "heartbeat_minutes": "10",
                           "policy": care.policy.pk, "is_active": "on"})
    assert ok.status_code == 302
    care.device.refresh_from_db()
    assert (care.device.model, care.device.heartbeat_minutes, care.device.policy) == ("YJT-300", 10, care.policy)
    contacts = reverse("care:device_contact", args=[care.device.pk])
    assert client.post(contacts, {"username": "nobody", "level": "1", "relation": "family"}).status_code == 400
    assert client.post(contacts, {"username": "hebin_duty", "level": "2", "relation": "grid"}).status_code == 302
    added = DeviceContact.objects.get(device=care.device, user=care.hebin_duty)
    assert added.level == 2
    client.post(contacts, {"remove": added.pk})
    assert not DeviceContact.objects.filter(pk=added.pk).exists()
    assert AuditEvent.objects.filter(model="care.DeviceContact", action="delete").exists()
    page = client.get(reverse("care:device_detail", args=[care.device.pk])).content.decode()
    assert 'data-testid="contact-form"' in page and "YJT-300" in page


def test_device_writes_are_404_to_an_outsider_and_to_view_only_staff(care, client_for):
    from django.test import Client

    outsider = client_for("qinshan_secretary")
    for name in ["device_edit", "device_contact"]:
        url = reverse(f"care:{name}", args=[care.device.pk])
        assert outsider.get(url).status_code in (404, 405)
        assert outsider.post(url, {"username": "volunteer", "level": "1", "relation": "family",
                                   "address": "x", "heartbeat_minutes": "5"}).status_code == 404
    duty = Client()
    duty.force_login(care.hebin_duty)  # sees the device, may not change it
    assert duty.get(reverse("care:device_detail", args=[care.device.pk])).status_code == 200
    assert duty.get(reverse("care:device_edit", args=[care.device.pk])).status_code == 404
    assert duty.get(reverse("care:device_new")).status_code == 404
    outsider_new = outsider.post(reverse("care:device_new"), device_data(care, serial="YJT-0200"))
    assert outsider_new.status_code == 400 and not Device.objects.filter(serial="YJT-0200").exists()
    assert DeviceContact.objects.count() == 3


def test_policies_are_listed_created_and_changed_in_scope(care, client_for):
    client = client_for("hebin_secretary")
    assert "河滨社区响应链" in client.get(reverse("care:policy_list")).content.decode()
    assert "河滨社区响应链" not in client_for("qinshan_secretary").get(reverse("care:policy_list")).content.decode()
    bad = client.post(reverse("care:policy_new"), {"org": care.world.hebin.pk, "name": "快", "ack_timeout_seconds": "2",
                                                   "repeat_seconds": "30", "channels": ["sms"]})
    assert bad.status_code == 400 and bad.context["form"].errors["ack_timeout_seconds"]
    no_channel = client.post(reverse("care:policy_new"), {"org": care.world.hebin.pk, "name": "快",
                                                          "ack_timeout_seconds": "30", "repeat_seconds": "30"})
    assert no_channel.status_code == 400 and no_channel.context["form"].errors["channels"]
    assert EscalationPolicy.objects.count() == 1
    ok = client.post(reverse("care:policy_new"), {"org": care.world.hebin.pk, "name": "夜间", "ack_timeout_seconds": "30",
                                                  "repeat_seconds": "45", "channels": ["in_app", "sms"],
                                                  "is_default": "on"})
    assert ok.status_code == 302
    night = EscalationPolicy.objects.get(name="夜间")
    care.policy.refresh_from_db()
    assert night.is_default and not care.policy.is_default  # one default per community
    edit = reverse("care:policy_edit", args=[night.pk])
    assert client.post(edit, {"name": "夜间", "ack_timeout_seconds": "40", "repeat_seconds": "45",
                              "channels": ["in_app"], "is_default": "on"}).status_code == 302
    night.refresh_from_db()
    assert (night.ack_timeout_seconds, night.channels) == (40, ["in_app"])
    outsider = client_for("qinshan_secretary")
    assert outsider.get(edit).status_code == 404
    assert outsider.post(edit, {"name": "x", "ack_timeout_seconds": "40", "repeat_seconds": "45",
                                "channels": ["in_app"]}).status_code == 404
    assert outsider.post(reverse("care:policy_new"), {"org": care.world.hebin.pk, "name": "x",
                                                      "ack_timeout_seconds": "30", "repeat_seconds": "30",
                                                      "channels": ["sms"]}).status_code == 400
    assert EscalationPolicy.objects.count() == 2


def test_staff_open_a_care_case_by_id_number_with_carers(care, client_for):
    client = client_for("hebin_secretary")
    member = care.world.members["hebin_a"]
    url = reverse("care:case_new")
    assert client.get(url).status_code == 200
    data = {"id_number": member.person.id_number, "org": care.world.hebin.pk, "reason": "sick",
            "visit_every_days": "14", "carers": "volunteer, family", "notes": "术后休养"}
    for bad, field in [({"id_number": "330424"}, "id_number"), ({"carers": "volunteer ghost"}, "carers"),
                       ({"visit_every_days": "0"}, "visit_every_days"), ({"reason": "bored"}, "reason"),
                       ({"id_number": care.case.member.person.id_number}, "id_number")]:  # already under care
        response = client.post(url, {**data, **bad})
        assert response.status_code == 400 and response.context["form"].errors.get(field), (bad, response.context[
            "form"].errors)
    assert CareCase.objects.count() == 1
    response = client.post(url, data)
    case = CareCase.objects.get(member=member)
    assert response.status_code == 302 and set(case.carers.all()) == {care.volunteer, care.family}
    assert case.visit_every_days == 14
    carers = reverse("care:case_carers", args=[case.pk])
    client.post(carers, {"carers": "grid_worker"})
    assert list(case.carers.all()) == [care.grid]
    outsider = client_for("qinshan_secretary")
    assert outsider.post(carers, {"carers": "volunteer"}).status_code == 404
    qinshan_member = care.world.members.get("qinshan_a")
    if qinshan_member is not None:  # a member outside the secretary's organisations is not found
        response = client.post(url, {**data, "id_number": qinshan_member.person.id_number})
        assert response.status_code == 400 and response.context["form"].errors["id_number"]
    assert list(case.carers.all()) == [care.grid]

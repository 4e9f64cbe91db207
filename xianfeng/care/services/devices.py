"""One-key call devices: registration, their responders, escalation policies."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.policy import allows
from xianfeng.notify.models import Channel
from xianfeng.orgs.models import Organisation

from ..conf import alert_channels, conf
from ..models import (
    CareCase,
    Device,
    DeviceContact,
    EscalationPolicy,
)
from .common import CareError, clean_text

# ---------------------------------------------------------------------------------------------------------- devices


@transaction.atomic
def policy_save(*, org: Organisation, name: str, actor: Any, ack_timeout_seconds: int = 60, repeat_seconds: int = 60,
                channels: list[str] | None = None, is_default: bool = True,
                policy: EscalationPolicy | None = None) -> EscalationPolicy:
    """Create (or, given `policy`, change) an escalation policy. A change applies to alerts raised afterwards: each
    alert keeps the copy it was raised with. Raises CareError."""
    if not allows(actor, "change", org):
        raise CareError("无权设置该组织的响应链")
    for field, value in (("ack_timeout_seconds", ack_timeout_seconds), ("repeat_seconds", repeat_seconds)):
        if not isinstance(value, int) or isinstance(value, bool) or not 5 <= value <= 3600:
            raise CareError({field: ["须为5到3600秒"]})
    channels = list(channels if channels is not None else alert_channels())
    unknown = set(channels) - set(Channel.values)
    if unknown or not channels:
        raise CareError({"channels": [f"渠道无效：{', '.join(sorted(unknown)) or '至少选一个'}"]})
    before = snapshot(policy) if policy else None
    if is_default:
        EscalationPolicy.objects.filter(org=org, is_default=True).exclude(pk=getattr(policy, "pk", None)).update(
            is_default=False)
    policy = policy or EscalationPolicy(org=org)
    policy.name = clean_text(name, "name", 100)
    policy.ack_timeout_seconds, policy.repeat_seconds = ack_timeout_seconds, repeat_seconds
    policy.channels, policy.is_default = channels, is_default
    policy.save()
    audit_record(by=actor, action="update" if before else "create", obj=policy, before=before, after=snapshot(policy),
                 summary=f"响应链 {policy.name}")
    return policy


def _offline_after(device: Device, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(minutes=device.heartbeat_minutes * float(conf("CARE_OFFLINE_AFTER_INTERVALS")))


@transaction.atomic
def device_register(*, serial: str, holder: Any, org: Organisation, address: str, actor: Any, model: str = "",
                    grid: str = "", case: CareCase | None = None, heartbeat_minutes: int = 30,
                    policy: EscalationPolicy | None = None, installed_on: dt.date | None = None,
                    now: dt.datetime | None = None) -> Device:
    """Register a device with a fresh signing secret (shown to the installer once, on the device's page for staff).
    Raises CareError."""
    if not allows(actor, "change", org):
        raise CareError("无权在该组织登记设备")
    serial = clean_text(serial, "serial", 40)
    if not re.match(r"^[A-Za-z0-9_\-]+$", serial):
        raise CareError({"serial": ["序列号只能含字母、数字、横线和下划线"]})
    if Device.objects.filter(serial=serial).exists():
        raise CareError({"serial": ["该序列号已登记"]})
    _check_heartbeat(heartbeat_minutes)
    _check_policy(policy, org)
    if case is not None and not allows(actor, "change", case):  # (the case may be kept by the member's workplace)
        raise CareError({"case": ["无权关联该关爱对象"]})
    if getattr(holder, "pk", None) is None:
        raise CareError({"holder": ["须指定使用人"]})
    now = now or timezone.now()
    device = Device(serial=serial, model=clean_text(model, "model", 60, required=False), holder=holder, org=org,
                    address=clean_text(address, "address", 200), grid=clean_text(grid, "grid", 60, required=False), case=case,
                    policy=policy, secret=secrets.token_hex(32), heartbeat_minutes=heartbeat_minutes,
                    installed_on=installed_on or timezone.localdate(now))
    device.offline_after = _offline_after(device, now)
    device.save()
    audit_record(by=actor, action="create", obj=device, after={"serial": serial, "org": org.pk},
                 summary=f"登记一键通设备 {serial}")
    return device


@transaction.atomic
def device_contact_add(*, device: Device, user: Any, level: int, relation: str, actor: Any) -> DeviceContact:
    if not allows(actor, "change", device):
        raise CareError("无权修改该设备的响应人")
    if level not in (1, 2) or relation not in DeviceContact.Relation.values:
        raise CareError({"level": ["级别须为1（志愿者、家属）或2（网格团队）"]})
    if not getattr(user, "is_active", False):
        raise CareError({"user": ["响应人须为有效用户"]})
    contact, _ = DeviceContact.objects.get_or_create(device=device, user=user, level=level,
                                                     defaults={"relation": relation})
    audit_record(by=actor, action="create", obj=contact, summary=f"设备 {device.serial} 增加{level}级响应人 {user}")
    return contact


def _check_policy(policy: EscalationPolicy | None, org: Organisation) -> None:
    """A device may name a policy of its own organisation or of one above it."""
    if policy is not None and not org.path.startswith(policy.org.path):
        raise CareError({"policy": ["响应链须属于设备所在组织或其上级"]})


def _check_heartbeat(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 24 * 60:
        raise CareError({"heartbeat_minutes": ["心跳间隔须为1到1440分钟"]})
    return value


@transaction.atomic
def device_update(*, device: Device, actor: Any, model: str, address: str, grid: str = "", heartbeat_minutes: int,
                  policy: EscalationPolicy | None = None, is_active: bool = True,
                  now: dt.datetime | None = None) -> Device:
    """Change a device's facts, its heartbeat interval (the offline deadline moves with it), its policy, or switch it
    off (an inactive device's messages are refused and it is never marked offline). Raises CareError."""
    if not allows(actor, "change", device):
        raise CareError("无权修改该设备")
    _check_policy(policy, device.org)
    before = snapshot(device)
    device.model = clean_text(model, "model", 60, required=False)
    device.address = clean_text(address, "address", 200)
    device.grid = clean_text(grid, "grid", 60, required=False)
    device.heartbeat_minutes = _check_heartbeat(heartbeat_minutes)
    device.policy, device.is_active = policy, bool(is_active)
    device.offline_after = _offline_after(device, device.last_heartbeat_at or now or timezone.now())
    device.save(update_fields=["model", "address", "grid", "heartbeat_minutes", "policy", "is_active",
                               "offline_after"])
    audit_record(by=actor, action="update", obj=device, before=before, after=snapshot(device),
                 summary=f"修改一键通设备 {device.serial}")
    return device


@transaction.atomic
def device_contact_remove(*, contact: DeviceContact, actor: Any) -> None:
    """Take a person off a device's chain (alerts already raised keep the chain they were raised with)."""
    device = contact.device
    if not allows(actor, "change", device):
        raise CareError("无权修改该设备的响应人")
    audit_record(by=actor, action="delete", model="care.DeviceContact", object_id=str(contact.pk),
                 before={"device": device.serial, "user": contact.user_id, "level": contact.level},
                 summary=f"设备 {device.serial} 移除{contact.level}级响应人 {contact.user}")
    contact.delete()

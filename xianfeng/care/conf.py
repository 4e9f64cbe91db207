"""The care module's settings: from django.conf.settings when set there, else from the environment, else defaults."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Ingress: a signed request whose timestamp is further than this from the server's clock is refused.
    "CARE_INGRESS_MAX_SKEW_SECONDS": 300,
    # Escalation defaults for a community without a policy of its own (the telecare reference answers in 60 s).
    "CARE_ACK_TIMEOUT_SECONDS": 60,
    "CARE_REPEAT_SECONDS": 60,
    "CARE_ALERT_CHANNELS": "in_app,sms",
    # Run the first call of a new alert in the request that raised it, as soon as its transaction commits (the
    # worker's job for the same step is the guarantee, and the step runs once whichever comes first).
    "CARE_INLINE_FIRST_STEP": True,
    # A pending step this late is run by the rescue job even if its own job was lost (parked, deleted).
    "CARE_RESCUE_AFTER_SECONDS": 30,
    # A one-tap acknowledgement link is valid this long.
    "CARE_ACK_LINK_MAX_AGE": 7 * 24 * 3600,
    # A device is offline when no heartbeat came for this many of its heartbeat intervals.
    "CARE_OFFLINE_AFTER_INTERVALS": 1.5,
    "CARE_LOW_BATTERY_PCT": 20,
    # An offline device is not a call for help: its alert waits longer per level and repeats less often.
    "CARE_OFFLINE_ACK_TIMEOUT_SECONDS": 600,
    "CARE_OFFLINE_REPEAT_SECONDS": 3600,
    # MQTT: `xianfeng mqtt` subscribes to CARE_MQTT_TOPIC (the + is the device serial).
    "CARE_MQTT_HOST": "127.0.0.1",
    "CARE_MQTT_PORT": 1883,
    "CARE_MQTT_USERNAME": "",
    "CARE_MQTT_PASSWORD": "",
    "CARE_MQTT_TOPIC": "xianfeng/devices/+/events",
    "CARE_MQTT_CLIENT_ID": "xianfeng-care",  # a prefix: each process adds its host name, pid and a random suffix
    # Subscribers in one group split the devices' messages ($share/<group>/<topic>); empty = a plain subscription.
    "CARE_MQTT_SHARE_GROUP": "xianfeng",
    "CARE_MQTT_BACKOFF_MAX_SECONDS": 60,  # reconnect tries wait 1, 2, 4 … up to this many seconds
}


def conf(name: str) -> Any:
    """settings.<name>, else the environment variable <name> (converted to the default's type), else the default."""
    default = DEFAULTS[name]
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def alert_channels() -> list[str]:
    value = conf("CARE_ALERT_CHANNELS")
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [c.strip() for c in items if c.strip()]

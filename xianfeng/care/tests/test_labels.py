"""A responder chain's channels are shown by name (站内信、短信), never as their keys."""

from xianfeng.care.models import EscalationPolicy


def test_channels_are_named():
    assert EscalationPolicy(channels=["in_app", "sms"]).channel_labels == "站内信、短信"
    assert EscalationPolicy(channels=[]).channel_labels == ""

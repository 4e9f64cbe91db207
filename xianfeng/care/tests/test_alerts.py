"""Ingress (HMAC, replay, idempotency) and escalation with a controllable clock: every step is called at its time,
acknowledgement stops it, and nobody is paged twice for one step."""

import datetime as dt

import pytest

from xianfeng.care import services
from xianfeng.care.models import Alert, AlertStep, DeviceEvent, DeviceNonce
from xianfeng.jobs.models import Job
from xianfeng.notify.models import Notification

from .conftest import T0, press


def secs(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def paged(alert, step_seq=None):
    prefix = f"care.alert:{alert.pk}:step:" + (str(step_seq) if step_seq else "")
    return sorted(Notification.objects.filter(key__startswith=prefix).values_list("recipient__username", flat=True))


# --- ingress -------------------------------------------------------------------------------------------------------


def test_a_signed_press_raises_an_alert_with_the_chain_copied(care, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = press(care.device)
    assert result.status == 201 and result.alert is not None
    alert = result.alert
    alert.refresh_from_db()
    assert alert.kind == Alert.Kind.PRESS and alert.status == Alert.Status.OPEN
    assert [lv["users"] for lv in alert.chain] == [
        [care.volunteer.pk, care.family.pk], [care.grid.pk], [care.hebin_duty.pk], [care.wuyuan_duty.pk]]
    assert (alert.ack_timeout_seconds, alert.repeat_seconds, alert.channels) == (60, 60, ["in_app", "sms"])
    # the first call went out when the transaction committed: level 1 paged, step 2 (level 2) due in 60 s
    assert paged(alert) == ["family", "volunteer"]
    step1, step2 = alert.steps.get(seq=1), alert.steps.get(seq=2)
    assert step1.ran_by == "inline"
    assert (step2.level, step2.due_at, step2.status) == (2, step1.ran_at + secs(60), AlertStep.Status.PENDING)
    assert Job.objects.filter(key=f"care.alert_step:{step2.pk}", due_at=step2.due_at).exists()
    # SMS deliveries are queued for the worker, due now
    assert Notification.objects.get(recipient=care.volunteer).deliveries.filter(channel="sms").exists()


def test_a_press_is_recorded_with_its_first_call_in_a_few_statements(care, django_assert_max_num_queries):
    press(care.device, "warm-up")
    # device, chain, policy, the first level's people; nonce, event, alert, notifications, deliveries, attempts,
    # events, steps, jobs, heartbeat; two savepoints — whatever the number of people in the level
    with django_assert_max_num_queries(20):
        result = press(care.device, "counted", now=T0 + secs(1))
    assert result.status == 201 and paged(result.alert, 1) == ["family", "volunteer"]


def test_when_the_first_call_fails_in_the_transaction_the_alert_is_kept_and_the_worker_calls(care, monkeypatch):
    from xianfeng.notify import bulk

    def broken(**kwargs):
        raise RuntimeError("the paging code broke")

    monkeypatch.setattr(bulk, "notify_bulk", broken)
    result = press(care.device)
    assert result.status == 201
    alert = Alert.objects.get()
    step = alert.steps.get()
    assert (step.seq, step.status, alert.calls) == (1, AlertStep.Status.PENDING, 0)
    assert paged(alert) == []
    assert Job.objects.get(key=f"care.alert_step:{step.pk}").status == Job.Status.PENDING
    monkeypatch.undo()
    from xianfeng.jobs.worker import Worker

    Worker(exit_when_idle=True, sync_periodic=False, heartbeat_thread=False).run()  # the worker makes the call
    assert paged(alert, 1) == ["family", "volunteer"]
    assert alert.steps.get(seq=1).ran_by == "worker"


def test_with_the_inline_call_off_the_worker_makes_the_first_call(care, settings):
    settings.CARE_INLINE_FIRST_STEP = False
    alert = press(care.device).alert
    assert paged(alert) == [] and alert.steps.get().status == AlertStep.Status.PENDING
    assert services.steps_run_due(now=T0) == 1
    assert paged(alert, 1) == ["family", "volunteer"]


def test_a_policy_change_does_not_touch_a_raised_alert(care):
    alert = press(care.device).alert
    services.policy_save(org=care.world.hebin, name="改", actor=care.world.hebin_secretary, ack_timeout_seconds=30,
                         repeat_seconds=20, channels=["in_app"], policy=care.policy)
    alert.refresh_from_db()
    assert (alert.ack_timeout_seconds, alert.repeat_seconds) == (60, 60)
    assert press(care.device, "e2", now=T0 + secs(1)).alert.ack_timeout_seconds == 30


def test_bad_signature_is_401_logged_and_raises_nothing(care):
    env = services.signed_envelope(care.device, {"event_id": "x1", "type": "press"}, timestamp=int(T0.timestamp()))
    result = services.ingest(serial=care.device.serial, body=env["body"].encode(), timestamp=env["ts"],
                             nonce=env["nonce"], signature="0" * 64, source="http", now=T0)
    assert result.status == 401 and result.outcome == DeviceEvent.Outcome.BAD_SIGNATURE
    tampered = env["body"].replace("press", "test").encode()
    assert services.ingest(serial=care.device.serial, body=tampered, timestamp=env["ts"], nonce=env["nonce"],
                           signature=env["sig"], source="http", now=T0).status == 401
    assert not Alert.objects.exists()
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.BAD_SIGNATURE).count() == 2


def test_old_or_future_timestamp_is_401(care):
    assert press(care.device, ts=int(T0.timestamp()) - 301).status == 401
    assert press(care.device, ts=int(T0.timestamp()) + 301).status == 401
    assert press(care.device, ts=int(T0.timestamp()) - 299).status == 201
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.STALE).count() == 2


def test_a_replayed_nonce_is_409_and_changes_nothing(care):
    assert press(care.device, "e1", nonce="n-12345678").status == 201
    again = press(care.device, "e2", nonce="n-12345678")
    assert again.status == 409 and again.outcome == DeviceEvent.Outcome.REPLAY
    assert Alert.objects.count() == 1 and DeviceNonce.objects.count() == 1


def test_unknown_device_is_404_and_logged(care):
    result = services.ingest(serial="NOPE-1", body=b"{}", timestamp="1", nonce="abcdefgh", signature="0" * 64,
                             source="http", now=T0)
    assert result.status == 404
    assert DeviceEvent.objects.get(outcome=DeviceEvent.Outcome.UNKNOWN_DEVICE).serial == "NOPE-1"


@pytest.mark.parametrize("event", [{"type": "press"}, {"event_id": "a b", "type": "press"},
                                   {"event_id": "e", "type": "explode"}, {"event_id": "e", "type": "press",
                                                                           "battery": 140}])
def test_malformed_bodies_are_400(care, event):
    env = services.signed_envelope(care.device, event, timestamp=int(T0.timestamp()))
    result = services.ingest(serial=care.device.serial, body=env["body"].encode(), timestamp=env["ts"],
                             nonce=env["nonce"], signature=env["sig"], source="http", now=T0)
    assert result.status == 400 and not Alert.objects.exists()


def test_the_same_event_twice_answers_the_first_alert(care):
    first = press(care.device, "e1", nonce="nonce-aaaa")
    second = press(care.device, "e1", nonce="nonce-bbbb", now=T0 + secs(2), source="mqtt")
    assert (first.status, second.status) == (201, 200)
    assert second.alert.pk == first.alert.pk and Alert.objects.count() == 1
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.DUPLICATE).count() == 1


def test_any_accepted_message_is_a_heartbeat_and_low_battery_tells_level_one(care):
    result = press(care.device, "hb1", kind="heartbeat", battery=15, now=T0 + secs(30))
    assert result.status == 200 and not Alert.objects.exists()
    care.device.refresh_from_db()
    assert care.device.battery_pct == 15 and care.device.last_heartbeat_at == T0 + secs(30)
    assert care.device.offline_after == T0 + secs(30) + dt.timedelta(minutes=45)
    kinds = set(Notification.objects.values_list("kind", "recipient__username"))
    assert kinds == {("care.low_battery", "volunteer"), ("care.low_battery", "family"),
                     ("care.low_battery", "hebin_duty")}
    press(care.device, "hb2", kind="low_battery", battery=14, now=T0 + secs(90))
    assert Notification.objects.count() == 3  # once a day


# --- escalation ----------------------------------------------------------------------------------------------------


def test_escalation_follows_the_clock_level_by_level_then_repeats_the_last(care):
    alert = press(care.device).alert
    assert services.steps_run_due(now=T0) == 0  # the first call was made in the press's own transaction
    assert paged(alert, 1) == ["family", "volunteer"]
    assert services.steps_run_due(now=T0 + secs(59)) == 0  # not yet
    assert services.steps_run_due(now=T0 + secs(60)) == 1
    assert paged(alert, 2) == ["grid_worker"]
    assert services.steps_run_due(now=T0 + secs(120)) == 1
    assert paged(alert, 3) == ["hebin_duty"]
    assert services.steps_run_due(now=T0 + secs(180)) == 1
    assert paged(alert, 4) == ["wuyuan_duty"]
    # the last level is called again every R seconds
    assert services.steps_run_due(now=T0 + secs(240)) == 1
    assert paged(alert, 5) == ["wuyuan_duty"]
    steps = list(alert.steps.order_by("seq").values_list("level", "due_at", "status"))
    assert [s[0] for s in steps] == [1, 2, 3, 4, 4, 4]
    assert [s[1] - T0 for s in steps] == [secs(0), secs(60), secs(120), secs(180), secs(240), secs(300)]
    alert.refresh_from_db()
    assert alert.current_level == 4 and alert.calls == 5


def test_a_late_worker_measures_the_next_wait_from_the_actual_call(care):
    alert = press(care.device).alert
    services.steps_run_due(now=T0 + secs(63))
    step = alert.steps.get(seq=2)
    assert step.lag_seconds == 3
    assert alert.steps.get(seq=3).due_at == T0 + secs(123)


def test_empty_levels_are_skipped(care):
    care.device.contacts.filter(level=2).delete()
    alert = press(care.device).alert
    services.steps_run_due(now=T0)
    services.steps_run_due(now=T0 + secs(60))
    assert paged(alert, 2) == ["hebin_duty"]


def test_acknowledgement_stops_escalation_and_tells_the_others(care):
    alert = press(care.device).alert
    services.steps_run_due(now=T0)
    services.steps_run_due(now=T0 + secs(60))
    services.alert_acknowledge(alert=alert, actor=care.grid, now=T0 + secs(75))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.ack_seconds == 75
    assert alert.acknowledged_by == care.grid
    pending = alert.steps.get(seq=3)
    assert pending.status == AlertStep.Status.CANCELLED
    assert Job.objects.get(key=f"care.alert_step:{pending.pk}").status == Job.Status.CANCELLED
    assert services.steps_run_due(now=T0 + secs(3600)) == 0
    assert paged(alert, 3) == []
    told = Notification.objects.filter(kind="care.alert_taken").values_list("recipient__username", flat=True)
    assert sorted(told) == ["family", "volunteer"]
    with pytest.raises(services.AlertClosed):
        services.alert_acknowledge(alert=alert, actor=care.volunteer, now=T0 + secs(80))


def test_a_step_whose_run_was_already_done_is_not_paged_twice(care):
    alert = press(care.device).alert
    step = alert.steps.get(seq=1)
    assert services.alert_step_run(step_id=step.pk, now=T0) == "done"
    assert services.alert_step_run(step_id=step.pk, now=T0 + secs(1)) == "done"
    assert Notification.objects.filter(key__startswith=f"care.alert:{alert.pk}:").count() == 2
    assert alert.steps.count() == 2


def test_a_step_job_that_runs_after_acknowledgement_calls_nobody(care):
    alert = press(care.device).alert
    services.steps_run_due(now=T0)
    step2 = alert.steps.get(seq=2)
    services.alert_acknowledge(alert=alert, actor=care.volunteer, now=T0 + secs(10))
    assert services.alert_step_run(step_id=step2.pk, now=T0 + secs(60)) == AlertStep.Status.CANCELLED
    assert paged(alert, 2) == []


def test_arrival_and_resolution_follow_acknowledgement(care):
    alert = press(care.device).alert
    with pytest.raises(services.AlertClosed):
        services.alert_arrive(alert=alert, actor=care.volunteer, now=T0 + secs(5))
    services.alert_acknowledge(alert=alert, actor=care.volunteer, now=T0 + secs(20))
    services.alert_arrive(alert=alert, actor=care.volunteer, now=T0 + secs(600))
    with pytest.raises(services.CareError):
        services.alert_resolve(alert=alert, actor=care.volunteer, outcome="hospital", notes="")
    services.alert_resolve(alert=alert, actor=care.volunteer, outcome="hospital", notes="送县人民医院", now=T0 + secs(900))
    alert.refresh_from_db()
    assert (alert.status, alert.outcome, alert.arrive_seconds) == (Alert.Status.RESOLVED, "hospital", 600)
    assert list(alert.events.values_list("kind", flat=True)) == ["raised", "called", "acknowledged", "arrived",
                                                                 "resolved"]


def test_someone_outside_the_chain_cannot_acknowledge(care):
    alert = press(care.device).alert
    with pytest.raises(services.CareError):
        services.alert_acknowledge(alert=alert, actor=care.world.qinshan_secretary, now=T0 + secs(5))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_ack_tokens_name_the_alert_and_the_responder_and_cannot_be_forged(care):
    alert = press(care.device).alert
    token = services.ack_token(alert, care.volunteer)
    assert services.ack_token_read(token) == (alert.pk, care.volunteer.pk)
    assert services.ack_token_read(token[:-2] + "xx") is None
    assert services.ack_token_read("garbage") is None


# --- offline -------------------------------------------------------------------------------------------------------


def test_a_missing_heartbeat_raises_one_offline_alert_to_the_duty_officer_and_a_heartbeat_clears_it(care):
    deadline = care.device.offline_after
    assert services.devices_offline_sweep(now=deadline) == 0
    assert services.devices_offline_sweep(now=deadline + secs(1)) == 1
    assert services.devices_offline_sweep(now=deadline + secs(60)) == 0  # once
    alert = Alert.objects.get(kind=Alert.Kind.OFFLINE)
    assert [lv["users"] for lv in alert.chain] == [[], [], [care.hebin_duty.pk], [care.wuyuan_duty.pk]]
    services.steps_run_due(now=deadline + secs(1))
    assert paged(alert) == ["hebin_duty"]
    press(care.device, "hb", kind="heartbeat", now=deadline + secs(30))
    alert.refresh_from_db()
    care.device.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED and alert.outcome == Alert.Outcome.BACK_ONLINE
    assert care.device.offline_since is None
    assert services.steps_run_due(now=deadline + secs(3600)) == 0


def test_rescue_runs_a_step_whose_job_was_lost(care):
    alert = press(care.device).alert
    step = alert.steps.get(seq=2)
    Job.objects.filter(key=f"care.alert_step:{step.pk}").update(status=Job.Status.PARKED)
    assert services.steps_rescue(now=T0 + secs(70)) == 0  # not late enough yet
    assert services.steps_rescue(now=T0 + secs(91)) == 1
    assert paged(alert, 2) == ["grid_worker"]


def test_with_nobody_in_the_chain_the_county_administrators_are_called(care):
    from xianfeng.orgs.models import Role

    care.device.contacts.all().delete()
    Role.objects.filter(kind="duty_officer").delete()
    alert = press(care.device).alert
    assert alert.chain[-1]["users"] == [care.world.county_admin.pk]
    services.steps_run_due(now=T0)
    assert paged(alert) == ["county_admin"]


def test_a_step_claimed_by_a_dead_worker_is_handed_back_well_within_the_60_second_target(care):
    from xianfeng.jobs import registry
    from xianfeng.jobs.services import job_claim, jobs_sweep

    assert registry.stale_after_for(services.STEP_JOB, 60) <= 15
    alert = press(care.device).alert
    step = alert.steps.get(seq=2)
    Job.objects.exclude(key=f"care.alert_step:{step.pk}").update(status=Job.Status.DONE)  # (the text messages)
    claimed = job_claim(worker_id="doomed", now=step.due_at)  # then the worker dies: no heartbeat, no outcome
    assert claimed.key == f"care.alert_step:{step.pk}"
    assert jobs_sweep(stale_after=60, now=step.due_at + secs(9)) == (0, 0)
    assert jobs_sweep(stale_after=60, now=step.due_at + secs(11)) == (1, 0)
    services.steps_run_due(now=step.due_at + secs(12))
    assert paged(alert, 2) == ["grid_worker"]

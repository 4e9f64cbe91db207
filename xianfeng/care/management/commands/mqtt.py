import logging
import signal
import time

from django.core.management.base import BaseCommand, CommandError

from xianfeng.care.mqtt import Subscriber


class Command(BaseCommand):
    help = ("Subscribe to the one-key call devices' MQTT topic (CARE_MQTT_TOPIC on CARE_MQTT_HOST:CARE_MQTT_PORT) and "
            "ingest each signed event: presses raise alerts, every message is a heartbeat. Runs until SIGTERM.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None)
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--topic", default=None, help="with one + for the device serial")
        parser.add_argument("--client-id", default=None, help="default: CARE_MQTT_CLIENT_ID-<host>-<pid>-<random>")
        parser.add_argument("--share-group", default=None,
                            help="subscribers in one group split the messages (default CARE_MQTT_SHARE_GROUP; "
                                 "'' for a plain subscription)")
        parser.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
        parser.add_argument("--seconds", type=float, default=None, help="stop after this long")

    def handle(self, *args, host, port, topic, client_id, share_group, max_messages, seconds, **options):
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO)
        try:
            subscriber = Subscriber(host=host, port=port, topic=topic, client_id=client_id, share_group=share_group)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        previous = {sig: signal.signal(sig, lambda *_: subscriber.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"mqtt: subscribing to {subscriber.subscription} on {subscriber.host}:{subscriber.port} "
                          f"as {subscriber.client_id}")
        self.stdout.flush()
        started = time.monotonic()
        try:
            handled = subscriber.run(max_messages=max_messages, seconds=seconds)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        outcomes = ", ".join(f"{n:,} {k}" for k, n in sorted(subscriber.outcomes.items())) or "none"
        self.stdout.write(f"mqtt: handled {handled:,} messages in {time.monotonic() - started:.1f} s ({outcomes}); "
                          f"{subscriber.outages:,} outages")

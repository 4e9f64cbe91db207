import logging
import signal
import time

from django.core.management.base import BaseCommand

from xianfeng.care.conf import conf
from xianfeng.care.mqtt import Subscriber


class Command(BaseCommand):
    help = ("Subscribe to the one-key call devices' MQTT topic (CARE_MQTT_TOPIC on CARE_MQTT_HOST:CARE_MQTT_PORT) and "
            "ingest each signed event: presses raise alerts, every message is a heartbeat. Runs until SIGTERM.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None)
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--topic", default=None, help="with one + for the device serial")
        parser.add_argument("--client-id", default=None)
        parser.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
        parser.add_argument("--seconds", type=float, default=None, help="stop after this long")

    def handle(self, *args, host, port, topic, client_id, max_messages, seconds, **options):
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO)
        subscriber = Subscriber(host=host, port=port, topic=topic, client_id=client_id)
        previous = {sig: signal.signal(sig, lambda *_: subscriber.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"mqtt: subscribing to {subscriber.topic} on {subscriber.host}:{subscriber.port} "
                          f"as {client_id or conf('CARE_MQTT_CLIENT_ID')}")
        self.stdout.flush()
        started = time.monotonic()
        try:
            handled = subscriber.run(max_messages=max_messages, seconds=seconds)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        outcomes = ", ".join(f"{n:,} {k}" for k, n in sorted(subscriber.outcomes.items())) or "none"
        self.stdout.write(f"mqtt: handled {handled:,} messages in {time.monotonic() - started:.1f} s ({outcomes})")

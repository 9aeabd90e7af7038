"""Notifications per second through the notifications service layer for 1,000 events, and the
p95 latency from an event's ``occurred_at`` to the SMTP server's accept, against a raw
``smtplib`` loop to the same server, in one run.

    python bench/notifications.py [--events 1000]

Starts a real SMTP server (aiosmtpd, its own process, a free port) and uses in-memory storage
(or MONGO_URI). Each event is a concern ``measurement.signal_detected`` envelope for a network
with one network lead: ``notify`` stores its notifications (email and inbox, deduped), and
``deliver`` sends the queued email through ``smtplib``, as the service's consumer does after
each event. The baseline sends the same number of messages with a bare ``smtplib`` loop (one
connection per message, as the channel does). What is not measured here: the broker hop
before ``notify`` (the service wiring is built separately). With mongomock every query scans
its collection, so the service figure falls as notifications pile up; set MONGO_URI to a real
MongoDB for the indexed figure.
"""
import argparse
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, time as clock, timezone
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.notifications import commands, domain  # noqa: E402
from services.notifications.channels import EmailChannel, WebhookChannel  # noqa: E402
from services.notifications.repository import NotificationsRepository  # noqa: E402
from shared import storage  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.events.catalogue import make_event  # noqa: E402
from shared.events.envelope import Trace  # noqa: E402

SMTP_SERVER = ROOT / "tests" / "unit" / "notifications" / "smtp_server.py"
NETWORK = "net_bench"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtp(maildir):
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SMTP_SERVER), str(port), str(maildir)])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit("the SMTP server did not start")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def signal(index):
    return make_event("measurement.signal_detected", {
        "measure_id": f"msr_{index:05d}", "project_id": "prj_bench", "series": "pooled",
        "rule": "outside_limits", "kind": "concern", "point_type": "special_cause",
        "period": datetime(2026, 11, 1).date(), "value": 41.5},
        source="measurement", network_id=NETWORK, trace=Trace())


def through_the_service(port, events):
    uri = os.environ.get("MONGO_URI") or f"mongomock://bench-{uuid.uuid4().hex}"
    database = storage.client_for(uri)[f"bench{uuid.uuid4().hex[:8]}_notifications"]
    NotificationsRepository.ensure_indexes(database)
    repository = NotificationsRepository(database)
    # Always inside the send window, so that nothing is held whenever the bench runs.
    settings = domain.Settings(window_days=tuple(range(7)), window_start=clock(0, 0),
                               window_end=clock(23, 59, 59, 999999),
                               unsubscribe_secret="bench-secret-0123456789")
    commands.register_recipient(repository, Principal("admin", "admin"), {
        "staff_id": "lead.bench", "network_id": NETWORK, "role": "network_lead",
        "scope": {"kind": "network", "id": NETWORK}, "email": "lead@bench.example.org"},
        datetime.now(timezone.utc), Trace(), settings)
    senders = commands.Senders(EmailChannel("127.0.0.1", port, "pcn@bench.example.org"),
                               WebhookChannel(allow_private=True))
    latencies = []
    started = time.perf_counter()
    for index in range(events):
        envelope = signal(index)
        occurred = datetime.fromisoformat(envelope["occurred_at"])
        queued = commands.notify(repository, envelope, datetime.now(timezone.utc), settings)
        outcome = commands.deliver(repository, senders, datetime.now(timezone.utc), settings,
                                   ids=queued)
        if outcome != {"sent": 1}:
            raise SystemExit(f"event {index}: {outcome}")
        latencies.append((datetime.now(timezone.utc) - occurred).total_seconds())
    elapsed = time.perf_counter() - started
    if repository.count({"state": "sent"}) != 2 * events:
        raise SystemExit("not every notification was sent")
    return elapsed, latencies


def raw_smtplib(port, count):
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        begun = time.perf_counter()
        message = EmailMessage()
        message["From"], message["To"] = "pcn@bench.example.org", "lead@bench.example.org"
        message["Subject"] = f"A signal of concern on measure msr_{index:05d}"
        message.set_content("Hello,\n\nA signal of concern.\n")
        message.add_alternative("<p>Hello,</p><p>A signal of concern.</p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
        latencies.append(time.perf_counter() - begun)
    return time.perf_counter() - started, latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as maildir:
        process, port = start_smtp(maildir)
        try:
            service_s, service_latency = through_the_service(port, args.events)
            raw_s, raw_latency = raw_smtplib(port, args.events)
            received = len(list(Path(maildir).glob("*.eml")))
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"events: {args.events}; messages the SMTP server accepted: {received}")
    print(f"service layer (notify + deliver): {args.events / service_s:8.1f} notifications/s "
          f"(email; the inbox item is written too), p95 occurred_at → SMTP accept "
          f"{percentile(service_latency, 0.95) * 1000:7.1f} ms")
    print(f"raw smtplib loop:                 {args.events / raw_s:8.1f} messages/s, "
          f"p95 per message {percentile(raw_latency, 0.95) * 1000:7.1f} ms")
    print(f"ratio service / raw throughput:   {raw_s / service_s:8.2f}")


if __name__ == "__main__":
    main()

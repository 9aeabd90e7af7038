"""Fixtures of the notifications tests: storage, a real SMTP server, a webhook receiver."""
import base64
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.notifications.channels import EmailChannel, WebhookChannel
from services.notifications.commands import Senders
from services.notifications.domain import Settings
from services.notifications.repository import NotificationsRepository
from shared import storage

LONDON = ZoneInfo("Europe/London")
SMTP_SERVER_SCRIPT = Path(__file__).with_name("smtp_server.py")


def london(*args):
    """An aware moment given in London local time."""
    return datetime(*args, tzinfo=LONDON)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """aiosmtpd in its own process on an explicit free port; ``stop``/``start`` make it go
    down and come back on the same port; ``messages`` reads what it accepted."""

    def __init__(self, maildir):
        self.port = free_port()
        self.maildir = maildir
        self.process = None

    def start(self, refuse_first=0):
        self.process = subprocess.Popen(
            [sys.executable, str(SMTP_SERVER_SCRIPT), str(self.port), str(self.maildir),
             str(refuse_first)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    if conn.recv(3) == b"220":
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the test SMTP server did not start on port {self.port}")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def messages(self):
        return [message_from_bytes(path.read_bytes(), policy=policy.default)
                for path in sorted(self.maildir.glob("*.eml"))]


@pytest.fixture
def smtp_server(tmp_path):
    maildir = tmp_path / "mail"
    maildir.mkdir()
    server = SmtpServer(maildir)
    server.start()
    yield server
    server.stop()


def verify_standard_webhook(secret, headers, body):
    """The Standard Webhooks verification, written from the spec (not from our signer):
    HMAC-SHA256 keyed by the base64-decoded secret after ``whsec_`` over
    ``{webhook-id}.{webhook-timestamp}.{body}``; any ``v1,`` signature of the header may match."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
               for part in headers["webhook-signature"].split(" "))


class WebhookReceiver:
    """A tiny local HTTP server that records every POST; ``answers`` (status, headers) are
    given out in order, then 204."""

    def __init__(self):
        self.requests = []
        self.answers = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                          body, self.path))
                status, headers = receiver.answers.pop(0) if receiver.answers else (204, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/pcn"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        return [json.loads(body) for _, body, _ in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def repository(storage_config):
    database = storage.open_database(storage_config, "notifications")
    NotificationsRepository.ensure_indexes(database)
    return NotificationsRepository(database)


@pytest.fixture
def settings():
    return Settings(unsubscribe_secret="test-unsubscribe-secret-0123456789",
                    allow_private_endpoints=True, backoff_base_seconds=10,
                    backoff_cap_seconds=120, base_url="https://notify.example.org",
                    web_url="https://web.example.org")


@pytest.fixture
def senders(smtp_server):
    return Senders(email=EmailChannel("127.0.0.1", smtp_server.port, "pcn@notify.example.org",
                                      timeout=5),
                   webhook=WebhookChannel(allow_private=True, timeout=5))

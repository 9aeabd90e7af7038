"""What the demo runs against: a local SMTP server that keeps the mail the notifications
service sends (``Mailbox``), and the services themselves, used when they answer and started as
local processes (``tools.dev``) when they do not (``local_services``)."""
import contextlib
import email
import email.policy
import os
import pathlib
import secrets
import socket
import sys
import tempfile

from aiosmtpd.controller import Controller

from tools import dev
from tools.prepare_tests import Apt, CannotPrepare, ensure_rabbitmq_running


class Mailbox:
    """A local SMTP server (aiosmtpd) keeping what the notifications service sends."""

    def __init__(self):
        self.messages = []
        with socket.socket() as probe:  # an explicit free port (aiosmtpd cannot take 0)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc_info):
        self.controller.stop()


@contextlib.contextmanager
def local_services(env=None):
    """Yield once every service answers: the running ones are used, the missing ones started
    here (and stopped on exit), with ``env`` added to theirs. Exits with one line when a
    prerequisite is missing."""
    names = dev.existing_services()
    missing = [name for name in names if not dev.answers(name)]
    if not missing:
        if not os.environ.get("PCN_ADMIN_KEY"):
            sys.exit(f"{', '.join(names)} already running: set PCN_ADMIN_KEY to the key they "
                     f"were started with")
        print(f"using the running services: {', '.join(names)}", flush=True)
        yield
        return
    if len(missing) < len(names) and not os.environ.get("PCN_ADMIN_KEY"):
        sys.exit(f"{', '.join(sorted(set(names) - set(missing)))} already running but not "
                 f"{', '.join(missing)}: set PCN_ADMIN_KEY to the key they were started with")
    if len(os.environ.get("PCN_ADMIN_KEY", "")) < 16:
        os.environ["PCN_ADMIN_KEY"] = secrets.token_hex(24)
        print("PCN_ADMIN_KEY was not set: generated one for this run", flush=True)
    if not os.environ.get("AMQP_URI"):
        try:
            ensure_rabbitmq_running(Apt(dry_run=False))
        except CannotPrepare as exc:
            sys.exit(str(exc))
    mongo_uri = os.environ.get("MONGO_URI") or "mongomock://demo"
    if mongo_uri.startswith("mongomock://"):
        print(f"STORAGE IS IN MEMORY ({mongo_uri}): everything the demo stores is gone when it "
              f"stops; set MONGO_URI=mongodb://... to keep it", flush=True)
    log_dir = tempfile.mkdtemp(prefix="pcn-demo-")
    print(f"no service answers on {', '.join(dev.base_url(n) for n in missing)}: starting "
          f"them as local processes (logs in {log_dir})", flush=True)
    processes = dev.start(missing, env={"MONGO_URI": mongo_uri, **(env or {})},
                          log_dir=log_dir)
    try:
        not_ready = dev.wait_ready(processes)
        if not_ready:
            log = pathlib.Path(log_dir) / f"{not_ready[0]}.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-15:]
            sys.exit("\n".join([*tail, f"{not_ready[0]} did not become ready: see {log}"]))
        for name in missing:
            for line in (pathlib.Path(log_dir) / f"{name}.log").read_text(
                    errors="replace").splitlines():
                if "IN MEMORY" in line:
                    print(f"{name}: {line.split(': ', 1)[-1]}", flush=True)
        yield
    finally:
        dev.stop(processes)
        print(f"stopped the services the demo started: {', '.join(missing)}", flush=True)

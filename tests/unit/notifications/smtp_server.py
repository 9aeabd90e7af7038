"""A real SMTP server for the notifications tests, run as its own process (aiosmtpd).

    python smtp_server.py PORT MAILDIR [REFUSE_FIRST]

Every accepted message is written to MAILDIR as ``<n>.eml``; the first REFUSE_FIRST messages
are refused with a temporary error (451), as a busy server does. Stopping the process is an
SMTP server that is down.
"""
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self, maildir, refuse_first):
        self.maildir = Path(maildir)
        self.refuse_left = refuse_first

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_left > 0:
            self.refuse_left -= 1
            return "451 4.3.0 Try again later"
        count = len(list(self.maildir.glob("*.eml")))
        path = self.maildir / f"{count:05d}.eml"
        path.with_suffix(".tmp").write_bytes(envelope.original_content)
        path.with_suffix(".tmp").rename(path)  # whole messages only, for the reader
        return "250 Message accepted for delivery"


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    refuse_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    controller = Controller(Mailbox(maildir, refuse_first), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

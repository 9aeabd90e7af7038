"""A form that creates something, sent twice (a double click, a refresh of the POST), creates
it once. The first POST of a form claims it; the same form with the same values from the same
session within ``REPEAT_SECONDS`` gets the first one's redirect without any service being
called (a second click that arrives while the first is still being answered waits for it).
A form whose first POST was refused or failed is released, so sending it again is a new
attempt. A form whose first answer showed something only once (a new key, a wallboard link:
never stored here, so never shown again) keeps its claim for ``SHOWN_ONCE_SECONDS``: the
browser's "send again?" after a reload is told so instead of issuing a second one. Pages opt in with ``@page(..., once=True)``; the week's
submissions have the measurement service's Idempotency-Key instead, and the PDSA cycle's form
sends projects one as well (shared/idempotency.py), which holds beyond this session and
``REPEAT_SECONDS``."""
import hashlib
import time

from pymongo.errors import DuplicateKeyError

FORM_POSTS = "form_posts"
REPEAT_SECONDS = 30
SHOWN_ONCE_SECONDS = 3600
SHOWN_ONCE = "shown once"  # where a repeat is sent when the first answer showed a secret
WAIT_SECONDS = 5.0


def fingerprint(session_token, path, form, files):
    """One key for a session's POST of ``path`` with these form values and files (the CSRF
    token left out: it is the session's, and says nothing of what is sent)."""
    digest = hashlib.sha256()
    for part in (session_token or "", path):
        digest.update(part.encode("utf-8") + b"\0")
    for name in sorted(form):
        if name == "csrf_token":
            continue
        for value in form.getlist(name):
            digest.update(f"{name}={value}".encode("utf-8") + b"\0")
    for name in sorted(files):
        for upload in files.getlist(name):
            digest.update(name.encode("utf-8") + b"\0" + upload.read() + b"\0")
            upload.seek(0)
    return digest.hexdigest()


class FormPosts:
    """Claims of forms being sent, in the web service's own database. ``clock`` answers
    epoch seconds; a claim older than ``REPEAT_SECONDS`` no longer counts."""

    def __init__(self, database, clock):
        self.collection = database[FORM_POSTS]
        self.clock = clock

    def claim(self, key):
        """True when this POST is the first of its form (lately); False for a repeat."""
        now = self.clock()
        self.collection.delete_many({"expires_at": {"$lte": now}})  # this one's too, if old
        try:
            self.collection.insert_one({"_id": key, "location": None,
                                        "expires_at": now + REPEAT_SECONDS})
        except DuplicateKeyError:
            return False
        return True

    def answer(self, key, location):
        """The first POST ended in a redirect to ``location``: repeats go there too."""
        self.collection.update_one({"_id": key}, {"$set": {"location": location}})

    def shown_once(self, key):
        """The first POST's answer showed something only once: repeats within the hour are
        told so (``first_answer`` gives ``SHOWN_ONCE``)."""
        self.collection.update_one({"_id": key}, {"$set": {
            "location": SHOWN_ONCE, "expires_at": self.clock() + SHOWN_ONCE_SECONDS}})

    def release(self, key):
        self.collection.delete_one({"_id": key})

    def first_answer(self, key, wait_seconds=WAIT_SECONDS, sleep=time.sleep):
        """Where the first POST of the form went; waits while it is being answered (None when
        it is still not answered, or was released)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            claimed = self.collection.find_one({"_id": key})
            if claimed is None or claimed["location"] or time.monotonic() >= deadline:
                return claimed and claimed["location"]
            sleep(0.05)

"""The signed-in person's own inbox and notification preferences, read and changed through the
notifications service with a person token of theirs (``Upstream.notifications``).

Forms post, then redirect to a page that shows the outcome (post/redirect/get); the page
decorator checks each form's CSRF token. A value the notifications service refuses comes back
on the same form, next to the field the service named and in the NHS.UK error summary, with
everything the person typed kept, and the part the service accepted saved.
"""
from urllib.parse import quote

from services.web import forms
from services.web.dates import moment
from services.web.forms import field_id
from services.web.pages import html, page, redirect, safe_return_to
from services.web.upstream import UpstreamRefused

INBOX_PAGE_SIZE = 20
NOT_LINKED = ("Your NHS identity is not linked to a staff record yet, so you have no "
              "notifications. Ask your network lead to link it.")
NOT_A_RECIPIENT = ("You are not on your network's notification list yet, so you have no "
                   "notifications. Ask your network lead to add you.")
# The channels a person chooses a mode for (the notifications service's by_channel keys), and
# the modes each may take: the inbox is read, never pushed, so it has no digest.
CHANNELS = {"email": "Email", "webhook": "Webhook (your own system)", "inbox": "Inbox"}
MODE_WORDS = {"immediate": "Straight away", "digest": "In my daily digest", "off": "Off"}
CHANNEL_MODES = {"email": ("immediate", "digest", "off"),
                 "webhook": ("immediate", "digest", "off"),
                 "inbox": ("immediate", "off")}
# Field of the form (named as the notifications service names it) -> its label.
FIELD_LABELS = {**{f"by_channel.{channel}": label for channel, label in CHANNELS.items()},
                "digest_time": "Digest time", "time_zone": "Time zone",
                "quiet_start": "Quiet hours start", "quiet_end": "Quiet hours end"}
# What PATCH /recipients/<staff_id> takes from the form (empty: none, the network's default).
RECIPIENT_FIELDS = ("digest_time", "time_zone", "quiet_start", "quiet_end")
DONE = {"read": "Marked as read.", "archived": "Archived. It is in your archived "
                                              "notifications."}


def segment(text):
    """One path segment for an upstream URL ("/" and ".." escaped too)."""
    return quote(text, safe="").replace(".", "%2E")


def link_of(item):
    """The page of this site an inbox item is about, as notifications names it for the item
    and its mail (``page``), when it is a path of this site; else None."""
    page = item.get("page")
    return page if page and safe_return_to(page, None) == page else None


class InboxPages:
    """Mixed into ``WebService``: ``/inbox`` and ``/preferences`` of the signed-in person."""

    # --- the inbox -------------------------------------------------------------------------

    @page("GET", "/inbox")
    def inbox(self, request, session):
        if not self.access_of(session).staff_id:
            return _message("Your inbox", NOT_LINKED)
        archived = request.args.get("archived") == "yes"
        page_number = _page_number(request.args.get("page"))
        try:
            answer = self.upstream(session).notifications("GET", "/inbox", params={
                "archived": str(archived).lower(), "page": page_number,
                "page_size": INBOX_PAGE_SIZE})
        except UpstreamRefused as refused:
            if refused.status == 404:
                return _message("Your inbox", NOT_A_RECIPIENT)
            raise
        items = [{**item, "link": link_of(item), "received": moment(item.get("created_at"))}
                 for item in answer["items"]]
        pages = max(1, -(-answer["total"] // INBOX_PAGE_SIZE))
        here = "/inbox?archived=yes&" if archived else "/inbox?"
        return "inbox.jinja", {
            "title": "Archived notifications" if archived else "Your inbox",
            "archived": archived, "items": items, "unread_here": answer["unread"],
            "total": answer["total"], "done": DONE.get(request.args.get("done")),
            "previous": f"{here}page={page_number - 1}" if page_number > 1 else None,
            "next": f"{here}page={page_number + 1}" if page_number < pages else None,
            "page_number": page_number, "pages": pages}

    @page("POST", "/inbox/<notification_id>/read", form=True)
    def mark_read(self, request, session, notification_id):
        self.upstream(session).notifications("POST", f"/inbox/{segment(notification_id)}/read")
        return redirect("/inbox?done=read")

    @page("POST", "/inbox/<notification_id>/archive", form=True)
    def archive(self, request, session, notification_id):
        self.upstream(session).notifications("POST",
                                             f"/inbox/{segment(notification_id)}/archive")
        return redirect("/inbox?done=archived")

    # --- preferences -----------------------------------------------------------------------

    @page("GET", "/preferences")
    def preferences(self, request, session):
        access = self.access_of(session)
        if not access.staff_id:
            return _message("Your notification preferences", NOT_LINKED)
        upstream = self.upstream(session)
        try:
            chosen = upstream.notifications("GET", "/preferences")
            recipient = upstream.notifications("GET", f"/recipients/{segment(access.staff_id)}")
        except UpstreamRefused as refused:
            if refused.status == 404:
                return _message("Your notification preferences", NOT_A_RECIPIENT)
            raise
        values = {f"by_channel.{channel}": (chosen.get("by_channel") or {}).get(channel, "")
                  for channel in CHANNELS}
        values.update({name: recipient.get(name) or "" for name in RECIPIENT_FIELDS})
        return "preferences.jinja", self._preferences_context(
            recipient, chosen, values, {}, saved=request.args.get("saved") == "yes")

    @page("POST", "/preferences", form=True)
    def save_preferences(self, request, session):
        """Two writes, each kept when the service accepts it: the channel modes (PUT
        /preferences, keeping the per-event-type layer as it is) and the digest time, time
        zone and quiet hours (PATCH /recipients/<staff_id>). Refused: the form again, with
        what was typed."""
        access = self.access_of(session)
        if not access.staff_id:
            return _message("Your notification preferences", NOT_LINKED)
        values = {name: request.form.get(name, "").strip() for name in FIELD_LABELS}
        upstream = self.upstream(session)
        chosen = upstream.notifications("GET", "/preferences")
        errors, accepted = {}, []
        by_channel = {channel: values[f"by_channel.{channel}"] for channel in CHANNELS
                      if values[f"by_channel.{channel}"]}
        try:
            chosen = upstream.notifications("PUT", "/preferences", body={
                "by_event": chosen.get("by_event") or {}, "by_channel": by_channel})
            accepted.append("how each channel reaches you")
        except UpstreamRefused as refused:
            errors.update(forms.refused_fields(refused, FIELD_LABELS))
        try:
            recipient = upstream.notifications(
                "PATCH", f"/recipients/{segment(access.staff_id)}",
                body={name: values[name] or None for name in RECIPIENT_FIELDS})
            accepted.append("your digest time, time zone and quiet hours")
        except UpstreamRefused as refused:
            errors.update(forms.refused_fields(refused, FIELD_LABELS))
            recipient = upstream.notifications("GET", f"/recipients/{segment(access.staff_id)}")
        if not errors:
            return redirect("/preferences?saved=yes")
        context = self._preferences_context(recipient, chosen, values, errors,
                                            accepted=accepted)
        return html("preferences.jinja", status=422, **self.common_context(session, request),
                    **context)

    def _preferences_context(self, recipient, chosen, values, errors, saved=False,
                             accepted=()):
        contacts = {"email": bool(recipient.get("email")),
                    "webhook": bool(recipient.get("webhook_url")), "inbox": True}
        channels = [{"name": f"by_channel.{channel}", "id": field_id(f"by_channel.{channel}"),
                     "label": label, "has_contact": contacts[channel],
                     "items": [{"value": "", "text": "As your network's routes say"}]
                     + [{"value": mode, "text": MODE_WORDS[mode]}
                        for mode in CHANNEL_MODES[channel]]}
                    for channel, label in CHANNELS.items()]
        return {"title": "Your notification preferences", "channels": channels,
                "values": values, "saved": saved, "accepted": list(accepted),
                "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, FIELD_LABELS),
                "unsubscribed": chosen.get("unsubscribed") or []}


def _message(title, paragraph):
    return "message.jinja", {"title": title, "paragraphs": [paragraph]}


def _page_number(given):
    try:
        return max(1, min(int(given or 1), 10_000))
    except ValueError:
        return 1



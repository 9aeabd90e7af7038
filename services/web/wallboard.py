"""A huddle board on a screen in the practice, opened by a device link the practice lead
issues, lists and revokes.

The devices pages ask the projects service (``/wallboards``), which answers only a practice's
lead, its network's lead or admin: anyone else gets "Page not found". A new link is shown once,
in the answer to the POST that issued it (never cached, never in a URL we redirect to).

``/wallboard/<token>`` needs no sign-in: the link's token is its only credential, passed to the
projects service in a header. The page is read-only (no forms), reloads itself every minute
(the ``Refresh`` header: a ``<meta>`` refresh under 20 hours fails WCAG 2.2.1 as axe checks it,
and the page has a link that stops the reloading), is never cached and sends no referrer, so
the token never leaves the screen. A revoked or unknown link says only that it does not work.
"""
import logging

import requests

from services.web import forms
from services.web.dates import long_date
from services.web.huddle import COLUMNS, item_view, unblocking_words
from services.web.inbox import segment
from services.web.pages import html, page, redirect, secure
from services.web.upstream import TIMEOUT_SECONDS, UpstreamRefused
from shared.routes import route

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Wallboard-Token"
REFRESH_SECONDS = 60
MAX_TOKEN_LENGTH = 200
LINK_FIELDS = {"team": "Team", "label": "Where the screen is"}
GONE_TITLE = "This wallboard link does not work"


def devices_path(practice_id):
    return f"/huddle/{segment(practice_id)}/devices"


def link_view(link):
    return {**link, "issued": long_date(link.get("issued_at")),
            "revoked": long_date(link["revoked_at"]) if link.get("revoked_at") else None}


class WallboardPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""

    # --- the practice lead's device links ---------------------------------------------------

    @page("GET", "/huddle/<practice_id>/devices")
    def wallboard_links(self, request, session, practice_id):
        revoked = request.args.get("done") == "revoked"
        return "wallboard_devices.jinja", self._devices_context(
            session, practice_id, {}, {}, done="The wallboard link is revoked. The screen "
                                               "shows nothing from now on." if revoked else None)

    @page("POST", "/huddle/<practice_id>/devices", form=True, once=True)
    def issue_wallboard_link(self, request, session, practice_id):
        values = {name: request.form.get(name, "").strip() for name in LINK_FIELDS}
        body = {"practice_id": practice_id,
                **{name: value for name, value in values.items() if value}}
        try:
            link = self.upstream(session).send("projects", "POST", "/wallboards", body)
        except UpstreamRefused as refused:
            errors = forms.refused_fields(refused, LINK_FIELDS)
            context = self._devices_context(session, practice_id, errors, values)
            return html("wallboard_devices.jinja", status=422,
                        **self.common_context(session, request), **context)
        issued = {"url": f"{self.settings.base_url}/wallboard/{link['token']}", **link}
        # Shown once here (no-store, like every personal page); sending the form again (a
        # reload) is told so and issues nothing (@page once: services/web/form_posts.py).
        return "wallboard_devices.jinja", self._devices_context(
            session, practice_id, {}, {}, issued=issued)

    @page("POST", "/huddle/<practice_id>/devices/<link_id>/revoke", form=True)
    def revoke_wallboard_link(self, request, session, practice_id, link_id):
        self.upstream(session).send("projects", "POST", f"/wallboards/{segment(link_id)}/revoke")
        return redirect(f"{devices_path(practice_id)}?done=revoked")

    def _devices_context(self, session, practice_id, errors, values, done=None, issued=None):
        links = self.upstream(session).projects("/wallboards", params={
            "practice_id": practice_id, "page_size": 100})["items"]
        return {"title": f"Wallboard links of {practice_id}", "nav": "huddle",
                "practice_id": practice_id, "here": devices_path(practice_id),
                "links": [link_view(link) for link in links], "done": done,
                "issued": issued, "values": values, "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, LINK_FIELDS)}

    # --- the screen -------------------------------------------------------------------------

    @route("GET", "/wallboard/<token>", documented=False)
    def wallboard(self, request, token):
        refreshing = request.args.get("refresh") != "off"
        try:
            response = self._wallboard_response(token, refreshing)
        except Exception:  # the screen shows the error page, never the kit's JSON
            log.exception("the wallboard failed")
            response = self.error_page(503, "Sorry, there is a problem with the service",
                                       "The board will show again when the service is back.")
        secure(response, self.settings.oidc_issuer)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def _wallboard_response(self, token, refreshing):
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return html("wallboard_gone.jinja", status=404, person=None, title=GONE_TITLE)
        answer = requests.get(self.settings.projects_url + "/wallboard-board",
                              headers={TOKEN_HEADER: token, "Accept": "application/json"},
                              timeout=TIMEOUT_SECONDS)
        if answer.status_code in (400, 404):
            return html("wallboard_gone.jinja", status=404, person=None, title=GONE_TITLE)
        answer.raise_for_status()
        board = answer.json()
        items = [item_view(item) for item in board["items"]]
        columns = [{"words": words, "items": [i for i in items if i["column"] == name]}
                   for name, words in COLUMNS]
        response = html("wallboard.jinja", person=None, board=board, columns=columns,
                        unblocking=unblocking_words(board.get("unblocking")),
                        title=f"{board['team']} huddle board", refreshing=refreshing,
                        stop_href=f"/wallboard/{segment(token)}?refresh=off",
                        refresh_seconds=REFRESH_SECONDS)
        if refreshing:
            response.headers["Refresh"] = str(REFRESH_SECONDS)
        return response

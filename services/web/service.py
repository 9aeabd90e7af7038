"""The web service: server-rendered pages in the NHS.UK design system for network leads and
practice teams, signed in with OpenID Connect (NHS CIS2 or the local provider). It owns no data
of the others: every page reads their public APIs with the signed-in person's own rights (a
short-lived person token, ``shared/person_token.py``). Its own database holds sessions, sign-ins
in progress and the people/role mappings a network lead sets."""
import base64
import logging
import mimetypes
import pathlib
from types import SimpleNamespace
from urllib.parse import quote

import requests
from marshmallow import Schema, fields, validate
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from analytics.spc import SpcAnalysis
from analytics.spc import verdict as spc_words
from services.web import dashboard
from services.web.completions import CompletionPages
from services.web.huddle import HuddlePages
from services.web.inbox import InboxPages
from services.web.lead_settings import LeadSettingsPages
from services.web.oidc import SignInFailed, new_sign_in_secrets
from services.web.pages import PageHost, html, page, redirect, safe_return_to, secure
from services.web.people import ROLES, Access
from services.web.projects import ProjectPages
from services.web.record import TrainingRecordPages
from services.web.repository import WebRepository
from services.web.submissions import SubmissionPages
from services.web.training import TrainingPages
from services.web.wallboard import WallboardPages
from services.web.sessions import SESSION_COOKIE, SIGN_IN_COOKIE, cookie_header
from services.web.site import WebSite
from services.web.unsubscribe import UnsubscribePages
from services.web.upstream import Upstream, UpstreamRefused
from shared.access import may_manage_network
from shared.domain import NotFoundError
from shared.routes import route
from shared.service_base import Service

log = logging.getLogger(__name__)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
FRONTEND_ASSETS = REPO_ROOT / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"
STATIC = pathlib.Path(__file__).resolve().parent / "static"
ROLE_LABELS = {"practice_member": "practice member", "practice_lead": "practice lead",
               "network_lead": "network lead", "admin": "network admin"}


class PersonLinkIn(Schema):
    staff_id = fields.String(required=True, validate=validate.Length(1, 64))
    network_id = fields.String(required=True, validate=validate.Length(1, 64))


class RoleMappingIn(Schema):
    org_codes = fields.Dict(keys=fields.String(validate=validate.Length(1, 16)),
                            values=fields.String(validate=validate.OneOf(("network",
                                                                          "practice"))),
                            required=True)
    role_codes = fields.Dict(keys=fields.String(validate=validate.Length(1, 64)),
                             values=fields.String(validate=validate.OneOf(ROLES)),
                             required=True)


def static_file(folder, name, max_age):
    """The file ``name`` under ``folder``, cacheable for ``max_age`` seconds; None when there
    is no such file (the caller answers "Page not found")."""
    path = safe_join(str(folder), name)
    if path is None or not pathlib.Path(path).is_file():
        return None
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if path.endswith(".mjs"):
        content_type = "text/javascript"
    return Response(pathlib.Path(path).read_bytes(), content_type=content_type,
                    headers={"Cache-Control": f"public, max-age={max_age}"})


class WebService(InboxPages, TrainingRecordPages, UnsubscribePages, SubmissionPages,
                 ProjectPages, HuddlePages, WallboardPages, TrainingPages, CompletionPages,
                 LeadSettingsPages, PageHost, Service):
    name = "web"
    repository = WebRepository
    openapi_description = "The web front end's own API: people and role mappings."
    site = WebSite()

    # --- shared by the pages ----------------------------------------------------------------

    @property
    def settings(self):
        return self.site.settings

    def sessions(self):
        return self.site.sessions

    def access_of(self, session):
        return Access(**session["person"]["access"])

    def upstream(self, session, kind=None):
        upstream = Upstream(self.settings, self.site.tokens, self.access_of(session))
        self._upstreams = [*getattr(self, "_upstreams", []), upstream]
        return upstream

    @property
    def upstream_calls(self):
        return sum(u.calls for u in getattr(self, "_upstreams", []))

    @upstream_calls.setter
    def upstream_calls(self, value):
        self._upstreams = []

    def common_context(self, session, request):
        if not session:
            return {"person": None}
        access = self.access_of(session)
        unread = None
        if access.staff_id:
            try:
                unread = self.upstream(session).notifications("GET", "/inbox/unread")["unread"]
            except Exception as exc:  # the header still renders without the count
                log.warning("no unread count: %r", exc)
        return {"person": SimpleNamespace(name=session["person"]["name"]),
                "role_label": ROLE_LABELS[access.role], "csrf": session["csrf"],
                "is_lead": access.is_lead, "is_practice_lead": access.is_practice_lead,
                "unread": unread}

    # --- assets --------------------------------------------------------------------------

    @route("GET", "/assets/<path:name>", documented=False)
    def frontend_asset(self, request, name):
        return static_file(FRONTEND_ASSETS, name, 86400) or self.not_found_page(request)

    @route("GET", "/static/<path:name>", documented=False)
    def own_asset(self, request, name):
        return static_file(STATIC, name, 3600) or self.not_found_page(request)

    @route("GET", "/oidc/jwks.json", documented=False)
    def client_jwks(self, request):
        return self.site.relying_party.public_jwks()

    # --- signing in and out ----------------------------------------------------------------

    @page("GET", "/sign-in", signed_in=False)
    def sign_in(self, request, session):
        return_to = safe_return_to(request.args.get("return_to"))
        state, nonce, verifier = new_sign_in_secrets()
        browser = self.sessions().begin_sign_in(state, nonce, verifier, return_to)
        url = self.site.relying_party.authorization_url(state, nonce, verifier)
        response = redirect(url, 302)
        response.headers.add("Set-Cookie", cookie_header(
            SIGN_IN_COOKIE, browser, self.settings.cookie_secure, max_age=600))
        return response

    @page("GET", "/auth/callback", signed_in=False)
    def signed_in(self, request, session):
        sign_in = self.sessions().finish_sign_in(request.args.get("state"),
                                                 request.cookies.get(SIGN_IN_COOKIE))
        if sign_in is None or "code" not in request.args:
            return self.error_page(400, "Sign-in did not finish",
                                   "The sign-in took too long or began in another browser. "
                                   "Start again from the sign-in link.")
        try:
            claims = self.site.relying_party.exchange(request.args["code"],
                                                      sign_in["code_verifier"], sign_in["nonce"])
        except SignInFailed as failed:
            log.warning("sign-in refused: %s", failed)
            return self.error_page(400, "Sign-in did not finish",
                                   "Your identity could not be confirmed. Try again.")
        access = self.site.people.access_of(claims)
        if access is None:
            return html("message.jinja", person=None, title="You have no access to this service",
                        paragraphs=[
                            "You signed in, but none of your roles gives access to the PCN "
                            "Improvement Network.",
                            "Ask your network lead to link your NHS identity to your staff "
                            "record and your role to what it may see."])
        token = self.sessions().start({"name": access.name, "access": access.as_dict(),
                                       "id_token": claims.get("id_token")})
        response = redirect(sign_in["return_to"])
        response.headers.add("Set-Cookie", cookie_header(
            SESSION_COOKIE, token, self.settings.cookie_secure))
        response.headers.add("Set-Cookie", cookie_header(
            SIGN_IN_COOKIE, "", self.settings.cookie_secure, max_age=0))
        return response

    @page("POST", "/sign-out", form=True)
    def sign_out(self, request, session):
        self.sessions().end(request.cookies.get(SESSION_COOKIE))
        after = f"{self.settings.base_url}/signed-out"
        try:
            location = self.site.relying_party.end_session_url(
                session["person"].get("id_token"), after) or "/signed-out"
        except Exception as exc:  # the provider is away: we are signed out here anyway
            log.warning("no RP-initiated logout: %r", exc)
            location = "/signed-out"
        response = redirect(location)
        response.headers.add("Set-Cookie", cookie_header(
            SESSION_COOKIE, "", self.settings.cookie_secure, max_age=0))
        return response

    @page("GET", "/signed-out", signed_in=False)
    def signed_out(self, request, session):
        return "message.jinja", {"title": "You are signed out", "paragraphs": [
            "You have signed out of the PCN Improvement Network."],
            "link": {"href": "/sign-in", "text": "Sign in again"}}

    @page("GET", "/accessibility", signed_in=False)
    def accessibility(self, request, session):
        return "message.jinja", {"title": "Accessibility statement", "paragraphs": [
            "This service aims to meet WCAG 2.2 at level AA. Every page is checked in a "
            "real browser with axe-core, and signing in and the inbox work by keyboard alone."]}

    # --- pages ---------------------------------------------------------------------------

    @page("GET", "/")
    def network_dashboard(self, request, session):
        access = self.access_of(session)
        upstream = self.upstream(session)
        summary = upstream.measurement(f"/networks/{quote(access.network_id)}/spc-summary")
        rows, practices, missing = dashboard.table(summary)
        escalated = upstream.projects("/huddle-items", params={
            "status": "escalated", "page_size": 20})["items"]
        # One capability report (the network's for a lead, else the practice's), never one
        # call per person; the table still shows when training does not answer.
        scope = {"network_id": access.network_id} if access.is_lead \
            else {"practice_id": access.practice_id}
        try:
            gaps = dashboard.training_gaps(upstream.training("/reports/capability",
                                                             params=scope))
        except (UpstreamRefused, requests.RequestException) as exc:
            log.warning("no training gaps: %r", exc)
            gaps = None
        return "dashboard.jinja", {"title": "Network dashboard", "nav": "dashboard",
                                   "network_id": access.network_id, "rows": rows,
                                   "practice_columns": practices, "missing": missing,
                                   "escalated": escalated, "training_gaps": gaps}

    @page("GET", "/measures/<measure_id>")
    def measure_page(self, request, session, measure_id):
        access = self.access_of(session)
        upstream = self.upstream(session)
        measure = upstream.measurement(f"/measures/{quote(measure_id)}")
        series = [None]
        if access.is_lead:
            summary = upstream.measurement(f"/networks/{quote(access.network_id)}/spc-summary")
            mine = [m for m in summary["items"] if m["measure_id"] == measure_id]
            series += mine[0]["practice_ids"] if mine else []
        elif access.practice_id:
            series.append(access.practice_id)
        charts = []
        for practice_id in series:
            params = {"practice_id": practice_id} if practice_id else None
            try:
                spc = upstream.measurement(f"/measures/{quote(measure_id)}/spc", params=params)
            except Exception:
                continue
            analysis = SpcAnalysis.from_dict(spc)
            words = spc_words.verdict(analysis, measure.get("target"))
            title = "Network (pooled)" if practice_id is None else f"Practice {practice_id}"
            # The chart is fetched here, one series after the other, and sent inside the
            # page: the browser would ask for all of them at once.
            svg = upstream.call("GET", self.settings.measurement_url,
                                f"/measures/{quote(measure_id)}/chart.svg", params=params,
                                raw=True).content
            charts.append({
                "title": title, "verdict": words,
                "src": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
                "alt": f"Statistical process control chart of {measure['name']}, {title}: "
                       f"{words}. The data are in the table below.",
                "points": [{"date": p["date"], "value": dashboard.number(
                    p["value"], measure.get("value_kind")), "mean": dashboard.number(
                    p.get("mean"), measure.get("value_kind")),
                    "kind": spc_words.VARIATION_WORDS.get(p.get("point_type"),
                                                          p.get("point_type"))}
                           for p in spc["points"]]})
        cycles = []
        try:
            for cycle in upstream.projects(
                    f"/projects/{quote(measure['project_id'])}/pdsa-cycles")["items"]:
                cycles.append(f"{cycle['change_idea']}: {cycle['status']}"
                              + (f", {cycle['act']}" if cycle.get("act") else "")
                              + (f" (from {cycle.get('started_on') or cycle.get('created_at', '')[:10]})"))
        except Exception as exc:
            log.warning("no PDSA cycles: %r", exc)
        rebases = measure.get("rebase_dates") or []
        return "measure.jinja", {
            "title": measure["name"], "measure": measure,
            "verdict": charts[0]["verdict"] if charts else "No data yet.",
            "charts": charts, "cycles": cycles, "period": request.args.get("period"),
            "rebase_history": ", ".join(rebases) if rebases else "never"}

    @page("GET", "/measures/<measure_id>/chart.svg")
    def measure_chart(self, request, session, measure_id):
        params = {"practice_id": request.args["practice_id"]} \
            if request.args.get("practice_id") else None
        answer = self.upstream(session).call(
            "GET", self.settings.measurement_url, f"/measures/{quote(measure_id)}/chart.svg",
            params=params, raw=True)
        return Response(answer.content, content_type="image/svg+xml")

    # --- the mappings a network lead sets (JSON, with an API key) ----------------------------

    @route("PUT", "/people/<user_id>", "Link an NHS identity (nhsid_useruid) to a staff id "
           "(network lead)", body=PersonLinkIn, answers={200: None}, roles=("network_lead",))
    def link_person(self, request, user_id, principal, command):
        if not may_manage_network(principal, command["network_id"]):
            raise NotFoundError("no such network", {"network_id": ["not found"]})
        self.site.people.link(user_id, command["staff_id"], command["network_id"])
        return {"user_id": user_id, **command}

    @route("PUT", "/networks/<network_id>/role-mapping", "What each CIS2 org code and role "
           "code may do in the network (network lead)", body=RoleMappingIn,
           answers={200: None}, roles=("network_lead",))
    def set_role_mapping(self, request, network_id, principal, command):
        if not may_manage_network(principal, network_id):
            raise NotFoundError("no such network", {"network_id": ["not found"]})
        self.site.people.set_mapping(network_id, command["org_codes"], command["role_codes"])
        return {"network_id": network_id, **command}


__all__ = ["WebService", "secure"]

"""What every HTML page of the web service shares: rendering with Jinja and the NHS.UK
macros, the security headers, the session of the signed-in person, CSRF on forms, sign-in
redirects that return only within the site, and per-page latency metrics."""
import functools
import logging
import pathlib
import time
from urllib.parse import quote, urlsplit

import requests
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader
from prometheus_client import Histogram
from werkzeug.wrappers import Response

from services.web.form_posts import SHOWN_ONCE, fingerprint
from services.web.sessions import SESSION_COOKIE, csrf_matches
from services.web.upstream import UpstreamRefused
from shared.web import http

log = logging.getLogger(__name__)

NOT_FOUND = "Page not found"
PROBLEM = "Sorry, there is a problem with the service"
TRY_LATER = "Try again later."
SENT_ONCE = ("This form was sent a moment ago with the same details, and what it issued was "
             "shown then, once: it is not shown again. If it was not copied, revoke it and "
             "issue another.")
TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
PAGE_DURATION = Histogram("pcn_web_page_duration_seconds", "Time to answer each web page.",
                          ["page", "status"],
                          buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
UPSTREAM_CALLS = Histogram("pcn_web_upstream_calls", "Upstream calls made to answer a page.",
                           ["page"], buckets=(0, 1, 2, 3, 5, 8, 13, 21, 50))

environment = Environment(
    loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), PackageLoader("nhsuk_frontend_jinja")]),
    undefined=ChainableUndefined, autoescape=True)


def content_security_policy(issuer):
    """No inline script or style, nothing framed, forms post here (and sign-out may redirect
    to the provider)."""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            f"form-action 'self' {issuer}; frame-ancestors 'none'")


def secure(response, issuer, personal=True):
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(issuer)
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if personal:
        headers["Cache-Control"] = "no-store"
    return response


def safe_return_to(target, default="/"):
    """``target`` when it is a path of this site (not //host, not a scheme, no backslash),
    else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(location, status=303):
    return Response("", status=status, headers={"Location": location})


def html(template, status=200, **context):
    body = environment.get_template(template).render(**context)
    return Response(body, status=status, mimetype="text/html")


def page(method, path, *, signed_in=True, form=False, personal=True, once=False):
    """An HTML page at ``method path``. ``signed_in``: without a live session, a GET goes
    through sign-in and comes back here, anything else answers 401. ``form``: a POST checked
    against the session's CSRF token (403 otherwise). ``once``: a form that creates
    something; the same form sent again lands where the first went (form_posts.py). The
    method is called with ``session`` (or None) and the path arguments; it returns a
    ``Response`` or (template, context)."""
    def decorate(method_function):
        name = method_function.__name__

        @functools.wraps(method_function)
        def entrypoint(self, request, **arguments):
            started = time.perf_counter()
            self.upstream_calls = 0
            try:
                response = self._page_response(request, method_function, signed_in, form,
                                               arguments, once)
            except Exception:  # a page never answers the kit's JSON 500
                log.exception("the page %s failed", request.path)
                response = self.error_page(500, PROBLEM, TRY_LATER)
            secure(response, self.settings.oidc_issuer, personal)
            PAGE_DURATION.labels(name, str(response.status_code)).observe(
                time.perf_counter() - started)
            UPSTREAM_CALLS.labels(name).observe(self.upstream_calls)
            response.headers["X-Upstream-Calls"] = str(self.upstream_calls)
            return response
        return http(method, path)(entrypoint)
    return decorate


class PageHost:
    """Mixed into the web service: runs a page with its session, CSRF check and errors."""

    def current_session(self, request):
        return self.sessions().find(request.cookies.get(SESSION_COOKIE))

    def _page_response(self, request, method_function, signed_in, form, arguments,
                       once=False):
        session = self.current_session(request) if signed_in or form else None
        if signed_in and session is None:
            if request.method == "GET":
                here = request.full_path.rstrip("?")
                return redirect(f"/sign-in?return_to={quote(here, safe='')}")
            return self.error_page(401, "You are signed out",
                                   "Your session has ended. Sign in again and try once more.")
        if form and not csrf_matches(session, request.form.get("csrf_token")
                                       or request.args.get("csrf_token")):
            return self.error_page(403, "This form has expired",
                                   "Go back, reload the page and send the form again.",
                                   session)
        try:
            if once and request.method == "POST":
                answer = self._answer_once(request, method_function, session, arguments)
            else:
                answer = method_function(self, request, session=session, **arguments)
        except UpstreamRefused as refused:
            if refused.status in (403, 404):
                return self.error_page(404, "Page not found",
                                       "There is nothing here you can see.", session)
            log.error("an upstream service refused %s: %s", request.path, refused)
            return self.error_page(502, PROBLEM, TRY_LATER, session)
        except requests.RequestException as unreachable:
            log.error("an upstream service did not answer %s: %r", request.path, unreachable)
            return self.error_page(503, PROBLEM, TRY_LATER, session)
        if isinstance(answer, Response):
            return answer
        template, context = answer
        return html(template, **self.common_context(session, request), **context)

    def _answer_once(self, request, method_function, session, arguments):
        """The page's answer to the first POST of a form; a repeat of it (same session, path
        and values) is sent where the first went, and nothing is called again."""
        posts = self.site.form_posts
        key = fingerprint(request.cookies.get(SESSION_COOKIE), request.path, request.form,
                          request.files)
        if not posts.claim(key):
            location = posts.first_answer(key)
            if location == SHOWN_ONCE:
                return self.error_page(409, "This was sent already", SENT_ONCE, session)
            if location:
                return redirect(location)
            return self.error_page(409, "This form is already being sent",
                                   "Wait a moment, then open the page again to see whether "
                                   "it was saved.", session)
        try:
            answer = method_function(self, request, session=session, **arguments)
        except BaseException:
            posts.release(key)
            raise
        if isinstance(answer, Response) and answer.status_code == 303:
            posts.answer(key, answer.headers["Location"])
        elif not isinstance(answer, Response) or answer.status_code < 300:
            posts.shown_once(key)  # a page of its own, not a redirect: a new key or link
        else:
            posts.release(key)
        return answer

    def error_page(self, status, title, message, session=None):
        """An NHS.UK error page; every 404 is the "Page not found" page."""
        if status == 404:
            return html("not_found.jinja", status=404, title=NOT_FOUND,
                        **self.common_context(session, None))
        return html("error.jinja", status=status, title=title, message=message,
                    **self.common_context(session, None))

    def not_found_page(self, request):
        """The "Page not found" page with the security headers, for the signed-in person's
        header when there is a session (a path no route takes, a missing asset)."""
        try:
            session = self.current_session(request)
        except Exception as exc:  # the page still answers without the header's name
            log.warning("no session for the not-found page: %r", exc)
            session = None
        return secure(self.error_page(404, NOT_FOUND, "", session), self.settings.oidc_issuer)

    # Below every other route: werkzeug tries static segments and narrower converters first.
    @page("GET,POST,PUT,PATCH,DELETE", "/<path:unknown_path>", signed_in=False)
    def page_not_found(self, request, session, unknown_path):
        """Any path no route of the site takes: "Page not found" (HTML, 404), not JSON."""
        return self.not_found_page(request)

    @page("POST,PUT,PATCH,DELETE", "/", signed_in=False)
    def no_form_here(self, request, session):
        """The dashboard takes no form: the same page, not the kit's JSON 405."""
        return self.not_found_page(request)

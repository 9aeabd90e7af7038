"""The ways a notification leaves the service: email over SMTP and signed webhooks.

Each channel sends one message or raises ``DeliveryError`` saying whether a retry may help;
the service layer decides when to retry. Errors never carry an address: their reason goes to
the audit, the logs and the ``notification.failed`` event.
"""
import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import smtplib
import socket
import urllib.error
import urllib.parse
import urllib.request
from email import policy
from email.message import EmailMessage
from datetime import datetime, timezone
from email.utils import make_msgid, parsedate_to_datetime

from shared.domain import RuleBroken

WEBHOOK_SECRET_PREFIX = "whsec_"
ONE_CLICK = "List-Unsubscribe=One-Click"


class DeliveryError(Exception):
    """A send that did not happen. ``retryable``: a later attempt may succeed; ``gone``: the
    endpoint said it no longer exists (410); ``retry_after``: seconds the receiver asked for."""

    def __init__(self, reason, retryable, retry_after=None, gone=False):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.gone = gone


# --- email -------------------------------------------------------------------------------------

def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(secret, recipient_id, event_type):
    """A token for the one-click unsubscribe link: who stops hearing about which event type,
    signed with HMAC-SHA256 so that nobody can unsubscribe someone else."""
    if not secret:
        raise ValueError("NOTIFICATIONS_UNSUBSCRIBE_SECRET is not configured")
    payload = _b64url(json.dumps([recipient_id, event_type]).encode("utf-8"))
    signature = hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256)
    return f"{payload}.{_b64url(signature.digest())}"


def check_unsubscribe_token(secret, token):
    """(recipient id, event type) of a genuine token; ``RuleBroken`` naming ``token`` else."""
    refused = RuleBroken("this unsubscribe link is not valid; use the link of a recent email",
                         {"token": ["not a valid unsubscribe token"]})
    try:
        payload, signature = token.split(".")
        expected = hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256)
        if not secret or not hmac.compare_digest(_unb64url(signature), expected.digest()):
            raise refused
        recipient_id, event_type = json.loads(_unb64url(payload))
    except (ValueError, TypeError, UnicodeError):
        raise refused from None
    return recipient_id, event_type


def build_email(sender, to_address, subject, text, html, unsubscribe_url=None,
                chart_png=None):
    """A multipart message: plain text and HTML (en-GB), the chart inline in the HTML when
    given, and RFC 8058 one-click unsubscribe headers when ``unsubscribe_url`` is given
    (critical mail has none: nobody may opt out of it)."""
    # Lines up to RFC 5322's 998: compat32 folded a long subject onto its own line (read back
    # with a leading space), and the default 78 would encode a long List-Unsubscribe URL.
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["From"] = sender
    message["To"] = to_address
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">"))
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(text, subtype="plain", charset="utf-8")
    if chart_png:
        cid = make_msgid(domain="chart.pcn")
        message.add_alternative(html(cid[1:-1]), subtype="html", charset="utf-8")
        related = message.get_payload()[1]
        # Inline, named: with a filename alone the standard library makes it an attachment,
        # which mail clients list as a file (or show twice) beside the HTML that shows it.
        related.add_related(chart_png, maintype="image", subtype="png", cid=cid,
                            disposition="inline", filename="chart.png")
        related.set_param("type", "text/html")  # RFC 2387: the type of the root part
    else:
        message.add_alternative(html(None), subtype="html", charset="utf-8")
    return message


class EmailChannel:
    """Sends mail through one SMTP server: a real SMTP conversation per message (smtplib)."""

    def __init__(self, host, port, sender, timeout=10.0, username=None, password=None,
                 starttls=False):
        self.host, self.port, self.sender = host, int(port), sender
        self.timeout = timeout
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message):
        """Hand ``message`` (from ``build_email``) to the server; returns when it accepted it.
        4xx answers and connection trouble are retryable, 5xx answers are not."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            code = codes[0] if codes else 550
            raise DeliveryError(f"smtp: recipient refused ({code})", retryable=code < 500) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__} ({exc.smtp_code})",
                                retryable=exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}", retryable=True) from None


# --- webhooks (Standard Webhooks) ----------------------------------------------------------------

def new_webhook_secret():
    """A signing secret as the Standard Webhooks spec writes it: ``whsec_`` + base64 of 24
    random bytes. Shown once to the person who registers the endpoint."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def sign_webhook(secret, message_id, timestamp, body):
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed by the secret's bytes."""
    key = base64.b64decode(secret[len(WEBHOOK_SECRET_PREFIX):])
    signed = f"{message_id}.{timestamp}.".encode("utf-8") + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_body(event_type, timestamp, data):
    """The thin JSON body ``{type, timestamp, data}`` (compact, as signed)."""
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": data},
                      separators=(",", ":"), sort_keys=True).encode("utf-8")


def is_public_address(address):
    ip = ipaddress.ip_address(address)
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


def check_endpoint_shape(url, allow_private):
    """The checks needing no network: https (http only where private endpoints are allowed)
    and a host. Returns the parsed URL; raises ``RuleBroken`` naming ``webhook_url``."""
    parsed = urllib.parse.urlsplit(url)
    allowed = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in allowed or not parsed.hostname:
        raise RuleBroken("the webhook URL must be an https URL with a host",
                         {"webhook_url": [f"use {' or '.join(allowed)}://host/path"]})
    return parsed


def check_endpoint_address(url, allow_private):
    """Refuse an endpoint whose host is or resolves to a private, loopback or otherwise
    internal address (server-side request forgery), unless configuration allows it."""
    parsed = check_endpoint_shape(url, allow_private)
    if allow_private:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parsed.hostname, None)}
    except socket.gaierror:
        raise RuleBroken("the webhook host does not resolve",
                         {"webhook_url": ["the host name does not resolve"]}) from None
    if not all(is_public_address(address.split("%")[0]) for address in addresses):
        raise RuleBroken("the webhook URL points at a private or loopback address",
                         {"webhook_url": ["private, loopback and link-local addresses are "
                                          "refused"]})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead to an internal address: never follow one."""

    def redirect_request(self, *args, **kwargs):
        return None


class WebhookChannel:
    def __init__(self, allow_private=False, timeout=10.0):
        self.allow_private = allow_private
        self.timeout = timeout
        self.opener = urllib.request.build_opener(_NoRedirect)

    def send(self, url, secrets, message_id, event_type, timestamp, data):
        """POST the body signed with each of ``secrets`` (a secret being rotated out and its
        successor: the receiver accepts either signature); returns the status of a 2xx answer.
        A 410 is final and says the endpoint is gone; 429 and 5xx are retryable, honouring
        ``Retry-After``."""
        try:
            check_endpoint_address(url, self.allow_private)
        except RuleBroken as exc:
            raise DeliveryError(f"webhook: {exc.message}", retryable=False) from None
        body = webhook_body(event_type, timestamp, data)
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign_webhook(secret, message_id, timestamp, body)
                                          for secret in secrets),
        })
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            raise self._refused(exc.code, exc.headers.get("Retry-After")) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}", retryable=True) from None

    @staticmethod
    def _refused(status, retry_after):
        if status == 410:
            return DeliveryError("webhook: endpoint gone (410)", retryable=False, gone=True)
        if status == 429 or status >= 500:
            return DeliveryError(f"webhook: answered {status}", retryable=True,
                                 retry_after=_seconds(retry_after))
        return DeliveryError(f"webhook: answered {status}", retryable=False)


def _seconds(retry_after, now=None):
    """Retry-After as seconds: either form of RFC 9110 (delay-seconds or an HTTP date);
    anything else counts as no hint."""
    if retry_after is None:
        return None
    try:
        return max(float(retry_after), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max((moment - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)

"""The notifications service: turns the events of projects, measurement and training into what
a person must act on, by the channel they chose (email, signed webhook, in-app inbox).

Each route parses and authorises (``shared.routes``), calls the service layer (``commands``)
and answers. One pattern handler takes every routed event type (and the two that stop
ladders) and stores its notifications once per (event, recipient, channel); the sender
(``Delivery``, a thread in each replica, woken after every worker) sends what is due and
retries failed sends after their backoff, so no consumer waits for SMTP or a webhook. The
periodic passes, each run by one replica at a time (``leased_timer``), release held notices
when the send window opens, assemble digests and the weekly summary and take due ladder steps.
Who may act for a person: the person with their own key (role ``person``, issued by the
projects service with their staff id: ``/inbox`` and ``/preferences`` are theirs), their
network lead, an admin, or their practice's key (``shared.access.may_see_person``); the one-click
unsubscribe link is the person's own signed authority.
"""
import base64
import logging
import time
from dataclasses import dataclass

from nameko.dependency_providers import Config
from werkzeug.wrappers import Response

from services.notifications import commands, schemas, templates
from services.notifications.channels import WebhookChannel
from services.notifications.commands import Senders
from services.notifications.config import chart_timeout_of, email_channel_of, settings_of
from services.notifications.domain.recipients import own_staff_id
from services.notifications.domain.settings import Settings
from services.notifications.repository import OUTBOX_COLLECTIONS, NotificationsRepository
from shared import rpc
from shared.background import BackgroundLoop
from shared.events.envelope import utc_now
from shared.lease import leased_timer
from shared.messaging import catalogued_handler
from shared.openapi import binary, items_of, page_of
from shared.routes import route
from shared.service_base import Service
from shared.storage import open_database
from shared.web import PageQuery, trace_of

log = logging.getLogger(__name__)

MEMBERS = ("network_lead", "practice")
PEOPLE = MEMBERS + ("person",)  # routes of one person: a person key may call them for itself
DELIVERY_PASS_SECONDS = 2
WINDOW_PASS_SECONDS = 30
SUMMARY_PASS_SECONDS = 300


def _wants_a_page(request):
    """A browser (HTML before JSON in Accept) rather than a mail client's one-click POST."""
    accepted = request.accept_mimetypes
    return accepted["text/html"] > accepted["application/json"]


def _html(page):
    return Response(page, status=200, content_type="text/html; charset=utf-8")


def chart_from_measurement(config, timeout):
    """``chart(measure_id, series)``: PNG bytes of the series' chart, asked of the measurement
    service by RPC; raises when it does not answer within ``timeout`` seconds."""
    def chart(measure_id, series):
        encoded = rpc.call(config, "measurement", "series_chart_png", measure_id, series,
                           timeout=timeout)
        return base64.b64decode(encoded) if encoded else None
    return chart


@dataclass(frozen=True)
class DeliveryKit:
    settings: Settings
    senders: Senders


class Delivery(BackgroundLoop):
    """The settings and the channels (SMTP, webhooks, the chart RPC), made once at start, and
    the sender: a thread of its own that sends what is due after every worker (an event
    stored, a retry asked for) and every ``DELIVERY_PASS_SECONDS`` (retries after their
    backoff, released and digested notices). Consumers never wait for SMTP or a webhook.
    Every replica sends; each notification is claimed by one (``claim_for_sending``).
    Config: ``services/notifications/config.py`` reads it (SMTP, the chart RPC's patience and
    the ``NOTIFICATIONS_*`` settings)."""

    def setup(self):
        config = self.container.config
        settings = settings_of(config)
        chart = chart_from_measurement(config, chart_timeout_of(config))
        self.kit = DeliveryKit(settings, Senders(
            email=email_channel_of(config),
            webhook=WebhookChannel(settings.allow_private_endpoints), chart=chart))
        self.repository = NotificationsRepository(
            open_database(config, self.container.service_name))

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        self.wake()

    def get_dependency(self, worker_ctx):
        return self.kit

    def _run(self):
        while not self._stopping:
            self._wakeup.wait(DELIVERY_PASS_SECONDS)
            self._wakeup.clear()
            if self._stopping:
                break
            try:
                commands.deliver(self.repository, self.kit.senders, utc_now(),
                                 self.kit.settings)
            except Exception as exc:  # storage down: what is due stays queued for the next pass
                log.warning("delivery pass failed (%r); retrying in %s s", exc,
                            DELIVERY_PASS_SECONDS)
            time.sleep(0)  # let other green threads run between passes


class NotificationsService(Service):
    name = "notifications"
    repository = NotificationsRepository
    event_collections = OUTBOX_COLLECTIONS
    openapi_description = ("Recipients, watchers, routes and preferences; email, signed "
                           "webhooks and the in-app inbox; the audit of every delivery.")
    config = Config()
    delivery = Delivery()

    # --- events of the other services ----------------------------------------------------

    # Every routed event type, and those that stop a ladder (a huddle item's resolution, a
    # practice's submission): the catalogue's SUBSCRIPTIONS names them.
    @catalogued_handler
    def notify_of(self, envelope):
        """Store the notifications of one event (once, however often it comes); the sender
        (``Delivery``), woken as this worker ends, sends those due now."""
        commands.notify(self.storage, envelope, utc_now(), self.delivery.settings)

    # --- periodic passes (one replica at a time) --------------------------------------------

    @leased_timer(WINDOW_PASS_SECONDS)
    def release_held(self):
        return commands.release_held(self.storage, utc_now())

    @leased_timer(WINDOW_PASS_SECONDS)
    def send_digests(self):
        kit = self.delivery
        return commands.send_digests(self.storage, utc_now(), kit.settings)

    @leased_timer(SUMMARY_PASS_SECONDS)
    def send_weekly_summaries(self):
        kit = self.delivery
        return commands.send_weekly_summaries(self.storage, utc_now(), kit.settings)

    @leased_timer(WINDOW_PASS_SECONDS)
    def run_ladders(self):
        kit = self.delivery
        return commands.run_ladders(self.storage, utc_now(), kit.settings)

    # --- recipients ------------------------------------------------------------------------

    @route("POST", "/recipients", "Register a recipient (network lead); a webhook's signing "
           "secret is shown once", body=schemas.RecipientCreate,
           answers={201: schemas.RecipientView}, roles=("network_lead",))
    def register_recipient(self, request, principal, command):
        recipient = commands.register_recipient(self.storage, principal, command, utc_now(),
                                                trace_of(request), self.delivery.settings)
        return recipient, 201, {"Location": f"/recipients/{recipient['_id']}"}

    @route("GET", "/networks/<network_id>/recipients", "List a network's recipients",
           query=PageQuery, answers={200: page_of(schemas.RecipientView)}, roles=MEMBERS)
    def list_recipients(self, request, network_id, principal, query):
        return commands.list_recipients(self.storage, principal, query, network_id)

    @route("GET", "/recipients/<staff_id>", "Read a recipient",
           answers={200: schemas.RecipientView}, roles=PEOPLE)
    def get_recipient(self, request, staff_id, principal):
        return commands.get_recipient(self.storage, principal, staff_id)

    @route("PATCH", "/recipients/<staff_id>", "Change contacts, time zone, digest time, quiet "
           "hours (role and scope: network lead); a new webhook URL gets a new secret, shown once",
           body=schemas.RecipientChange, answers={200: schemas.RecipientView}, roles=PEOPLE)
    def change_recipient(self, request, staff_id, principal, command):
        return commands.change_recipient(self.storage, principal, staff_id, command, utc_now(),
                                         trace_of(request), self.delivery.settings)

    @route("POST", "/recipients/<staff_id>/webhook-secret", "A new signing secret for the "
           "person's webhook, shown once; the old one keeps signing beside it for a day "
           "(NOTIFICATIONS_WEBHOOK_ROTATION_OVERLAP_HOURS)", answers={200: schemas.RecipientView},
           roles=PEOPLE)
    def rotate_webhook_secret(self, request, staff_id, principal):
        return commands.rotate_webhook_secret(self.storage, principal, staff_id, utc_now(),
                                              self.delivery.settings)

    # --- watchers --------------------------------------------------------------------------

    @route("GET", "/recipients/<staff_id>/watching", "What a person follows",
           answers={200: items_of(schemas.WatcherView)}, roles=PEOPLE)
    def watched_by(self, request, staff_id, principal):
        return {"items": commands.watched_by(self.storage, principal, staff_id)}

    @route("POST", "/recipients/<staff_id>/watching", "Follow a measure or a project",
           body=schemas.WatcherCreate, answers={201: schemas.WatcherView}, roles=PEOPLE)
    def watch(self, request, staff_id, principal, command):
        return commands.watch(self.storage, principal, staff_id, command, utc_now(),
                              trace_of(request)), 201

    @route("DELETE", "/recipients/<staff_id>/watching/<subject_kind>/<subject_id>",
           "Stop following; answers what the person still follows",
           answers={200: items_of(schemas.WatcherView)}, roles=PEOPLE)
    def unwatch(self, request, staff_id, subject_kind, subject_id, principal):
        commands.unwatch(self.storage, principal, staff_id, subject_kind, subject_id)
        return {"items": commands.watched_by(self.storage, principal, staff_id)}

    # --- routes ----------------------------------------------------------------------------

    @route("GET", "/networks/<network_id>/routes", "Every routed event type of a network",
           answers={200: items_of(schemas.RouteView)}, roles=MEMBERS)
    def list_routes(self, request, network_id, principal):
        return {"items": commands.routes_of(self.storage, principal, network_id)}

    @route("PUT", "/networks/<network_id>/routes", "Replace an event type's rules for the "
           "network (network lead)", body=schemas.RouteChange,
           answers={200: schemas.RouteView}, roles=("network_lead",))
    def set_route(self, request, network_id, principal, command):
        return commands.set_route(self.storage, principal, network_id, command, utc_now(),
                                  trace_of(request))

    @route("DELETE", "/networks/<network_id>/routes/<event_type_name>", "Go back to the "
           "default rules; answers every route", answers={200: items_of(schemas.RouteView)},
           roles=("network_lead",))
    def reset_route(self, request, network_id, event_type_name, principal):
        commands.reset_route(self.storage, principal, network_id, event_type_name)
        return {"items": commands.routes_of(self.storage, principal, network_id)}

    # --- preferences and unsubscribe ---------------------------------------------------------

    @route("GET", "/recipients/<staff_id>/preferences", "A person's preferences",
           answers={200: schemas.PreferencesView}, roles=PEOPLE)
    def get_preferences(self, request, staff_id, principal):
        return commands.get_preferences(self.storage, principal, staff_id)

    @route("PUT", "/recipients/<staff_id>/preferences", "Replace a person's preferences (per "
           "event type and channel; per channel)", body=schemas.PreferencesChange,
           answers={200: schemas.PreferencesView}, roles=PEOPLE)
    def set_preferences(self, request, staff_id, principal, command):
        return commands.set_preferences(self.storage, principal, staff_id, command, utc_now(),
                                        trace_of(request))

    @route("POST", "/unsubscribe", "One-click unsubscribe (RFC 8058): the signed token of the "
           "mail's List-Unsubscribe link is the authority", query=schemas.UnsubscribeRequest,
           answers={200: schemas.UnsubscribedView})
    def unsubscribe(self, request, query):
        answer = commands.unsubscribe(self.storage, query["token"], utc_now(),
                                      self.delivery.settings)
        if _wants_a_page(request):  # the page's own button, pressed in a browser
            event_type = answer["unsubscribed"]
            return _html(templates.unsubscribed_page(
                event_type, commands.event_type_description(event_type)))
        return answer

    @route("GET", "/unsubscribe", "The page an unsubscribe link opens: what would stop, and a "
           "button that stops it (opening the link changes nothing: mail scanners follow "
           "links)", query=schemas.UnsubscribeRequest, answers={200: binary("text/html")})
    def unsubscribe_page(self, request, query):
        event_type = commands.unsubscribe_subject(self.storage, query["token"],
                                                  self.delivery.settings)
        return _html(templates.unsubscribe_page(
            event_type, commands.event_type_description(event_type), request.full_path))

    @route("GET", "/unsubscribe/state", "What an unsubscribe link stops and whether it has "
           "(JSON, for the web front end's unsubscribe page; changes nothing)",
           query=schemas.UnsubscribeRequest, answers={200: schemas.UnsubscribeStateView})
    def unsubscribe_state(self, request, query):
        return commands.unsubscribe_state(self.storage, query["token"], self.delivery.settings)

    # --- inbox -----------------------------------------------------------------------------

    @route("GET", "/recipients/<staff_id>/inbox", "A person's inbox: unread first, newest "
           "first within each; with the unread count", query=schemas.InboxQuery,
           answers={200: schemas.InboxPage}, roles=PEOPLE)
    def inbox(self, request, staff_id, principal, query):
        return commands.inbox(self.storage, principal, staff_id, query)

    @route("GET", "/recipients/<staff_id>/inbox/unread", "How many inbox items are unread",
           answers={200: schemas.UnreadView}, roles=PEOPLE)
    def unread_count(self, request, staff_id, principal):
        return {"unread": commands.unread_count(self.storage, principal, staff_id)}

    @route("POST", "/recipients/<staff_id>/inbox/<notification_id>/read", "Mark read",
           answers={200: schemas.NotificationView}, roles=PEOPLE)
    def mark_read(self, request, staff_id, notification_id, principal):
        return commands.mark_read(self.storage, principal, staff_id, notification_id,
                                  utc_now())

    @route("POST", "/recipients/<staff_id>/inbox/<notification_id>/archive", "Archive",
           answers={200: schemas.NotificationView}, roles=PEOPLE)
    def archive(self, request, staff_id, notification_id, principal):
        return commands.archive(self.storage, principal, staff_id, notification_id, utc_now())

    # --- one's own, with a person key ----------------------------------------------------------

    @route("GET", "/inbox", "Your inbox (person key): unread first, newest first within each; "
           "with the unread count", query=schemas.InboxQuery, answers={200: schemas.InboxPage},
           roles=("person",))
    def own_inbox(self, request, principal, query):
        return commands.inbox(self.storage, principal, own_staff_id(principal), query)

    @route("GET", "/inbox/unread", "How many of your inbox items are unread (person key)",
           answers={200: schemas.UnreadView}, roles=("person",))
    def own_unread_count(self, request, principal):
        return {"unread": commands.unread_count(self.storage, principal,
                                                own_staff_id(principal))}

    @route("POST", "/inbox/<notification_id>/read", "Mark one of your items read (person key)",
           answers={200: schemas.NotificationView}, roles=("person",))
    def own_mark_read(self, request, notification_id, principal):
        return commands.mark_read(self.storage, principal, own_staff_id(principal),
                                  notification_id, utc_now())

    @route("POST", "/inbox/<notification_id>/archive", "Archive one of your items (person key)",
           answers={200: schemas.NotificationView}, roles=("person",))
    def own_archive(self, request, notification_id, principal):
        return commands.archive(self.storage, principal, own_staff_id(principal),
                                notification_id, utc_now())

    @route("GET", "/preferences", "Your preferences (person key)",
           answers={200: schemas.PreferencesView}, roles=("person",))
    def own_preferences(self, request, principal):
        return commands.get_preferences(self.storage, principal, own_staff_id(principal))

    @route("PUT", "/preferences", "Replace your preferences (person key)",
           body=schemas.PreferencesChange, answers={200: schemas.PreferencesView},
           roles=("person",))
    def set_own_preferences(self, request, principal, command):
        return commands.set_preferences(self.storage, principal, own_staff_id(principal),
                                        command, utc_now(), trace_of(request))

    # --- deliveries (the audit) --------------------------------------------------------------

    @route("GET", "/deliveries", "Notifications by state, with why each was or was not sent "
           "(status=failed: those waiting for an admin)", query=schemas.DeliveriesQuery,
           answers={200: page_of(schemas.NotificationView)}, roles=("network_lead",))
    def deliveries(self, request, principal, query):
        return commands.deliveries(self.storage, principal, query)

    @route("POST", "/deliveries/<notification_id>/retry", "Send a failed notification again "
           "(admin)", answers={200: schemas.NotificationView}, roles=("admin",))
    def retry_delivery(self, request, notification_id, principal):
        # Queued again; the sender, woken as this worker ends, sends it.
        return commands.retry_delivery(self.storage, principal, notification_id, utc_now(),
                                       trace_of(request))

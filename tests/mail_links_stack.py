"""A whole network whose mails are real: projects, measurement, training and notifications on
the test broker, notifications mailing a local SMTP server (aiosmtpd) with every link pointing
at the web service beside them, and the local OpenID provider. For the tests that follow a
link taken from a mail (tests/integration/test_web_links.py, tests/browser/test_mail_links.py).

Nothing depends on the day the tests run: the measure's periods are fixed (tests/web_stack.py),
the send window is every hour of every day, and the person whose training is overdue started
in 2020 (``introduction`` was due within 90 days of it)."""
from datetime import date, timedelta
from urllib.parse import urlsplit


from shared.events.catalogue import make_event
from shared.events.envelope import Trace
from tests.helpers import ServiceClient, publish_raw, started, with_own_address
from tests.unit.notifications.conftest import SmtpServer
from tests.web_stack import (FIRST_WEEK, WebStack, escalate_an_item, link_people,
                             measure_network, register_network, start_provider, wait_until)

NETWORK = "north-pcn"
# Gap people: one of each practice, both overdue for ``introduction`` since 2020.
GAP_STAFF = (("gap-f1", "F84001", "2020-01-06"), ("gap-f2", "F84002", "2020-02-03"))
SIGNAL_PERIOD = FIRST_WEEK + timedelta(weeks=15)


class MailStack(WebStack):
    """The web stack, with the SMTP server's mail and the other services' addresses."""
    smtp: SmtpServer = None
    notifications: ServiceClient = None
    training: ServiceClient = None

    def mails(self):
        return self.smtp.messages()

    def mail_about(self, words, timeout=60):
        """The first mail whose subject holds ``words`` (waiting for it)."""
        return wait_until(lambda: next((m for m in self.mails() if words in m["Subject"]),
                                       None), f"a mail about {words!r}", timeout=timeout)


def links_of(message):
    """Every link of a parsed mail, as a reader meets them: the URLs of the plain text and the
    hrefs of the HTML (in order)."""
    import re
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return re.findall(r"https?://\S+", text), re.findall(r'href="([^"]+)"', html)


def path_of(link):
    """``/path?query`` of an absolute link (what a browser asks the site for)."""
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def build_mail_stack(container_factory, service_config, maildir):
    """(stack, provider process). Every service's address is chosen first, so that the web
    knows the others and notifications' mails point at the web."""
    from services.measurement.service import MeasurementService
    from services.notifications.service import NotificationsService
    from services.projects.service import ProjectsService
    from services.training.service import TrainingService
    from services.web.service import WebService

    smtp = SmtpServer(maildir)
    smtp.start()
    projects_config = service_config
    measurement_config = with_own_address(service_config)
    training_config = {**with_own_address(service_config),
                       "TRAINING_OVERDUE_CHECK_SECONDS": 1}
    web_config = with_own_address(service_config)
    web = f"http://{web_config['WEB_SERVER_ADDRESS']}"
    notifications_config = {
        **with_own_address(service_config),
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port,
        "SMTP_SENDER": "PCN Improvement Network <pcn@notify.example.org>",
        "CHART_RPC_TIMEOUT_SECONDS": 2, "NOTIFICATIONS_WEB_URL": web,
        "NOTIFICATIONS_BACKOFF_BASE_SECONDS": 0.2, "NOTIFICATIONS_BACKOFF_CAP_SECONDS": 1,
        "NOTIFICATIONS_WINDOW_DAYS": [0, 1, 2, 3, 4, 5, 6],
        "NOTIFICATIONS_WINDOW_START": "00:00", "NOTIFICATIONS_WINDOW_END": "23:59"}
    notifications_config["NOTIFICATIONS_BASE_URL"] = (
        f"http://{notifications_config['WEB_SERVER_ADDRESS']}")
    # Training and notifications first: their queues hear the registry and what follows.
    started(container_factory, TrainingService, training_config)
    started(container_factory, NotificationsService, notifications_config)
    started(container_factory, ProjectsService, projects_config)
    started(container_factory, MeasurementService, measurement_config)
    process, provider = start_provider(web_config["WEB_SERVER_ADDRESS"])
    address = {name: f"http://{config['WEB_SERVER_ADDRESS']}" for name, config in (
        ("PROJECTS", projects_config), ("MEASUREMENT", measurement_config),
        ("TRAINING", training_config), ("NOTIFICATIONS", notifications_config))}
    web_config.update({f"WEB_{name}_URL": url for name, url in address.items()},
                      WEB_OIDC_ISSUER=provider, WEB_BASE_URL=web)
    web_container = started(container_factory, WebService, web_config)

    admin = ServiceClient(projects_config["WEB_SERVER_ADDRESS"])
    keys = register_network(admin)
    notifications = ServiceClient(notifications_config["WEB_SERVER_ADDRESS"])
    for recipient in (
            {"staff_id": "lead-01", "role": "network_lead",
             "scope": {"kind": "network", "id": NETWORK}},
            {"staff_id": "leader-ph", "role": "leader", "practice_id": "F84001",
             "scope": {"kind": "team", "id": "pharmacy"}}):
        answer = notifications.post("/recipients", {
            **recipient, "network_id": NETWORK,
            "email": f"{recipient['staff_id']}@practice.example.org"})
        assert answer.status_code == 201, answer.text
    # A gap goes to the team leader's digest by default; this leader wants it straight away.
    assert notifications.request("PUT", "/recipients/leader-ph/preferences", {
        "by_event": {"training.capability_gap_identified": {"email": "immediate"}},
        "by_channel": {}}).status_code == 200

    project_id, measure_id = measure_network(admin, keys, ServiceClient(
        measurement_config["WEB_SERVER_ADDRESS"]))
    item_id = escalate_an_item(admin, keys)
    link_people(web_config, keys, provider)
    stack = MailStack(web, provider, keys, measure_id, project_id, item_id, web_config,
                      web_container)
    stack.smtp, stack.notifications = smtp, notifications
    stack.training = ServiceClient(training_config["WEB_SERVER_ADDRESS"], keys["lead_key"])
    stack.notifications_config = notifications_config
    rows = [{"staff_id": staff_id, "network_id": NETWORK, "practice_id": practice_id,
             "team": "pharmacy", "role": "clinical_pharmacist", "started_on": started_on}
            for staff_id, practice_id, started_on in GAP_STAFF]
    # Training learns the practices and the lead's key from the projects service's events.
    assert wait_until(lambda: stack.training.post("/staff-imports", {"rows": rows})
                      .status_code == 201, "training to take the staff import")
    publish_raw(notifications_config["AMQP_URI"], concern_signal(measure_id, project_id))
    return stack, process


def concern_signal(measure_id, project_id, period=SIGNAL_PERIOD):
    """measurement.signal_detected of a concern on the pooled series at ``period``, as the
    measurement service publishes it (its data come out improving, so the test sends one)."""
    return make_event("measurement.signal_detected", {
        "measure_id": measure_id, "project_id": project_id, "series": "pooled",
        "rule": "outside_limits", "kind": "concern", "point_type": "special_cause",
        "period": period if isinstance(period, date) else date.fromisoformat(period),
        "value": 0.3}, source="measurement", network_id=NETWORK, trace=Trace())

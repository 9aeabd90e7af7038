"""Recipients and what they follow: registering, changing and reading a person, rotating their
webhook secret, a network's list, and watching a measure or project."""
from services.notifications.channels import check_endpoint_address, new_webhook_secret
from services.notifications.domain.recipients import check_person, new_recipient, watcher_id
from services.notifications.domain.settings import Settings, parse_clock
from services.notifications.repository import RECIPIENTS
from shared import access
from shared.domain import Change, NotFoundError, NotPermitted, RuleBroken


def recipient_view(recipient, webhook_secret=None):
    """A recipient as the API shows it: the webhook's signing secret only when just made
    (``webhook_secret``), never from storage."""
    contacts = dict(recipient.get("contacts") or {})
    if contacts.get("webhook"):
        contacts["webhook"] = {k: v for k, v in contacts["webhook"].items()
                               if k not in ("secret", "previous_secret")}
    return {**recipient, "contacts": contacts, "webhook_secret": webhook_secret}


def register_recipient(repository, principal, command, now, trace, settings=Settings()):
    """A new recipient (network lead of the network, or admin). Answers the recipient and,
    when a webhook URL was given, its signing secret: shown this once, never again."""
    access.check_may_manage_network(principal, command["network_id"])
    if command.get("webhook_url"):
        check_endpoint_address(command["webhook_url"], settings.allow_private_endpoints)
    if command.get("digest_time"):
        parse_clock(command["digest_time"], "digest_time")
    recipient = new_recipient(command, now)
    secret = None
    if recipient["contacts"]["webhook"]:
        secret = new_webhook_secret()
        recipient["contacts"]["webhook"]["secret"] = secret
    repository.add_recipient(recipient)
    return recipient_view(recipient, secret)


def change_recipient(repository, principal, staff_id, command, now, trace, settings=Settings()):
    """Change contacts, time zone, digest time, quiet hours (the person, their network lead or
    admin); role and scope only by the network lead or admin. A new webhook URL gets a new
    secret."""
    recipient = check_person(principal, repository.recipient(staff_id), staff_id)
    if ({"role", "scope", "practice_id"} & set(command)
            and not access.may_manage_network(principal, recipient["network_id"])):
        raise NotPermitted("only the network lead may change a role or scope",
                           {"role": ["not yours to change"]})
    changes, secret = {}, None
    for name in ("role", "scope", "practice_id", "time_zone", "digest_time", "quiet_start",
                 "quiet_end"):
        if name in command:
            changes[name] = command[name]
    if "email" in command:
        changes["contacts.email"] = command["email"]
    if "webhook_url" in command:
        url = command["webhook_url"]
        if url:
            check_endpoint_address(url, settings.allow_private_endpoints)
            secret = new_webhook_secret()
            changes["contacts.webhook"] = {"url": url, "secret": secret, "disabled_at": None}
        else:
            changes["contacts.webhook"] = None
    repository.apply(RECIPIENTS, change_of(recipient, changes))
    return recipient_view(repository.recipient(staff_id), secret)


def rotate_webhook_secret(repository, principal, staff_id, now, settings=Settings()):
    """A new signing secret for the person's webhook, shown this once. The old one still
    signs beside it for ``settings.webhook_rotation_overlap`` so that the receiver can switch
    without losing a call (Standard Webhooks: every signature in the header is tried)."""
    recipient = check_person(principal, repository.recipient(staff_id), staff_id)
    webhook = (recipient.get("contacts") or {}).get("webhook")
    if not webhook:
        raise RuleBroken("this person has no webhook endpoint",
                         {"webhook_url": ["none registered: set one first"]})
    secret = new_webhook_secret()
    repository.apply(RECIPIENTS, change_of(recipient, {"contacts.webhook": {
        **webhook, "secret": secret, "previous_secret": webhook["secret"],
        "previous_until": now + settings.webhook_rotation_overlap}}))
    return recipient_view(repository.recipient(staff_id), secret)


def change_of(recipient, changes):
    """A change of the recipient's fields, under the version it was decided on."""
    return Change(decided_on=recipient, set=changes)


def get_recipient(repository, principal, staff_id):
    return recipient_view(check_person(principal, repository.recipient(staff_id), staff_id))


def list_recipients(repository, principal, query, network_id):
    """A page of a network's recipients: network lead and admin see all; a practice key its
    own."""
    scope = access.network_listing_scope(principal, network_id)
    listing = repository.recipient_listing(scope.network_id, scope.practice_id, query)
    return {**listing, "items": [recipient_view(item) for item in listing["items"]]}


# --- watchers --------------------------------------------------------------------------------

def watch(repository, principal, staff_id, command, now, trace):
    recipient = check_person(principal, repository.recipient(staff_id), staff_id)
    watcher = {"_id": watcher_id(staff_id, command["subject_kind"], command["subject_id"]),
               "staff_id": staff_id, "network_id": recipient["network_id"],
               "subject_kind": command["subject_kind"], "subject_id": command["subject_id"],
               "since": now}
    return repository.add_watcher(watcher)


def unwatch(repository, principal, staff_id, subject_kind, subject_id):
    check_person(principal, repository.recipient(staff_id), staff_id)
    if not repository.remove_watcher(watcher_id(staff_id, subject_kind, subject_id)):
        raise NotFoundError(f"{staff_id} does not follow {subject_kind} {subject_id}",
                            {"subject_id": ["not followed"]})


def watched_by(repository, principal, staff_id):
    check_person(principal, repository.recipient(staff_id), staff_id)
    return repository.watched_by(staff_id)

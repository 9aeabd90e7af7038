"""Recipients: who they are, who may see or manage them, how they are reached.

Contact details (an email address, a webhook endpoint and its secret) live only in recipient
documents; everything else (notifications, events, logs, metric labels) names a person by the
pseudonymous staff id.
"""
from shared import access
from shared.domain import NotFoundError, NotPermitted
from shared.storage import as_utc

ROLES = ("network_lead", "practice_lead", "project_lead", "leader", "ops")
SCOPES = ("network", "practice", "team", "project")


def new_recipient(command, now):
    """A recipient document from a loaded ``RecipientSchema`` command."""
    webhook = None
    if command.get("webhook_url"):
        webhook = {"url": command["webhook_url"], "secret": None, "disabled_at": None}
    return {
        "_id": command["staff_id"],
        "network_id": command["network_id"],
        "practice_id": command.get("practice_id"),
        "role": command["role"],
        "scope": command["scope"],
        "contacts": {"email": command.get("email"), "webhook": webhook},
        "time_zone": command.get("time_zone"),
        "digest_time": command.get("digest_time"),
        "quiet_start": command.get("quiet_start"),
        "quiet_end": command.get("quiet_end"),
        "preferences": {"by_event": {}, "by_channel": {}},
        "unsubscribed": [],
        "created_at": now,
        "version": 1,
    }


def own_staff_id(principal):
    """The caller's own staff id, for the routes of one's own inbox and preferences: only a
    person key has one."""
    if principal.staff_id is None:
        raise NotPermitted("this is a person's own: call it with their person key, or use "
                           "/recipients/<staff_id>/...", {"role": [f"{principal.role} keys "
                                                                   "carry no staff id"]})
    return principal.staff_id


def check_person(principal, recipient, staff_id):
    """404 for a person the principal may not see (it does not learn they exist)."""
    if recipient is None or not access.may_see_person(
            principal, recipient["_id"], recipient["network_id"], recipient.get("practice_id")):
        raise NotFoundError(f"no such recipient {staff_id}", {"staff_id": ["not found"]})
    return recipient


def watcher_id(staff_id, subject_kind, subject_id):
    return f"{staff_id}:{subject_kind}:{subject_id}"


def has_contact(recipient, channel):
    contacts = recipient.get("contacts") or {}
    if channel == "email":
        return bool(contacts.get("email"))
    if channel == "webhook":
        return bool((contacts.get("webhook") or {}).get("url"))
    return True


def signing_secrets(webhook, now):
    """The secrets a webhook call is signed with: the current one, and the one it replaced
    while their overlap lasts."""
    secrets = [webhook["secret"]]
    until = as_utc(webhook.get("previous_until"))
    if webhook.get("previous_secret") and until is not None and until > now:
        secrets.append(webhook["previous_secret"])
    return secrets

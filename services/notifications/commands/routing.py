"""Who hears what, as people set it: a network's routes, a person's preferences, and the
one-click unsubscribe of a mail's link."""
from services.notifications.channels import check_unsubscribe_token
from services.notifications.commands.recipients import change_of
from services.notifications.domain.recipients import check_person
from services.notifications.domain.routing import DEFAULT_ROUTES, routes_for
from services.notifications.repository import RECIPIENTS
from shared import access
from shared.domain import NotFoundError
from shared.events.catalogue import event_type as catalogue_event_type

ANY_EVENT = "*"  # an unsubscribe from a digest or summary: all non-critical email


# --- routes ----------------------------------------------------------------------------------

def routes_of(repository, principal, network_id):
    """Every routed event type of the network: its rules and whether they are the default."""
    access.check_network_readable(principal, network_id)
    stored = {route["event_type"]: route for route in repository.routes_of(network_id)}
    names = sorted(set(DEFAULT_ROUTES) | set(stored))
    return [{"event_type": name, "rules": routes_for(name, stored.get(name)),
             "default": name not in stored} for name in names]


def set_route(repository, principal, network_id, command, now, trace):
    """Replace a route's rules for one network (its lead, or admin); an empty list of rules
    is allowed and means nobody is notified of that event type in this network."""
    access.check_may_manage_network(principal, network_id)
    route = {"_id": f"{network_id}:{command['event_type']}", "network_id": network_id,
             "event_type": command["event_type"], "rules": command["rules"],
             "changed_at": now, "changed_by": principal.key_id}
    repository.save_route(route)
    return {"event_type": route["event_type"], "rules": route["rules"], "default": False}


def reset_route(repository, principal, network_id, event_type):
    access.check_may_manage_network(principal, network_id)
    repository.remove_route(network_id, event_type)


# --- preferences -----------------------------------------------------------------------------

def get_preferences(repository, principal, staff_id):
    recipient = check_person(principal, repository.recipient(staff_id), staff_id)
    return {**(recipient.get("preferences") or {"by_event": {}, "by_channel": {}}),
            "unsubscribed": recipient.get("unsubscribed") or []}


def set_preferences(repository, principal, staff_id, command, now, trace):
    """Replace the person's own layers (per event type and channel; per channel). Setting a
    mode for email also undoes an earlier one-click unsubscribe of that event type."""
    recipient = check_person(principal, repository.recipient(staff_id), staff_id)
    unsubscribed = [name for name in recipient.get("unsubscribed") or ()
                    if "email" not in command["by_event"].get(name, {})
                    and not (name == ANY_EVENT and "email" in command["by_channel"])]
    preferences = {"by_event": command["by_event"], "by_channel": command["by_channel"]}
    repository.apply(RECIPIENTS, change_of(recipient, {"preferences": preferences,
                                                       "unsubscribed": unsubscribed}))
    return {**preferences, "unsubscribed": unsubscribed}


# --- one-click unsubscribe -------------------------------------------------------------------

def _unsubscribing(repository, token, settings):
    """(recipient, event type) of a genuine token whose person is still a recipient."""
    staff_id, event_type = check_unsubscribe_token(settings.unsubscribe_secret, token)
    recipient = repository.recipient(staff_id)
    if recipient is None:
        raise NotFoundError("this unsubscribe link's person is no longer a recipient",
                            {"token": ["unknown person"]})
    return recipient, event_type


def unsubscribe_subject(repository, token, settings):
    """What a genuine unsubscribe link would stop (its event type); changes nothing (the page
    a link opens)."""
    return _unsubscribing(repository, token, settings)[1]


def unsubscribe_state(repository, token, settings):
    """What a genuine unsubscribe link would stop and whether it has: {event_type,
    description, unsubscribed}; changes nothing (the web front end's pages ask it)."""
    recipient, event_type = _unsubscribing(repository, token, settings)
    return {"event_type": event_type, "description": event_type_description(event_type),
            "unsubscribed": event_type in (recipient.get("unsubscribed") or ())}


def event_type_description(event_type):
    """The catalogue's words for ``event_type``; None for ``*`` (every event type)."""
    try:
        return catalogue_event_type(event_type).description
    except KeyError:
        return None


def unsubscribe(repository, token, now, settings):
    """RFC 8058 one-click: the signed token is the authority; stops non-critical email of
    that event type (``*``: all non-critical email) for the person. Idempotent."""
    recipient, event_type = _unsubscribing(repository, token, settings)
    if event_type in (recipient.get("unsubscribed") or ()):
        return {"unsubscribed": event_type}
    changes = {"unsubscribed": list(recipient.get("unsubscribed") or []) + [event_type]}
    if event_type == ANY_EVENT:
        changes["preferences.by_channel.email"] = "off"
    repository.apply(RECIPIENTS, change_of(recipient, changes))
    return {"unsubscribed": event_type}


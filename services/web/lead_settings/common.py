"""What the lead's settings pages share: who may open them (the rule of shared.access, asked
about the principal the services will see), the network's projects and their measures, and
the numbers the forms take (a share typed as a percentage, sent as a fraction)."""
from urllib.parse import quote

from services.web.upstream import UpstreamRefused
from shared.access import may_manage_network
from shared.auth import Principal

DONE_WORDS = {
    "practice": "The practice is registered.",
    "revoked": "The key is revoked: anything still using it is refused from now on.",
    "measure": "The measure is defined.",
    "route": "The route is changed.",
    "route_reset": "The route is back to the default rules.",
    "watching": "The person now follows it.",
    "unwatched": "The person no longer follows it.",
    "training": "The training requirements and targets are saved.",
}


def acting_principal(access):
    """The principal the services see when the web acts for ``access`` (a person token of
    its upstream kind, shared/person_token.py): asked here only to hide what they refuse."""
    return Principal("web", access.upstream_kind, access.network_id, access.practice_id,
                     access.staff_id, access.is_practice_lead)


def leads_the_network(access):
    """The settings are the network lead's: ``shared.access.may_manage_network``."""
    return may_manage_network(acting_principal(access), access.network_id)


def percentage_to_fraction(typed):
    """A share typed as a percentage (``"80"``, ``"12.5%"``) -> (fraction or None, error or
    None). Empty -> (None, None)."""
    text = (typed or "").strip().removesuffix("%").strip()
    if not text:
        return None, None
    try:
        percent = float(text)
    except ValueError:
        return None, "enter a percentage as a number, such as 80"
    if not 0 <= percent <= 100:
        return None, "enter a percentage from 0 to 100"
    return round(percent / 100, 10), None


def fraction_to_percentage(fraction):
    """0.8 -> ``"80"``, 0.125 -> ``"12.5"``; None -> ``""`` (what a form field shows)."""
    if fraction is None:
        return ""
    return f"{fraction * 100:.6f}".rstrip("0").rstrip(".")


def whole_number_or_text(typed):
    """A whole number typed -> int; anything else as typed (the service names the field)."""
    text = (typed or "").strip()
    return int(text) if text.isdigit() else (text or None)


def segment(value):
    return quote(str(value), safe="")


def projects_and_measures(upstream, network_id):
    """The network's projects, each with ``measures`` (None when the measurement service
    does not know the project yet)."""
    projects = upstream.projects("/projects", params={"network_id": network_id,
                                                      "page_size": 200})["items"]
    for project in projects:
        try:
            project["measures"] = upstream.measurement(
                f"/projects/{segment(project['id'])}/measures")["items"]
        except UpstreamRefused as refused:
            if refused.status != 404:
                raise
            project["measures"] = None
    return projects

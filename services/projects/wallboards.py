"""Wallboard links: a device link that lets a screen in a practice show one team's huddle
board, read-only, without anyone signing in on it.

A link reads ``wb_<link id>_<secret>``; as with API keys only its SHA-256 hash is stored (the
secret is 256 random bits) and the link is shown once, when issued. The practice's lead lists
and revokes them; a revoked or unknown link reads nothing, and says nothing about why.
"""
import hmac
import secrets

from shared.auth import hash_key
from shared.domain import Change, ConflictError, NotFoundError, RuleBroken

PREFIX = "wb"


def new_token():
    """(link id, the link's secret token to show once, its hash)."""
    link_id = secrets.token_hex(8)
    token = f"{PREFIX}_{link_id}_{secrets.token_urlsafe(32)}"
    return link_id, token, hash_key(token)


def link_id_of(token):
    """The link id a token names, or None when it is not shaped like a wallboard token."""
    parts = (token or "").split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def issue_link(link_id, token_hash, practice, team, label, issued_by, now):
    """The stored link of ``team``'s board at ``practice`` (a registered practice)."""
    if not (team or "").strip():
        raise RuleBroken("say which team's board the screen shows",
                         {"team": ["required: the team whose board the screen shows"]})
    return {"_id": link_id, "token_hash": token_hash, "network_id": practice["network_id"],
            "practice_id": practice["_id"], "team": team, "label": label,
            "issued_at": now, "issued_by": issued_by, "revoked_at": None, "revoked_by": None}


def revoke_link(link, revoked_by, now):
    if link.get("revoked_at") is not None:
        raise ConflictError("the wallboard link is already revoked",
                            {"id": ["already revoked"]})
    return Change(link, set={"revoked_at": now, "revoked_by": revoked_by})


def board_of(link, token):
    """(practice id, team) of the board ``token`` opens; ``NotFoundError`` for a link that is
    unknown (None), revoked or whose secret does not match, all alike."""
    if (link is None or link.get("revoked_at") is not None
            or not hmac.compare_digest(link["token_hash"], hash_key(token))):
        raise NotFoundError("no such wallboard")
    return link["practice_id"], link["team"]

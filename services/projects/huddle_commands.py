"""The service layer of the huddle board and the wallboard links (see ``commands``: load what
the decision needs, check access, let ``huddle_board``/``wallboards`` decide, store once).
Reads take the clock too: an item's bottleneck marks depend on when it is read."""
from shared import access
from shared.domain import NotFoundError, RuleBroken

from services.projects import huddle_board as board
from services.projects import huddle_repository as queries
from services.projects import wallboards
from services.projects.unblocking import unblocking, unblocking_by_board, window_start
from services.projects.huddle_repository import WALLBOARDS
from services.projects.repository import HUDDLE_ITEMS, PRACTICES


def actor_of(principal):
    """Who did it, for an item's history: the signed-in person's staff id (None for a key)."""
    return principal.staff_id


# --- items --------------------------------------------------------------------------------

def raise_huddle_item(repository, principal, command, now, trace):
    command = {**command,
               "practice_id": access.acting_practice(principal, command["practice_id"])}
    practice = (repository.find(PRACTICES, command["practice_id"])
                if command["practice_id"] else None)
    if practice is None:
        raise RuleBroken("say which registered practice the board belongs to",
                         {"practice_id": ["required and must be registered"]})
    access.check_practice(principal, practice["_id"], practice["network_id"], "practice")
    item, events = board.raise_item(command, practice["network_id"], actor_of(principal),
                                    now, trace)
    return board.with_marks(repository.insert(HUDDLE_ITEMS, item, events), now)


def list_huddle_items(repository, principal, query, now):
    """A page of the items the caller may see; ``bottleneck=yes``: only those marked now."""
    selector = repository.scoped(access.listing_scope(principal), practice_field="practice_id",
                                 **{name: query.get(name) for name in ("status", "practice_id",
                                                                       "team")})
    if query.get("bottleneck"):
        # The marks depend on the clock, so they are picked here from the items not done.
        items = [board.with_marks(item, now) for item in queries.open_items(repository,
                                                                            selector)]
        items = [item for item in items if item["bottlenecks"]]
        start = (query["page"] - 1) * query["page_size"]
        return {"items": items[start:start + query["page_size"]], "page": query["page"],
                "page_size": query["page_size"], "total": len(items)}
    answer = repository.listing(HUDDLE_ITEMS, selector, query,
                                sort=(("raised_at", -1), ("_id", 1)))
    return {**answer, "items": [board.with_marks(item, now) for item in answer["items"]]}


def _item(repository, principal, item_id):
    item = repository.get_or_404(HUDDLE_ITEMS, item_id, "huddle item")
    access.check_practice(principal, item["practice_id"], item["network_id"], "huddle item")
    return item


def get_huddle_item(repository, principal, item_id, now):
    return board.with_marks(_item(repository, principal, item_id), now)


def move_huddle_item(repository, principal, item_id, command, now, trace):
    item = _item(repository, principal, item_id)
    change = board.move_item(item, command["column"], actor_of(principal), now, trace)
    return board.with_marks(repository.apply(HUDDLE_ITEMS, change), now)


def assign_huddle_item(repository, principal, item_id, command, now, trace):
    item = _item(repository, principal, item_id)
    change = board.assign_item(item, command["assignee"], actor_of(principal), now, trace)
    return board.with_marks(repository.apply(HUDDLE_ITEMS, change), now)


def escalate_huddle_item(repository, principal, item_id, command, now, trace):
    item = _item(repository, principal, item_id)
    change = board.escalate_item(item, command["escalated_to"], command.get("reason"),
                                 actor_of(principal), now, trace)
    return board.with_marks(repository.apply(HUDDLE_ITEMS, change), now)


def resolve_huddle_item(repository, principal, item_id, command, now, trace):
    item = _item(repository, principal, item_id)
    change = board.resolve_item(item, command["resolution"], actor_of(principal), now, trace)
    return board.with_marks(repository.apply(HUDDLE_ITEMS, change), now)


# --- boards -------------------------------------------------------------------------------

def _practice(repository, principal, practice_id, what="huddle board"):
    practice = repository.find(PRACTICES, practice_id)
    if practice is None:
        raise NotFoundError(f"no such {what}", {"practice_id": [f"{practice_id} not found"]})
    access.check_practice(principal, practice_id, practice["network_id"], what)
    return practice


def huddle_board(repository, principal, practice_id, query, now):
    """One team's board (``query["team"]``) with every item's marks; ``view`` bottlenecks:
    only the marked items. A board with no items yet is an empty board."""
    practice = _practice(repository, principal, practice_id)
    return _board(repository, practice, query["team"], query["view"], now)


def _board(repository, practice, team, view, now):
    items = [board.with_marks(item, now)
             for item in queries.board_items(repository, practice["_id"], team)]
    resolved = queries.resolved_since(repository, {"practice_id": practice["_id"],
                                                   "team": team}, window_start(now))
    summary = unblocking(resolved, [item for item in items if item["status"] != "resolved"],
                         now)
    if view == "bottlenecks":
        items = [item for item in items if item["bottlenecks"]]
    return {"practice_id": practice["_id"], "practice_name": practice["name"],
            "network_id": practice["network_id"], "team": team, "view": view,
            "items": items, "unblocking": summary}


def huddle_boards(repository, principal, query, now):
    """Every board the caller may see (of ``practice_id`` when given), with how many items
    are open, how many of those are bottlenecks and how fast its items are unblocked; and
    the unblocking summary of all of them together (a lead's: the network's)."""
    selector = repository.scoped(access.listing_scope(principal), practice_field="practice_id",
                                 practice_id=query.get("practice_id"))
    counts = {name: {"open_items": 0, "bottlenecks": 0}
              for name in queries.board_names(repository, selector)}
    open_now = queries.open_items(repository, selector)
    for item in open_now:
        count = counts.setdefault((item["practice_id"], item["team"]),
                                  {"open_items": 0, "bottlenecks": 0})
        count["open_items"] += 1
        count["bottlenecks"] += bool(board.bottlenecks(item, now))
    resolved = queries.resolved_since(repository, selector, window_start(now))
    by_board = unblocking_by_board(resolved, open_now, now)
    nothing = unblocking([], [], now)
    return {"items": [{"practice_id": practice_id, "team": team, **count,
                       "unblocking": by_board.get((practice_id, team), nothing)}
                      for (practice_id, team), count in sorted(counts.items())],
            "unblocking": unblocking(resolved, open_now, now)}


# --- wallboard links ----------------------------------------------------------------------

def _devices_practice(repository, principal, practice_id):
    practice = repository.find(PRACTICES, practice_id)
    if practice is None:
        raise NotFoundError("no such practice", {"practice_id": [f"{practice_id} not found"]})
    access.check_may_manage_practice_devices(principal, practice_id, practice["network_id"])
    return practice


def issue_wallboard(repository, principal, command, now):
    """The stored link with ``token``, the secret link itself: shown this once."""
    practice = _devices_practice(repository, principal, command["practice_id"])
    link_id, token, token_hash = wallboards.new_token()
    link = wallboards.issue_link(link_id, token_hash, practice, command["team"],
                                 command["label"], actor_of(principal), now)
    repository.insert(WALLBOARDS, link)
    return {**link, "token": token}


def list_wallboards(repository, principal, query):
    _devices_practice(repository, principal, query["practice_id"])
    return queries.wallboards_of(repository, query["practice_id"], query)


def revoke_wallboard(repository, principal, link_id, now):
    link = repository.get_or_404(WALLBOARDS, link_id, "wallboard link")
    _devices_practice(repository, principal, link["practice_id"])
    return repository.apply(WALLBOARDS, wallboards.revoke_link(link, actor_of(principal), now))


def wallboard_board(repository, token, now):
    """The board a wallboard link opens (``NotFoundError`` for a revoked or unknown link)."""
    link_id = wallboards.link_id_of(token)
    link = repository.find(WALLBOARDS, link_id) if link_id else None
    practice_id, team = wallboards.board_of(link, token)
    return _board(repository, repository.find(PRACTICES, practice_id), team, "all", now)

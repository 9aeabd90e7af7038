"""The queries of the huddle board and the wallboard links, over the projects service's
storage (``ProjectsRepository``): the only place here that writes MongoDB selectors.
``status`` is resolved exactly when an item is done, for items stored before columns too."""
from shared.repository import all_of

from services.projects.repository import HUDDLE_ITEMS, WALLBOARDS

DONE_SHOWN = 20  # a board shows its most recently done items, not its whole past
NOT_DONE = {"status": {"$ne": "resolved"}}
# What the unblocking summary reads of a resolved item (not its history or free text).
UNBLOCKING_FIELDS = {"practice_id": 1, "team": 1, "status": 1, "raised_at": 1,
                     "resolved_at": 1, "time_to_unblock_seconds": 1}


def open_items(repository, selector):
    """Every item of ``selector`` that is not done, newest first."""
    items = repository.find_many(HUDDLE_ITEMS, all_of(selector, NOT_DONE))
    return sorted(items, key=lambda item: (item["raised_at"], item["_id"]), reverse=True)


def board_items(repository, practice_id, team):
    """The items of one team's board: all not done, and the most recently done."""
    board = {"practice_id": practice_id, "team": team}
    done, _ = repository.page(HUDDLE_ITEMS, {**board, "status": "resolved"}, 1, DONE_SHOWN,
                              sort=(("resolved_at", -1), ("_id", 1)))
    return open_items(repository, board) + done


def resolved_since(repository, selector, since):
    """The items of ``selector`` resolved at ``since`` or later (only the fields the
    unblocking summary reads); indexed by (network, status, resolved_at) and by the board's
    (practice, team, status, resolved_at)."""
    resolved = all_of(selector, {"status": "resolved", "resolved_at": {"$gte": since}})
    return list(repository.database[HUDDLE_ITEMS].find(resolved, UNBLOCKING_FIELDS))


def board_names(repository, selector):
    """(practice id, team) of every board with an item in ``selector``, in order."""
    groups = repository.database[HUDDLE_ITEMS].aggregate([
        {"$match": selector},
        {"$group": {"_id": {"practice_id": "$practice_id", "team": "$team"}}}])
    return sorted((group["_id"]["practice_id"], group["_id"]["team"]) for group in groups)


def wallboards_of(repository, practice_id, query):
    return repository.listing(WALLBOARDS, {"practice_id": practice_id}, query,
                              sort=(("issued_at", -1), ("_id", 1)))

"""The huddle board's and the wallboard links' routes, mixed into ``ProjectsService``: each
parses and authorises (``shared.routes``), calls ``huddle_commands`` with the clock, answers.

``GET /wallboard-board`` is open to no key: the wallboard link's token, sent in the
``X-Wallboard-Token`` header, is its only credential (as an unsubscribe link's token is at
the notifications service), and it opens that one team's board read-only."""
from shared.events.envelope import utc_now
from shared.idempotency import ONCE, located
from shared.openapi import page_of
from shared.routes import route
from shared.web import trace_of

from services.projects import huddle_commands as commands
from services.projects.huddle_schemas import (
    BoardOut, BoardQuery, BoardsOut, BoardsQuery, HuddleAssignmentIn, HuddleEscalationIn,
    HuddleItemIn, HuddleItemOut, HuddleMoveIn, HuddleQuery, HuddleResolutionIn,
    IssuedWallboardOut, WallboardIn, WallboardOut, WallboardsQuery,
)

MEMBERS = ("network_lead", "practice")
TOKEN_HEADER = "X-Wallboard-Token"


class HuddleRoutes:
    """Routes of ``/huddle-items``, ``/huddle-boards``, ``/wallboards``, ``/wallboard-board``."""

    @route("POST", "/huddle-items", "Raise a huddle board item (in To do)" + ONCE,
           body=HuddleItemIn, answers={201: HuddleItemOut}, roles=MEMBERS)
    def raise_huddle_item(self, request, principal, command):
        def answer():
            return 201, HuddleItemOut().dump(commands.raise_huddle_item(
                self.storage, principal, command, utc_now(), trace_of(request)))
        # answered_once: shared.idempotency.AnswersRetriesOnce, mixed into the service too.
        return self.answered_once(request, principal, answer, located("/huddle-items"))

    @route("GET", "/huddle-items", "List huddle board items, with their bottleneck marks",
           query=HuddleQuery, answers={200: page_of(HuddleItemOut)}, roles=MEMBERS)
    def list_huddle_items(self, request, principal, query):
        return commands.list_huddle_items(self.storage, principal, query, utc_now())

    @route("GET", "/huddle-items/<item_id>", "Read a huddle item, with its history",
           answers={200: HuddleItemOut}, roles=MEMBERS)
    def get_huddle_item(self, request, item_id, principal):
        return commands.get_huddle_item(self.storage, principal, item_id, utc_now())

    @route("POST", "/huddle-items/<item_id>/move", "Move an item to another column (to done "
           "resolves it)", body=HuddleMoveIn, answers={200: HuddleItemOut}, roles=MEMBERS)
    def move_huddle_item(self, request, item_id, principal, command):
        return commands.move_huddle_item(self.storage, principal, item_id, command, utc_now(),
                                         trace_of(request))

    @route("POST", "/huddle-items/<item_id>/assign", "Assign an item to someone, or to nobody",
           body=HuddleAssignmentIn, answers={200: HuddleItemOut}, roles=MEMBERS)
    def assign_huddle_item(self, request, item_id, principal, command):
        return commands.assign_huddle_item(self.storage, principal, item_id, command,
                                           utc_now(), trace_of(request))

    @route("POST", "/huddle-items/<item_id>/escalate", "Escalate to a named leader, with the "
           "reason", body=HuddleEscalationIn, answers={200: HuddleItemOut}, roles=MEMBERS)
    def escalate_huddle_item(self, request, item_id, principal, command):
        return commands.escalate_huddle_item(self.storage, principal, item_id, command,
                                             utc_now(), trace_of(request))

    @route("POST", "/huddle-items/<item_id>/resolve", "Resolve (unblock) an item: to done",
           body=HuddleResolutionIn, answers={200: HuddleItemOut}, roles=MEMBERS)
    def resolve_huddle_item(self, request, item_id, principal, command):
        return commands.resolve_huddle_item(self.storage, principal, item_id, command,
                                            utc_now(), trace_of(request))

    @route("GET", "/huddle-boards", "The boards (practice, team) the caller may see, with "
           "open and bottleneck counts", query=BoardsQuery, answers={200: BoardsOut},
           roles=MEMBERS)
    def list_huddle_boards(self, request, principal, query):
        return commands.huddle_boards(self.storage, principal, query, utc_now())

    @route("GET", "/huddle-boards/<practice_id>", "One team's board (?team=): its items with "
           "their marks; view=bottlenecks for the marked only", query=BoardQuery,
           answers={200: BoardOut}, roles=MEMBERS)
    def get_huddle_board(self, request, practice_id, principal, query):
        return commands.huddle_board(self.storage, principal, practice_id, query, utc_now())

    @route("POST", "/wallboards", "Issue a wallboard link of a team's board (shown once; "
           "practice lead or network lead)", body=WallboardIn,
           answers={201: IssuedWallboardOut}, roles=MEMBERS)
    def issue_wallboard(self, request, principal, command):
        return commands.issue_wallboard(self.storage, principal, command, utc_now()), 201

    @route("GET", "/wallboards", "A practice's wallboard links (no secrets)",
           query=WallboardsQuery, answers={200: page_of(WallboardOut)}, roles=MEMBERS)
    def list_wallboards(self, request, principal, query):
        return commands.list_wallboards(self.storage, principal, query)

    @route("POST", "/wallboards/<link_id>/revoke", "Revoke a wallboard link",
           answers={200: WallboardOut}, roles=MEMBERS)
    def revoke_wallboard(self, request, link_id, principal):
        return commands.revoke_wallboard(self.storage, principal, link_id, utc_now())

    @route("GET", "/wallboard-board", "The board a wallboard link opens: its token in the "
           f"{TOKEN_HEADER} header is the credential; a revoked or unknown link: 404",
           answers={200: BoardOut})
    def read_wallboard_board(self, request):
        token = request.headers.get(TOKEN_HEADER, "").strip()
        return commands.wallboard_board(self.storage, token, utc_now())

"""A team's huddle board: To do, Doing, Done; add, move, assign, escalate, resolve; bottlenecks
marked. Everything is read and changed through the projects service with the signed-in
person's own rights, so a board or item of a practice they may not see answers "Page not
found" (the service said 404). Each action is a small form that posts, then redirects back to
the board or the item (post/redirect/get); a refusal shows the same page again with the error
summary, the error next to the field of that item, and what was typed kept."""
from urllib.parse import quote

from services.web import forms
from services.web.dates import duration_words, moment
from services.web.inbox import segment
from services.web.pages import html, page, redirect
from services.web.upstream import UpstreamRefused

COLUMNS = (("to_do", "To do"), ("doing", "Doing"), ("done", "Done"))
COLUMN_WORDS = dict(COLUMNS)
MARK_WORDS = {"unassigned": "Bottleneck: unassigned 7 days",
              "untouched": "Bottleneck: untouched 30 days"}
STATUS_TAGS = {"escalated": ("Escalated", "nhsuk-tag--red"),
               "resolved": ("Resolved", "nhsuk-tag--green")}
# Each action's form fields (named as the projects service names them) and their labels.
ACTIONS = {"move": {"column": "Column"},
           "assign": {"assignee": "Assign to (staff id)"},
           "escalate": {"escalated_to": "Leader's staff id", "reason": "Why escalate"},
           "resolve": {"resolution": "How it was resolved"}}
NEW_ITEM = {"description": "Issue", "raised_by": "Raised by (staff id)"}
NEW = "new"  # the add-item form's key among the items' forms
DONE = {"added": "The item is added to To do.", "move": "The item is moved.",
        "assign": "The assignee is saved.", "escalate": "The item is escalated.",
        "resolve": "The item is resolved and in Done."}
HISTORY_WORDS = {"raised": "Raised", "moved": "Moved", "assigned": "Assigned",
                 "unassigned": "Unassigned", "escalated": "Escalated", "resolved": "Resolved"}


def board_path(practice_id, team):
    return f"/huddle/{segment(practice_id)}/{quote(team, safe='')}"


def unblocking_words(summary):
    """The projects service's unblocking summary in two plain sentences: how many items were
    unblocked in its window and how fast, and the escalated items waiting now; [] without
    a summary."""
    if not summary:
        return []
    days, unblocked = summary["window_days"], summary["unblocked"]
    if not unblocked:
        done = f"No items were unblocked in the last {days} days."
    elif unblocked == 1:
        done = (f"In the last {days} days, 1 item was unblocked: it took "
                f"{duration_words(summary['longest_seconds'])}.")
    else:
        done = (f"In the last {days} days, {unblocked} items were unblocked: half within "
                f"{duration_words(summary['median_seconds'])}, the longest took "
                f"{duration_words(summary['longest_seconds'])}.")
    waiting, oldest = summary["escalated_waiting"], summary["oldest_waiting_seconds"]
    if not waiting:
        wait = "No escalated items are waiting."
    elif waiting == 1:
        wait = f"1 escalated item is waiting; it was raised {duration_words(oldest)} ago."
    else:
        wait = (f"{waiting} escalated items are waiting; the oldest was raised "
                f"{duration_words(oldest)} ago.")
    return [done, wait]


def item_view(item):
    """What a card or the item page shows of one item (the service's ``HuddleItemOut``)."""
    tags = [{"text": MARK_WORDS.get(mark, mark), "classes": "nhsuk-tag--orange"}
            for mark in item.get("bottlenecks") or ()]
    if item.get("status") in STATUS_TAGS:
        text, classes = STATUS_TAGS[item["status"]]
        tags.insert(0, {"text": text, "classes": classes})
    unblocked = item.get("time_to_unblock_seconds")
    return {**item, "tags": tags, "raised": moment(item.get("raised_at")),
            "unblocked_in": f"Unblocked in {duration_words(unblocked)}"
            if item.get("status") == "resolved" and unblocked is not None else None,
            "column_words": COLUMN_WORDS.get(item.get("column"), item.get("column")),
            "moves": [{"value": name, "text": f"Move to {words}"} for name, words in COLUMNS
                      if name != item.get("column")],
            "history_lines": [{"when": moment(line["at"]),
                               "what": " ".join(filter(None, (
                                   HISTORY_WORDS.get(line["action"], line["action"]),
                                   line.get("detail")))),
                               "by": line.get("by") or "a practice key"}
                              for line in item.get("history") or ()]}


def _half_within(summary):
    """A board's median time to unblock for the boards table ("None unblocked" without)."""
    if not summary or not summary["unblocked"]:
        return "None unblocked"
    return duration_words(summary["median_seconds"])


def form_state(key, errors=None, values=None):
    """The errors and typed values of the form of ``key`` (an item id, or NEW), under the
    HTML ids the template gives its fields (``<field>-<key>``)."""
    ids = {f"{name}-{key}": reasons for name, reasons in (errors or {}).items()
           if name != forms.FORM_ERROR}
    if forms.FORM_ERROR in (errors or {}):
        ids[forms.FORM_ERROR] = errors[forms.FORM_ERROR]
    return ids, {f"{name}-{key}": value for name, value in (values or {}).items()}


def labels_of(key, fields):
    return {f"{name}-{key}": label for name, label in fields.items()}


class HuddlePages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""

    # --- the boards a person may see --------------------------------------------------------

    @page("GET", "/huddle")
    def huddle_boards(self, request, session):
        return "huddle_boards.jinja", self._boards_context(session, {}, {})

    @page("GET", "/huddle/open")
    def open_huddle_board(self, request, session):
        """The "open a team's board" form (a GET): to that board, or the form's error."""
        access = self.access_of(session)
        practice_id = access.practice_id or request.args.get("practice_id", "")
        team = request.args.get("team", "").strip()
        errors = {}
        if not team:
            errors["team"] = ["Enter the team's name, such as reception"]
        if not practice_id:
            errors["practice_id"] = ["Choose the practice"]
        if not errors:
            return redirect(board_path(practice_id, team))
        context = self._boards_context(session, errors, {"team": team,
                                                          "practice_id": practice_id})
        return html("huddle_boards.jinja", status=422, **self.common_context(session, request),
                    **context)

    def _boards_context(self, session, errors, values):
        access = self.access_of(session)
        upstream = self.upstream(session)
        listed = upstream.projects("/huddle-boards")
        boards = listed["items"]
        practices = [access.practice_id] if access.practice_id else [
            practice["ods_code"] for practice in upstream.projects(
                "/practices", params={"network_id": access.network_id,
                                      "page_size": 100})["items"]]
        labels = {"practice_id": "Practice", "team": "Team"}
        return {"title": "Huddle boards", "nav": "huddle",
                "boards": [{**board, "href": board_path(board["practice_id"], board["team"]),
                            "half_within": _half_within(board.get("unblocking"))}
                           for board in boards],
                "unblocking": unblocking_words(listed.get("unblocking")) if boards else [],
                "practices": practices, "choose_practice": not access.practice_id,
                "devices": f"/huddle/{segment(access.practice_id)}/devices"
                if access.is_practice_lead else None,  # a lead opens them from a board
                "values": values, "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, labels)}

    # --- one team's board -------------------------------------------------------------------

    @page("GET", "/huddle/<practice_id>/<path:team>")
    def huddle_board(self, request, session, practice_id, team):
        view = "bottlenecks" if request.args.get("view") == "bottlenecks" else "all"
        return "huddle_board.jinja", self._board_context(
            session, practice_id, team, view, done=DONE.get(request.args.get("done")))

    @page("POST", "/huddle/<practice_id>/<path:team>", form=True, once=True)
    def add_huddle_item(self, request, session, practice_id, team):
        values = {name: request.form.get(name, "").strip() for name in NEW_ITEM}
        body = {"practice_id": practice_id, "team": team,
                **{name: value for name, value in values.items() if value}}
        try:
            self.upstream(session).send("projects", "POST", "/huddle-items", body)
        except UpstreamRefused as refused:
            errors = forms.refused_fields(refused, NEW_ITEM)
            context = self._board_context(session, practice_id, team, "all",
                                          refused=(NEW, errors, values, NEW_ITEM))
            return html("huddle_board.jinja", status=422,
                        **self.common_context(session, request), **context)
        return redirect(board_path(practice_id, team) + "?done=added")

    def _board_context(self, session, practice_id, team, view, done=None, refused=None):
        access = self.access_of(session)
        board = self.upstream(session).projects(
            f"/huddle-boards/{segment(practice_id)}", params={"team": team, "view": view})
        items = [item_view(item) for item in board["items"]]
        columns = [{"name": name, "words": words,
                    "items": [item for item in items if item["column"] == name]}
                   for name, words in COLUMNS]
        here = board_path(practice_id, team)
        context = {"title": f"Huddle board: {team}, {board['practice_name']}", "nav": "huddle",
                   "board": board, "columns": columns, "view": view, "here": here,
                   "unblocking": unblocking_words(board.get("unblocking")),
                   "done": done, "back": "board", "staff_id": access.staff_id or "",
                   "devices": f"/huddle/{segment(practice_id)}/devices"
                   if access.is_practice_lead or access.is_lead else None,
                   "errors": {}, "values": {}, "error_list": [], "open_item": None}
        return {**context, **self._refused_context(refused)}

    @staticmethod
    def _refused_context(refused):
        """The error summary, messages and typed values of a refused form, if any."""
        if not refused:
            return {}
        key, errors, values, fields = refused
        ids, typed = form_state(key, errors, values)
        return {"errors": forms.field_messages(ids), "values": typed, "open_item": key,
                "error_list": forms.error_list(ids, labels_of(key, fields))}

    # --- one item, and the actions on it ----------------------------------------------------

    @page("GET", "/huddle-items/<item_id>")
    def huddle_item(self, request, session, item_id):
        item = self.upstream(session).projects(f"/huddle-items/{segment(item_id)}")
        return "huddle_item.jinja", self._item_context(
            session, item, done=DONE.get(request.args.get("done")))

    def _item_context(self, session, item, done=None, refused=None):
        view = item_view(item)
        return {"title": f"Huddle item: {item['description'][:60]}", "nav": "huddle",
                "item": view, "board_href": board_path(item["practice_id"], item["team"]),
                "done": done, "back": "item", "errors": {}, "values": {}, "error_list": [],
                "open_item": None, **self._refused_context(refused)}

    @page("POST", "/huddle-items/<item_id>/<action>", form=True)
    def act_on_huddle_item(self, request, session, item_id, action):
        if action not in ACTIONS:
            return self.not_found_page(request)
        fields = ACTIONS[action]
        values = {name: request.form.get(name, "").strip() for name in fields}
        body = {name: value for name, value in values.items() if value}
        if action == "assign":
            body = {"assignee": values["assignee"] or None}  # empty: nobody
        upstream = self.upstream(session)
        path = f"/huddle-items/{segment(item_id)}"
        back = request.form.get("back")
        try:
            item = upstream.send("projects", "POST", f"{path}/{action}", body)
        except UpstreamRefused as refused:
            errors = forms.refused_fields(refused, fields, {"status": next(iter(fields))})
            item = upstream.projects(path)
            state = (item["id"], errors, values, fields)
            if back == "board":
                context = self._board_context(session, item["practice_id"], item["team"],
                                              "all", refused=state)
                template = "huddle_board.jinja"
            else:
                context = self._item_context(session, item, refused=state)
                template = "huddle_item.jinja"
            return html(template, status=422, **self.common_context(session, request),
                        **context)
        if back == "board":
            return redirect(f"{board_path(item['practice_id'], item['team'])}"
                            f"?done={action}#item-{item['id']}")
        return redirect(f"/huddle-items/{segment(item['id'])}?done={action}")

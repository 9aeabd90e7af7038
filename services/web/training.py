"""Training: the capability pyramid with who needs what next, offerings and cohorts, enrolment and
withdrawal, and session registers (marked in the browser or imported as CSV).

Every read and change goes to the training service with the signed-in person's own rights: it
decides what they may see (a practice sees its own people on a cohort; another practice's
cohort member or record answers 404, and so "Page not found" here). Forms post, then redirect
to the cohort or register with the outcome in a success banner (post/redirect/get); a refusal
comes back on the same form next to the field the service named, with what was typed kept.
Completing an enrolment (which awards the level) has its own pages: services/web/completions.py."""
import base64
import csv
import io
from urllib.parse import quote, urlencode

from services.web import forms
from services.web.catalogue import catalogue_view, cohort_dates, places_words
from services.web.completions import ATTENDANCE_WORDS, completion_words, enrolled_rows
from services.web.dates import long_date
from services.web.forms import field_id
from services.web.inbox import segment
from services.web.pages import html, page, redirect
from services.web.record import form_errors, level_words
from services.web.upstream import UpstreamRefused

LISTING = {"page_size": 200}  # the longest page the services give
ENROL_LABELS = {"staff_id": "Person to enrol"}
REGISTER_FILE = "register_file"
MAX_REGISTER_BYTES = 1_000_000  # what the training service takes as one register


def percent(share):
    return f"{round((share or 0) * 100)}%"


def scope_words(scope):
    """``{"practice_id": "F84001", "team": None}`` -> ``practice F84001``."""
    if scope.get("practice_id"):
        team = f", team {scope['team']}" if scope.get("team") else ""
        return f"practice {scope['practice_id']}{team}"
    return f"the network {scope.get('network_id')}"


def pyramid_rows(report):
    """The pyramid as table rows in words: level, holding, required, required and holding,
    share of the staff holding it."""
    return [{"level": level_words(row["level"]), "holding": row["holding"],
             "required": row["required"], "required_holding": row["required_holding"],
             "share": percent(row["share"])} for row in report.get("pyramid") or ()]


def pyramid_alt(report):
    """The chart's text alternative: what it shows, and where its figures are."""
    held = "; ".join(f"{row['holding']} hold {level_words(row['level'])}"
                     for row in report.get("pyramid") or ())
    return (f"Capability pyramid of {scope_words(report.get('scope') or {})}, "
            f"{report.get('staff', 0)} staff: {held or 'no levels held'}. "
            "The same figures are in the table below.")


def offering_href(offering_id):
    return f"/training/offerings#offering-{field_id(offering_id)}"


def next_needs_rows(report, offerings):
    """Who needs what next, earliest first as the report orders them: the person (linked to
    their record), the level in words, by when, and an offering that awards it (or None)."""
    awarding = {}
    for offering in offerings:
        if offering.get("awards_level"):
            awarding.setdefault(offering["awards_level"], offering)
    rows = []
    for need in report.get("next_needs") or ():
        offering = awarding.get(need["level"])
        rows.append({"staff_id": need["staff_id"],
                     "href": f"/people/{quote(need['staff_id'], safe='')}/training",
                     "level": level_words(need["level"]), "due": long_date(need["due_on"]),
                     "overdue": bool(need.get("overdue")),
                     "offering": {"title": offering["title"],
                                  "href": offering_href(offering["offering_id"])}
                     if offering else None})
    return rows


def waiting_list(cohort):
    """The waiting list in order, each with their place in the whole list (a practice sees
    only its own people, each with the position the service gave)."""
    return [{"position": w.get("position") or n, "staff_id": w["staff_id"],
             "joined_on": long_date(w.get("joined_on"))}
            for n, w in enumerate(cohort.get("waiting") or (), start=1)]


def enrolled(cohort):
    return [e for e in cohort.get("enrolments") or () if e.get("state") != "withdrawn"]


def moved_up(before, after):
    """Who moved up from the waiting list between two views of a cohort (None: nobody the
    caller may see)."""
    now_enrolled = {e["staff_id"] for e in enrolled(after)}
    return next((w["staff_id"] for w in before.get("waiting") or ()
                 if w["staff_id"] in now_enrolled), None)


def outcome_words(args):
    """The success banner after an enrolment or a withdrawal (the redirect's query)."""
    staff, done = args.get("staff_id"), args.get("done")
    if not staff:
        return None
    if done == "enrolled":
        return f"{staff} is enrolled."
    if done == "waiting":
        return f"{staff} joined the waiting list at position {args.get('position')}."
    if done == "left_waiting":
        return f"{staff} left the waiting list."
    if done == "withdrawn":
        moved = args.get("moved_up")
        return f"{staff} withdrew; {moved} moved up from the waiting list." if moved \
            else f"{staff} withdrew."
    return None


def data_row_lines(text):
    """The line of the file each data row starts on, as the training service counts rows
    (the header first; blank lines skipped), to name a refused row by its line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    lines, line = [], 1
    try:
        for number, values in enumerate(reader):
            if number and values:
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error:
        pass  # the service names the line it cannot read
    return lines


def register_file_errors(refused, text):
    """Each reason the training service gave for refusing a register file, its row named by
    the line of the file: ``Line 3: status: Must be one of: ...``."""
    lines = data_row_lines(text)
    messages = []
    for name, reasons in ((refused.body or {}).get("fields") or {"csv": [
            (refused.body or {}).get("message") or "refused"]}).items():
        parts = name.split(".")
        if parts[0] == "rows" and len(parts) >= 3 and parts[1].isdigit():
            index, field = int(parts[1]), ".".join(parts[2:])
            where = f"Line {lines[index]}" if index < len(lines) else f"Row {index + 1}"
            messages += [f"{where}: {field}: {why}" for why in reasons]
        elif name == "csv":
            messages += [why[0].upper() + why[1:] for why in reasons]
        else:  # one row only: the service names just the field
            where = f"Line {lines[0]}: " if len(lines) == 1 else ""
            messages += [f"{where}{name}: {why}" for why in reasons]
    return messages


class TrainingPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""

    @page("GET", "/training")
    def training_capability(self, request, session):
        access = self.access_of(session)
        upstream = self.upstream(session)
        chosen = request.args.get("practice_id", "").strip()
        scope = {"practice_id": chosen} if chosen else (
            {"network_id": access.network_id} if access.is_lead
            else {"practice_id": access.practice_id})
        try:
            report = upstream.training("/reports/capability", params=scope)
        except UpstreamRefused as refused:  # ?practice_id= of no practice: nothing to see
            raise UpstreamRefused(404, refused.body) if refused.status == 422 else refused
        svg = upstream.call("GET", self.settings.training_url,
                            "/reports/capability/pyramid.svg", params=scope, raw=True).content
        offerings = upstream.training("/offerings", params=LISTING)["items"]
        practices = []
        if access.is_lead:  # a network lead may look at each practice in turn
            practices = [p["ods_code"] for p in upstream.projects("/practices", params={
                "network_id": access.network_id, **LISTING})["items"]]
        return "training.jinja", {
            "title": f"Capability of {scope_words(report['scope'])}", "nav": "training",
            "report": report, "pyramid": pyramid_rows(report), "alt": pyramid_alt(report),
            "src": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
            "needs": next_needs_rows(report, offerings), "practices": practices,
            "chosen": chosen}

    @page("GET", "/training/offerings")
    def training_offerings(self, request, session):
        upstream = self.upstream(session)
        network = {"network_id": self.access_of(session).network_id}
        offerings = upstream.training("/offerings", params={**network, **LISTING})["items"]
        cohorts = upstream.every_item(upstream.training, "/cohorts", network)
        return "training_offerings.jinja", {"title": "Training offerings", "nav": "training",
                                            "offerings": catalogue_view(offerings, cohorts)}

    # --- a cohort: enrolment and withdrawal ------------------------------------------------

    @page("GET", "/training/cohorts/<cohort_id>")
    def training_cohort(self, request, session, cohort_id):
        return "training_cohort.jinja", self._cohort_context(
            session, cohort_id, {}, {}, request.args)

    @page("POST", "/training/cohorts/<cohort_id>/enrolments", form=True)
    def training_enrol(self, request, session, cohort_id):
        staff_id = request.form.get("staff_id", "").strip()
        path = f"/cohorts/{segment(cohort_id)}"
        try:
            answer = self.upstream(session).send("training", "POST", f"{path}/enrolments",
                                                 {"staff_id": staff_id})
        except UpstreamRefused as refused:
            errors = form_errors(refused, ENROL_LABELS)
            return html("training_cohort.jinja", status=422,
                        **self.common_context(session, request),
                        **self._cohort_context(session, cohort_id, {"staff_id": staff_id},
                                               errors, {}))
        outcome = {"done": answer["state"], "staff_id": staff_id}
        if answer["state"] == "waiting":
            outcome["position"] = next(w["position"] for w in waiting_list(answer["cohort"])
                                       if w["staff_id"] == staff_id)
        return redirect(f"/training/cohorts/{quote(cohort_id)}?{urlencode(outcome)}")

    @page("POST", "/training/cohorts/<cohort_id>/withdrawals", form=True)
    def training_withdraw(self, request, session, cohort_id):
        staff_id = request.form.get("staff_id", "").strip()
        upstream = self.upstream(session)
        path = f"/cohorts/{segment(cohort_id)}"
        before = upstream.training(path)
        try:
            after = upstream.send("training", "POST", f"{path}/withdrawals",
                                  {"staff_id": staff_id})
        except UpstreamRefused as refused:
            errors = form_errors(refused, {})  # about the cohort: above the form
            return html("training_cohort.jinja", status=422,
                        **self.common_context(session, request),
                        **self._cohort_context(session, cohort_id, {}, errors, {}))
        waited = any(w["staff_id"] == staff_id for w in before.get("waiting") or ())
        outcome = {"done": "left_waiting" if waited else "withdrawn", "staff_id": staff_id}
        if not waited and moved_up(before, after):
            outcome["moved_up"] = moved_up(before, after)
        return redirect(f"/training/cohorts/{quote(cohort_id)}?{urlencode(outcome)}")

    def _cohort_context(self, session, cohort_id, values, errors, args):
        upstream = self.upstream(session)
        cohort = upstream.training(f"/cohorts/{segment(cohort_id)}")
        offering = next((o for o in upstream.training("/offerings", params=LISTING)["items"]
                         if o["offering_id"] == cohort["offering_id"]), None)
        staff = upstream.training("/staff", params=LISTING)
        on_cohort = {e["staff_id"] for e in enrolled(cohort)} | {
            w["staff_id"] for w in cohort.get("waiting") or ()}
        title = offering["title"] if offering else cohort["offering_id"]
        base = f"/training/cohorts/{quote(cohort_id)}"
        return {
            "title": f"{title}: cohort from {cohort_dates(cohort)}", "nav": "training",
            "offering_title": title, "cohort": cohort, "base": base,
            "places": places_words(cohort), "dates": cohort_dates(cohort),
            "sessions": [{"number": s["number"], "on": long_date(s["on"]),
                          "href": f"{base}/sessions/{quote(s['session_id'])}/register"}
                         for s in cohort.get("sessions") or ()],
            "enrolled": enrolled_rows(cohort),
            "waiting": waiting_list(cohort),
            # More staff than one page: the person's id is typed instead of chosen.
            "choices": [s["staff_id"] for s in staff["items"] if s["staff_id"] not in on_cohort]
            if staff.get("total", 0) <= LISTING["page_size"] else None,
            "values": values, "errors": forms.field_messages(errors),
            "error_list": forms.error_list(errors, ENROL_LABELS),
            "outcome": outcome_words(args) or completion_words(args, offering, title)}

    # --- a session's register --------------------------------------------------------------

    @page("GET", "/training/cohorts/<cohort_id>/sessions/<session_id>/register")
    def training_register(self, request, session, cohort_id, session_id):
        saved = request.args.get("saved")
        return self._register_page(session, request, cohort_id, session_id, {}, {}, [],
                                    saved=saved if saved in ("marks", "file") else None)

    @page("POST", "/training/cohorts/<cohort_id>/sessions/<session_id>/register", form=True)
    def training_mark_register(self, request, session, cohort_id, session_id):
        """One attendance mark per person whose choice changed; each accepted one is kept."""
        upstream = self.upstream(session)
        path = f"/cohorts/{segment(cohort_id)}/sessions/{segment(session_id)}"
        cohort = upstream.training(f"/cohorts/{segment(cohort_id)}")
        values, errors, accepted = {}, {}, []
        for entry in enrolled(cohort):
            name = f"attendance.{entry['staff_id']}"
            values[name] = request.form.get(name, "")
            if not values[name] or values[name] == entry["attendance"].get(session_id):
                continue
            try:
                upstream.send("training", "POST", f"{path}/attendance",
                              {"staff_id": entry["staff_id"], "status": values[name]})
                accepted.append(entry["staff_id"])
            except UpstreamRefused as refused:
                errors.update(form_errors(refused, {name: entry["staff_id"]}, {
                    "staff_id": name, "status": name, "session_id": name}))
        if not errors:
            return redirect(f"/training/cohorts/{quote(cohort_id)}/sessions/"
                            f"{quote(session_id)}/register?saved=marks")
        return self._register_page(session, request, cohort_id, session_id, values, errors,
                                   accepted, status=422)

    @page("POST", "/training/cohorts/<cohort_id>/sessions/<session_id>/register-file",
          form=True)
    def training_import_register(self, request, session, cohort_id, session_id):
        """A register as a CSV file (staff_id,status), refused whole by the training service
        when any row is bad, each refused row named by its line."""
        upload = request.files.get(REGISTER_FILE)
        content = upload.read(MAX_REGISTER_BYTES + 1) if upload and upload.filename else b""
        text, problem = None, None
        if not content:
            problem = "Select a CSV file of the register"
        elif len(content) > MAX_REGISTER_BYTES:
            problem = "The selected file must be smaller than 1 MB"
        else:
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                problem = "The selected file must be a CSV file saved as UTF-8"
        if problem:
            return self._register_page(session, request, cohort_id, session_id, {}, {}, [],
                                       file_problems=[problem], file_error=problem, status=422)
        try:
            self.upstream(session).send(
                "training", "POST", f"/cohorts/{segment(cohort_id)}/sessions/"
                f"{segment(session_id)}/register", {"csv": text})
        except UpstreamRefused as refused:
            named = set((refused.body or {}).get("fields") or {})
            if refused.status not in (403, 404, 409, 422) or not named or (
                    named & {"cohort_id", "session_id"}):
                raise  # the cohort or session itself: "Page not found"
            return self._register_page(
                session, request, cohort_id, session_id, {}, {}, [],
                file_problems=register_file_errors(refused, text), status=422,
                file_error="Nothing was recorded: correct the rows listed and upload the "
                           "file again")
        return redirect(f"/training/cohorts/{quote(cohort_id)}/sessions/"
                        f"{quote(session_id)}/register?saved=file")

    def _register_page(self, session, request, cohort_id, session_id, values, errors, accepted,
                       saved=None, file_problems=(), file_error=None, status=200):
        cohort = self.upstream(session).training(f"/cohorts/{segment(cohort_id)}")
        meeting = next((s for s in cohort.get("sessions") or ()
                        if s["session_id"] == session_id), None)
        if meeting is None:
            return self.error_page(404, "Page not found", "", session)
        people = []
        for entry in enrolled(cohort):
            name = f"attendance.{entry['staff_id']}"
            chosen = values.get(name) or entry["attendance"].get(session_id) or ""
            people.append({"staff_id": entry["staff_id"], "name": name,
                           "id": f"attendance-{field_id(entry['staff_id'])}",
                           "items": [{"value": mark, "text": words, "checked": chosen == mark}
                                     for mark, words in ATTENDANCE_WORDS.items()]})
        ids = {p["name"]: p["id"] for p in people}
        error_list = forms.error_list(errors, {p["name"]: p["staff_id"] for p in people})
        for item in error_list:  # a radio group's link goes to its first radio
            item["href"] = f"#{ids[item['field']]}" if item["field"] in ids else None
        error_list += [{"text": problem, "href": f"#{REGISTER_FILE}"}
                       for problem in file_problems]
        return html("training_register.jinja", status=status,
                    **self.common_context(session, request), **{
                        "title": f"Register of session {meeting['number']}, "
                                 f"{long_date(meeting['on'])}", "nav": "training",
                        "cohort_href": f"/training/cohorts/{quote(cohort_id)}",
                        "action": f"/training/cohorts/{quote(cohort_id)}/sessions/"
                                  f"{quote(session_id)}/register",
                        "people": people, "errors": forms.field_messages(errors),
                        "file_error": file_error, "error_list": error_list,
                        "accepted": accepted, "saved": saved})

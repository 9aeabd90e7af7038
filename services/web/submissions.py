"""The week's submissions of a practice: the measures due, one form for all of them, a CSV upload,
corrections with a reason and their audit trail.

Everything a page shows comes from the measurement service's answer of what the practice is due
(``GET /practices/<id>/due``: one call whatever the number of measures), read with the signed-in
person's own rights, so the service decides who sees which practice (404 to anyone else). A form
is sent as one batch (``POST /submissions/batch``) with the Idempotency-Key the form was
rendered with: a refresh or a second click replays the stored answer and stores nothing twice.
"""
from datetime import date
from urllib.parse import quote, urlencode

from analytics.cli.csv_reading import InputError, parse_number
from analytics.cli.submission_file import FileRefused, RowError, check_submission_text
from analytics.submission_rules import MAX_BATCH_ROWS, contribution_of
from services.web import forms
from services.web.forms import FORM_ERROR, field_id
from services.web.pages import html, page, redirect
from services.web.dates import long_date, moment
from services.web.upstream import UpstreamRefused

RATIOS = ("proportion", "rate")
OUTCOMES = ("created", "corrected", "unchanged")
INPUT_WORDS = {"numerator": "numerator", "denominator": "denominator", "value": "value",
               "reason": "reason for the change"}
UPLOAD_LABELS = {"measure_id": "Measure", "file": "CSV file"}
MAX_UPLOAD_BYTES = 2_000_000
ROW_ERRORS_LISTED = 10  # in the error summary; the table below lists every one
SENT_BEFORE = ("this form was sent before with other values: nothing was stored now; "
               "check the values below and send them again")


def inputs_of(measure):
    """The form inputs a measure's value is typed into."""
    return ("numerator", "denominator") if measure["value_kind"] in RATIOS else ("value",)


def number_text(number):
    """``12.0`` -> ``12``, ``0.5`` -> ``0.5`` (as a person would type it)."""
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def value_words(measure, contribution):
    """What a practice submitted, in words: ``16 of 20 (80%)`` or ``12``."""
    if not contribution:
        return ""
    if measure["value_kind"] in RATIOS:
        ratio = (f" ({contribution['value'] * 100:.0f}%)"
                 if measure["value_kind"] == "proportion" else "")
        return (f"{number_text(contribution['numerator'])} of "
                f"{number_text(contribution['denominator'])}{ratio}")
    return number_text(contribution.get("value"))


def period_words(measure):
    """``Week of 16 November 2026`` or ``October 2026``."""
    if measure["frequency"] == "month":
        return long_date(measure["period"]).split(" ", 1)[1]
    return f"Week of {long_date(measure['period'])} to {long_date(measure['period_end'])}"


def who_words(by, access):
    """Who sent a value, as the trail shows it: "You", or their staff id (or the key's id)."""
    return "You" if by in (access.staff_id, f"person:{access.user_id}") else by


def form_labels(items):
    """Form field -> label, in the form's order (for the error summary)."""
    labels = {}
    for measure in items:
        for name in (*inputs_of(measure), "reason"):
            labels[f"{measure['id']}.{name}"] = f"{measure['name']}, {INPUT_WORDS[name]}"
    return labels


def rows_from_form(items, form, practice_id):
    """(rows for the batch, {row index: measure}, errors, typed values) of the form: a measure
    with every input empty is not submitted now; a number that is not one, a value its kind
    refuses (``analytics.submission_rules``) or a change without a reason is an error."""
    rows, measure_of_row, errors, values = [], {}, {}, {}
    for measure in items:
        names = inputs_of(measure)
        typed = {name: form.get(f"{measure['id']}.{name}", "").strip()
                 for name in (*names, "reason")}
        values.update({f"{measure['id']}.{name}": text for name, text in typed.items()})
        if not any(typed[name] for name in names):
            continue
        numbers, wrong = {}, {}
        for name in names:
            try:
                numbers[name] = parse_number(typed[name])
            except ValueError:
                wrong[name] = [f"enter the {name} as a number, like 12"]
        if not wrong:
            contribution, wrong = contribution_of(measure["value_kind"], numbers)
            existing = measure.get("submission")
            if contribution and existing and not typed["reason"] and any(
                    existing[name] != contribution[name] for name in names):
                wrong["reason"] = [f"say why the {measure['period_label']} value changes "
                                   f"from {value_words(measure, existing)}"]
        for name, reasons in wrong.items():
            errors[f"{measure['id']}.{name}"] = reasons
        measure_of_row[len(rows)] = measure
        # The period the form showed: a form sent after the week turned is still for it.
        rows.append({"measure_id": measure["id"],
                     "period": form.get(f"{measure['id']}.period") or measure["period"],
                     "practice_id": practice_id, **numbers,
                     **({"reason": typed["reason"]} if typed["reason"] else {})})
    if not rows and items:
        first = items[0]
        errors[f"{first['id']}.{inputs_of(first)[0]}"] = [
            "enter at least one measure's value to submit"]
    return rows, measure_of_row, errors, values


def refused_rows(refused, measure_of_row):
    """The batch's refusal (``rows.<i>.<field>``) as errors of the form's fields: a row's
    period, practice or measure go on its first input."""
    errors = {}
    for name, reasons in ((refused.body or {}).get("fields") or {}).items():
        parts = name.split(".")
        measure = measure_of_row.get(int(parts[1])) if len(parts) == 3 \
            and parts[0] == "rows" and parts[1].isdigit() else None
        if measure is None:  # the form's key already sent other values (a back button)
            errors.setdefault(FORM_ERROR, []).extend(
                [SENT_BEFORE] if name == "Idempotency-Key" else reasons)
            continue
        field = parts[2] if parts[2] in (*inputs_of(measure), "reason") \
            else inputs_of(measure)[0]
        errors.setdefault(f"{measure['id']}.{field}", []).extend(
            reasons if field == parts[2] else [f"{parts[2]}: {why}" for why in reasons])
    return errors or {FORM_ERROR: [(refused.body or {}).get("message") or "refused"]}


def measures_for_form(items, values, errors):
    """Each measure as the form's template shows it: inputs with what was typed and errors."""
    shown = []
    for measure in items:
        existing = measure.get("submission")
        fields = [{"name": f"{measure['id']}.{name}", "id": field_id(f"{measure['id']}.{name}"),
                   "label": name.capitalize(), "value": values.get(f"{measure['id']}.{name}") or "",
                   "error": "; ".join(errors.get(f"{measure['id']}.{name}", [])) or None}
                  for name in (*inputs_of(measure), "reason")]
        target = measure.get("target")
        shown.append({**measure, "inputs": fields[:-1], "reason": fields[-1],
                      "target_words": None if target is None else (
                          f"{target * 100:g}%" if measure["value_kind"] == "proportion"
                          else number_text(target)),
                      "existing": value_words(measure, existing),
                      "corrections": len((existing or {}).get("corrections") or [])})
    return shown


def outcome_query(answer, **kept):
    counts = {name: int(answer.get(name, 0)) for name in OUTCOMES}
    return urlencode({"saved": "yes", **counts, **{k: v for k, v in kept.items() if v}})


def saved_words(args):
    """The success banner's words from the redirect's counts, or None."""
    if args.get("saved") != "yes":
        return None
    counts = {name: args.get(name, "0") for name in OUTCOMES}
    if not all(c.isdigit() for c in counts.values()):
        return None
    return (f"{counts['created']} new, {counts['corrected']} corrected and "
            f"{counts['unchanged']} unchanged.")


class SubmissionPages:
    """Mixed into ``WebService``: ``/submissions``, its upload and each measure's trail."""

    def _practice_of(self, request, session):
        """The practice the page is for: the one asked for, else the person's own (a lead
        has none: None, and the page offers the network's practices)."""
        access = self.access_of(session)
        return (request.values.get("practice_id") or "").strip() or access.practice_id

    def _due(self, session, practice_id, period=None):
        """The measurement service's answer of what ``practice_id`` is due (for the period
        holding ``period``): a period it refuses (not started) has no page."""
        try:
            due = self.upstream(session).measurement(
                f"/practices/{quote(practice_id, safe='')}/due",
                params={"period": period} if period else None)
        except UpstreamRefused as refused:
            raise UpstreamRefused(404, refused.body) if refused.status == 422 else refused
        for measure in due["items"]:
            measure["period_words"] = period_words(measure)
            measure["period_label"] = ("week of " + long_date(measure["period"])
                                       if measure["frequency"] == "week"
                                       else period_words(measure))
        return due

    def _choose_practice(self, session, path):
        access = self.access_of(session)
        practices = self.upstream(session).projects("/practices", params={
            "network_id": access.network_id, "page_size": 200})["items"]
        return "submissions_practices.jinja", {
            "title": "Choose a practice", "nav": "submissions", "practices": [
                {"href": f"{path}?practice_id={quote(p['ods_code'])}",
                 "text": f"{p.get('name') or p['ods_code']} ({p['ods_code']})"}
                for p in practices]}

    # --- the week's form --------------------------------------------------------------------

    def _send_batch(self, session, request, rows):
        """The rows as one batch under the rendered form's Idempotency-Key: the answer."""
        return self.upstream(session).send(
            "measurement", "POST", "/submissions/batch", {"rows": rows},
            headers={"Idempotency-Key": request.form.get("idempotency_key", "")})

    @page("GET", "/submissions")
    def submissions_form(self, request, session):
        practice_id = self._practice_of(request, session)
        if not practice_id:
            return self._choose_practice(session, "/submissions")
        period = request.args.get("period") or None
        due = self._due(session, practice_id, period)
        typed = {f"{m['id']}.{name}": number_text((m.get("submission") or {}).get(name))
                 for m in due["items"] for name in inputs_of(m)}
        return "submissions.jinja", self._form_context(request, due, period, {}, typed)

    @page("POST", "/submissions", form=True)
    def send_submissions(self, request, session):
        practice_id = self._practice_of(request, session)
        if not practice_id:
            return self._choose_practice(session, "/submissions")
        period = request.form.get("period") or None
        due = self._due(session, practice_id, period)
        items = _only(due["items"], request.form.get("measure_id"))
        if not items:
            return self.error_page(404, "", "", session)  # a measure the practice has not
        rows, measure_of_row, errors, values = rows_from_form(items, request.form, practice_id)
        if not errors:
            try:
                answer = self._send_batch(session, request, rows)
            except UpstreamRefused as refused:
                if refused.status not in forms.REFUSALS:
                    raise
                errors = refused_rows(refused, measure_of_row)
            else:
                return redirect("/submissions?" + outcome_query(
                    answer, practice_id=request.values.get("practice_id"), period=period,
                    measure_id=request.form.get("measure_id")))
        context = self._form_context(request, {**due, "items": items}, period, errors, values)
        return html("submissions.jinja", status=422, **self.common_context(session, request),
                    **context)

    def _form_context(self, request, due, period, errors, values):
        items = _only(due["items"], request.values.get("measure_id"))
        labels = form_labels(items)
        return {"title": "Correct earlier submissions" if period else "This week's submissions",
                "nav": "submissions", "practice_id": due["practice_id"],
                "lead_practice": request.values.get("practice_id") or "",
                "period": period or "",
                "measure_id": request.values.get("measure_id") or "",
                "measures": measures_for_form(items, values, errors),
                "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, labels),
                "saved": saved_words(request.args),
                "idempotency_key": forms.new_idempotency_key()}

    # --- a measure's submissions and their corrections --------------------------------------

    @page("GET", "/submissions/<measure_id>")
    def measure_submissions(self, request, session, measure_id):
        access = self.access_of(session)
        practice_id = self._practice_of(request, session)
        upstream = self.upstream(session)
        measure = upstream.measurement(f"/measures/{quote(measure_id, safe='')}")
        listed = upstream.measurement(
            f"/measures/{quote(measure_id, safe='')}/submissions",
            params={"practice_id": practice_id, "newest_first": "true", "page_size": 200})
        kept = {k: v for k, v in request.args.items() if k == "practice_id" and v}
        rows = []
        for submission in listed["items"]:
            contribution = {name: submission.get(name)
                            for name in ("value", "numerator", "denominator")}
            rows.append({
                "period": long_date(submission["period"]),
                "practice_id": submission["practice_id"],
                "value": value_words(measure, contribution),
                "submitted": f"{moment(submission['submitted_at'])} by "
                             f"{who_words(submission['submitted_by'], access)}",
                "correct_href": "/submissions?" + urlencode({
                    **kept, "period": submission["period"], "measure_id": measure_id}),
                "corrections": [{
                    "at": moment(c["at"]), "by": who_words(c["by"], access),
                    "old": value_words(measure, c["old"]), "new": value_words(measure, c["new"]),
                    "reason": c.get("reason") or "No reason given"}
                    for c in reversed(submission.get("corrections") or [])]})
        return "submissions_trail.jinja", {
            "title": measure["name"], "nav": "submissions", "measure": measure,
            "rows": rows, "total": listed["total"], "practice_id": practice_id,
            "back": "/submissions" + (f"?{urlencode(kept)}" if kept else "")}

    # --- a CSV file of one measure's rows, as pcnqi submit takes it -------------------------

    @page("GET", "/submissions/upload")
    def upload_form(self, request, session):
        practice_id = self._practice_of(request, session)
        if not practice_id:
            return self._choose_practice(session, "/submissions/upload")
        due = self._due(session, practice_id)
        return "submissions_upload.jinja", self._upload_context(
            request, due, {"measure_id": request.args.get("measure_id", "")}, {}, [])

    @page("POST", "/submissions/upload", form=True)
    def send_upload(self, request, session):
        practice_id = self._practice_of(request, session)
        if not practice_id:
            return self._choose_practice(session, "/submissions/upload")
        due = self._due(session, practice_id)
        values = {"measure_id": request.form.get("measure_id", "")}
        measure = next((m for m in due["items"] if m["id"] == values["measure_id"]), None)
        errors, refused = {}, []
        upload = request.files.get("file")
        if measure is None:
            errors["measure_id"] = ["choose the measure the file's rows are for"]
        if upload is None or not upload.filename:
            errors["file"] = ["choose a CSV file"]
        if not errors:
            answer, errors, refused = self._send_file(session, request, measure, upload,
                                                      practice_id, due["today"])
        if not errors:
            return redirect("/submissions/upload?" + outcome_query(
                answer, practice_id=request.values.get("practice_id")))
        return html("submissions_upload.jinja", status=422,
                    **self.common_context(session, request),
                    **self._upload_context(request, due, values, errors, refused))

    def _send_file(self, session, request, measure, upload, practice_id, today):
        """(the service's answer, errors, refused rows) of sending an uploaded file whole,
        checked first as ``pcnqi submit`` checks it (``today``: the service's day); nothing
        is stored when any row is refused."""
        content = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            return None, {"file": [f"the file is larger than "
                                   f"{MAX_UPLOAD_BYTES // 1_000_000} MB"]}, []
        try:
            text = content.decode("utf-8-sig")
            lines, _ = check_submission_text(upload.filename, text, {
                "value_kind": measure["value_kind"], "frequency": measure["frequency"]},
                date.fromisoformat(today))
        except UnicodeDecodeError:
            return None, {"file": ["the file is not UTF-8 text: save it as CSV UTF-8"]}, []
        except InputError as exc:
            return None, {"file": [str(exc)]}, []
        except FileRefused as exc:
            return None, _file_refused(exc.errors), list(exc.errors)
        if not lines:
            return None, {"file": ["the file has no rows to submit"]}, []
        if len(lines) > MAX_BATCH_ROWS:
            return None, {"file": [f"the file has {len(lines)} rows; send at most "
                                   f"{MAX_BATCH_ROWS} at a time"]}, []
        rows = [{"practice_id": practice_id, **line.to_row(measure["id"])} for line in lines]
        try:
            answer = self._send_batch(session, request, rows)
        except UpstreamRefused as refused:
            if refused.status not in forms.REFUSALS:
                raise
            named = []
            for field, reasons in ((refused.body or {}).get("fields") or {}).items():
                parts = field.split(".")
                index = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
                line = lines[index].line if index is not None and index < len(lines) else 1
                named += [RowError(line, parts[-1], why) for why in reasons]
            named = named or [RowError(1, "file", refused.body.get("message", "refused"))]
            return None, _file_refused(named), named
        return answer, {}, []

    def _upload_context(self, request, due, values, errors, refused):
        measures = [{"value": "", "text": "Choose a measure"}] + [
            {"value": m["id"], "text": f"{m['name']} ({m['value_kind']}, "
                                      f"{m['frequency']}ly)",
             "selected": m["id"] == values.get("measure_id")} for m in due["items"]]
        return {"title": "Upload a CSV file of submissions", "nav": "submissions",
                "practice_id": due["practice_id"],
                "lead_practice": request.values.get("practice_id") or "",
                "measures": measures, "values": values, "refused": refused,
                "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, UPLOAD_LABELS),
                "saved": saved_words(request.args),
                "idempotency_key": forms.new_idempotency_key()}


def _file_refused(row_errors):
    listed = [f"line {e.line}, {e.column}: {e.reason}" for e in row_errors[:ROW_ERRORS_LISTED]]
    more = len(row_errors) - len(listed)
    return {"file": [f"{len(row_errors)} problem(s) in the file, nothing was stored: "
                     + "; ".join(listed) + (f"; and {more} more below" if more > 0 else "")]}


def _only(items, measure_id):
    """The form's measures: one when the form is for one (a correction), else all."""
    return [m for m in items if m["id"] == measure_id] if measure_id else items


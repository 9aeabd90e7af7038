"""The measurement service: measures, submissions and feedback, pooled network series, SPC,
signals and charts. Submissions are stored with a ``measurement.recorded`` event in one write;
this service's own handler of that event keeps the pooled series and the signals up to date,
exactly once per value, so a crash anywhere loses nothing."""
import hashlib
import logging
from datetime import date, timedelta

from eventlet import tpool
from nameko.dependency_providers import Config
from nameko.timer import timer
from werkzeug.wrappers import Response

from analytics import charts
from services.measurement import domain, schemas
from services.measurement.openapi import openapi_document
from services.measurement.repository import (
    EVENT_SOURCES, MEASURES, POOLED_SUMS, PROJECTS, SUBMISSIONS, MeasurementRepository,
)
from shared.auth import ApiKeyAuth
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.envelope import Trace, utc_now
from shared.events.measurement import SERIES_POOLED
from shared.key_replica import ApiKeyReplica
from shared.messaging import BrokerTopology, event_handler
from shared.metrics import EntrypointMetrics
from shared.ops import OpsEndpoints, Readiness
from shared.outbox import OutboxRelayRunner
from shared.storage import MongoDatabase
from shared.web import (
    http, json_response, load, load_body, load_query, page_body, read_json, trace_of,
)

MEASURE_OUT = schemas.MeasureOut()
SUBMISSION_OUT = schemas.SubmissionOut()
SUBMISSION_RESULT_OUT = schemas.SubmissionResultOut()
BATCH_OUT = schemas.BatchOut()
POOLED_OUT = schemas.PooledOut()
COVERAGE_OUT = schemas.CoverageOut()
SPC_OUT = schemas.SpcOut()
FEEDBACK_OUT = schemas.FeedbackOut()
OVERDUE_CHECK_SECONDS = 300
OVERDUE_LOOKBACK_PERIODS = 8
# PDSA annotations are drawn from a period before the series' first point to a period after
# its last one (or after today, so a cycle just started shows); others are left out, so that a
# cycle dated far away cannot stretch (or break) the axis.
ANNOTATION_MARGIN = {"week": timedelta(days=7), "month": timedelta(days=31)}

log = logging.getLogger(__name__)


def row_errors(errors_by_row):
    return {f"rows.{index}.{field}": reasons
            for index, errors in errors_by_row.items() for field, reasons in errors.items()}


class MeasurementService(ApiKeyReplica, OpsEndpoints):
    name = "measurement"
    openapi_document = openapi_document()

    topology = BrokerTopology()
    storage = MongoDatabase(MeasurementRepository)
    relay = OutboxRelayRunner(*EVENT_SOURCES)
    auth = ApiKeyAuth()
    readiness = Readiness()
    entrypoint_metrics = EntrypointMetrics()
    config = Config()

    # --- lookups ------------------------------------------------------------------------------

    def _project(self, principal, project_id, practice_id=None, write=False):
        project = self.storage.find(PROJECTS, project_id)
        takes_part = principal.role == "practice" and bool(
            self.storage.participating(project_id, [principal.practice_id]))
        domain.check_project_access(principal, project, takes_part, practice_id, write)
        return project

    def _measure(self, principal, measure_id, practice_id=None, write=False):
        measure = self.storage.find(MEASURES, measure_id)
        if measure is None:
            raise NotFound("no such measure", {"measure_id": [f"{measure_id} not found"]})
        return measure, self._project(principal, measure["project_id"], practice_id, write)

    # --- what the projects service tells us ------------------------------------------------------

    @event_handler("projects", "project.created")
    def track_project(self, envelope):
        data = envelope["data"]
        self.storage.track_project(data["project_id"], envelope["network_id"],
                                   {"title": data["title"], "scope": data["scope"]},
                                   data["practice_ids"])

    @event_handler("projects", "project.practice_joined")
    def track_practice_joined(self, envelope):
        data = envelope["data"]
        self.storage.track_project(data["project_id"], envelope["network_id"], {},
                                   [data["practice_id"]])

    def _annotate(self, envelope):
        """A PDSA cycle as a chart annotation; the completed event adds its end and act."""
        data = envelope["data"]
        fields = {"project_id": data["project_id"], "practice_id": envelope["practice_id"],
                  "change_idea": data["change_idea"],
                  "started_on": data["started_on"].isoformat()}
        if "completed_on" in data:
            fields.update(completed_on=data["completed_on"].isoformat(), act=data["act"])
        self.storage.annotate(data["cycle_id"], fields)

    @event_handler("projects", "pdsa.cycle_started")
    def annotate_cycle_started(self, envelope):
        self._annotate(envelope)

    @event_handler("projects", "pdsa.cycle_completed")
    def annotate_cycle_completed(self, envelope):
        self._annotate(envelope)

    # --- measures -------------------------------------------------------------------------------

    @http("POST", "/projects/<project_id>/measures")
    def define_measure(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        project = self._project(principal, project_id, write=True)
        payload = read_json(request)
        if isinstance(payload, dict) and "from_measure_id" in payload:
            source_id = load(schemas.MeasureCopyIn(), payload)["from_measure_id"]
            source = self.storage.find(MEASURES, source_id)
            if source is None or source["network_id"] != project["network_id"]:
                raise Unprocessable("no such measure in this network",
                                    {"from_measure_id": [f"{source_id} not found"]})
            definition = {k: source[k] for k in schemas.MeasureIn().fields}
        else:
            definition = load(schemas.MeasureIn(), payload)
        measure = domain.define_measure(project, definition, utc_now())
        self.storage.insert(MEASURES, measure)
        return json_response(201, MEASURE_OUT.dump(measure),
                             headers={"Location": f"/measures/{measure['_id']}"})

    @http("GET", "/projects/<project_id>/measures")
    def list_measures(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        self._project(principal, project_id)
        measures = self.storage.find_many(MEASURES, {"project_id": project_id})
        return json_response(200, {"items": MEASURE_OUT.dump(measures, many=True)})

    @http("GET", "/measures/<measure_id>")
    def get_measure(self, request, measure_id):
        principal = self.auth.require(request, "network_lead", "practice")
        measure, _ = self._measure(principal, measure_id)
        return json_response(200, MEASURE_OUT.dump(measure))

    @http("POST", "/measures/<measure_id>/rebase")
    def rebase_measure(self, request, measure_id):
        principal = self.auth.require(request, "network_lead")
        command = load_body(request, schemas.RebaseIn())
        measure, _ = self._measure(principal, measure_id, write=True)
        update, _ = domain.add_rebase(measure, command["date"])
        self.storage.update(MEASURES, measure_id, update,
                            guard={"rebase_dates": measure["rebase_dates"]})
        return json_response(200, MEASURE_OUT.dump(self.storage.find(MEASURES, measure_id)))

    # --- submissions ----------------------------------------------------------------------------

    def _submit(self, principal, rows, trace):
        """Validate every row first (any bad row refuses the whole request, naming each bad
        row and field, and nothing is written), then store new values and corrections."""
        today = utc_now().date()
        measures = {m["_id"]: m for m in self.storage.find_many(
            MEASURES, {"_id": {"$in": sorted({r["measure_id"] for r in rows})}})}
        projects = {p["_id"]: p for p in self.storage.find_many(
            PROJECTS, {"_id": {"$in": sorted({m["project_id"] for m in measures.values()})}})}
        named = {}
        for row in rows:
            if row["measure_id"] in measures:
                named.setdefault(measures[row["measure_id"]]["project_id"], set()).add(
                    row.get("practice_id") or principal.practice_id)
        participating = {project_id: self.storage.participating(project_id, practice_ids)
                         for project_id, practice_ids in named.items()}
        errors, accepted, seen = {}, [], {}
        for index, row in enumerate(rows):
            measure = measures.get(row["measure_id"])
            project = projects.get(measure["project_id"]) if measure else None
            if measure is None or project is None or not (
                    principal.may_read_network(project["network_id"])):
                errors[index] = {"measure_id": [f"{row['measure_id']} not found"]}
                continue
            practice_id, period, contribution, row_error = domain.check_submission(
                measure, project, principal, row, today, participating[project["_id"]])
            key = domain.submission_id(measure["_id"], practice_id or "-", period)
            if not row_error and key in seen:
                row_error = {"period": [f"repeats row {seen[key]} (same measure, practice "
                                        "and period)"]}
            seen[key] = index
            if row_error:
                errors[index] = row_error
            else:
                accepted.append((key, measure, practice_id, period, contribution))
        if errors:
            raise Unprocessable(f"{len(errors)} of {len(rows)} rows are invalid; nothing was "
                                "stored", row_errors(errors))
        existing = self.storage.submissions_by_id([key for key, *_ in accepted])
        now, outcomes, new_documents, corrections = utc_now(), [], [], []
        for key, measure, practice_id, period, contribution in accepted:
            outcome, change, events = domain.record_submission(
                existing.get(key), measure, practice_id, period, contribution,
                principal.key_id, now, trace)
            outcomes.append({"id": key, "outcome": outcome})
            if outcome == "created":
                new_documents.append((change, events))
            elif outcome == "corrected":
                corrections.append((key, change, events, existing[key]["version"]))
        self.storage.insert_submissions(new_documents)
        for key, update, events, version in corrections:
            self.storage.update_submission(key, update, events, version)
        return outcomes

    def _idempotent(self, request, principal, handle):
        """Replay the stored answer of a retried POST with the same ``Idempotency-Key``."""
        idempotency_key = request.headers.get("Idempotency-Key")
        if not idempotency_key:
            status, body = handle()
            return json_response(status, body)
        key = f"{principal.key_id}:{idempotency_key}"
        fingerprint = hashlib.sha256(request.get_data()).hexdigest()
        remembered = self.storage.remembered_response(key)
        if remembered is not None:
            if remembered["fingerprint"] != fingerprint:
                raise Conflict("this Idempotency-Key was used for a different request",
                               {"Idempotency-Key": ["use a new key for a new request"]})
            return json_response(remembered["status"], remembered["body"],
                                 headers={"Idempotent-Replayed": "true"})
        status, body = handle()
        self.storage.remember_response(key, fingerprint, status, body, utc_now())
        return json_response(status, body)

    @http("POST", "/submissions")
    def submit(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        row = load_body(request, schemas.SubmissionIn())

        def handle():
            outcome = self._submit(principal, [row], trace_of(request))[0]
            stored = self.storage.find(SUBMISSIONS, outcome["id"])
            return (201 if outcome["outcome"] == "created" else 200,
                    SUBMISSION_RESULT_OUT.dump({**stored, "outcome": outcome["outcome"]}))
        return self._idempotent(request, principal, handle)

    @http("POST", "/submissions/batch")
    def submit_batch(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        rows = load_body(request, schemas.BatchIn())["rows"]

        def handle():
            outcomes = self._submit(principal, rows, trace_of(request))
            counts = {name: sum(1 for o in outcomes if o["outcome"] == name)
                      for name in ("created", "corrected", "unchanged")}
            return 200, BATCH_OUT.dump({"rows": len(rows), **counts, "results": outcomes})
        return self._idempotent(request, principal, handle)

    @http("GET", "/measures/<measure_id>/submissions")
    def list_submissions(self, request, measure_id):
        principal = self.auth.require(request, "network_lead", "practice")
        query = load_query(request, schemas.SubmissionQuery())
        practice_id = query.get("practice_id") or (
            principal.practice_id if principal.role == "practice" else None)
        self._measure(principal, measure_id, practice_id)
        selector = {"measure_id": measure_id}
        if practice_id:
            selector["practice_id"] = practice_id
        items, total = self.storage.page(SUBMISSIONS, selector, query["page"],
                                         query["page_size"], (("period", 1), ("_id", 1)))
        return json_response(200, page_body(SUBMISSION_OUT.dump(items, many=True),
                                            query["page"], query["page_size"], total))

    # --- feedback -------------------------------------------------------------------------------

    @http("POST", "/projects/<project_id>/feedback")
    def give_feedback(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        command = load_body(request, schemas.FeedbackIn())
        practice_id = command["practice_id"] or principal.practice_id
        project = self._project(principal, project_id, practice_id)
        if not self.storage.participating(project_id, [practice_id]):
            raise Unprocessable("say which participating practice the feedback is about",
                                {"practice_id": ["required, and must take part in the project"]})
        measure_id = f"msr_{project_id}_{command['source']}"
        measure = self.storage.find(MEASURES, measure_id)
        if measure is None:
            measure = {**domain.feedback_measure(project, command["source"], utc_now()),
                       "_id": measure_id}
            try:
                self.storage.insert(MEASURES, measure)
            except Conflict:
                measure = self.storage.find(MEASURES, measure_id)
        period = domain.align_period(command["period"], measure["frequency"])
        if period > utc_now().date():
            raise Unprocessable("feedback is for a period that has started",
                                {"period": [f"the period starting {period} is in the future"]})
        now, trace = utc_now(), trace_of(request)
        entry = {"source": command["source"], "rating": command["rating"],
                 "comment": command["comment"], "period": period.isoformat(),
                 "practice_id": practice_id, "received_at": now}
        key = domain.submission_id(measure_id, practice_id, period)
        existing = self.storage.find(SUBMISSIONS, key)
        tally = {"rating_sum": (existing or {}).get("rating_sum", 0) + command["rating"],
                 "rating_count": (existing or {}).get("rating_count", 0) + 1}
        outcome, change, events = domain.record_submission(
            existing, measure, practice_id, period, domain.feedback_contribution(tally),
            principal.key_id, now, trace)
        events = [e for e in events if e["event_type"] == "measurement.recorded"]
        if outcome == "created":
            change.update(tally, feedback=[entry])
        else:
            change = {"$set": {**change["$set"], **tally}, "$push": {"feedback": entry}}
        self.storage.push_feedback(key, existing, change, events)
        return json_response(201, FEEDBACK_OUT.dump(entry))

    @http("GET", "/projects/<project_id>/feedback")
    def list_feedback(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        self._project(principal, project_id)
        selector = {"project_id": project_id, "feedback": {"$exists": True}}
        if principal.role == "practice":
            selector["practice_id"] = principal.practice_id
        entries = [entry for document in self.storage.find_many(SUBMISSIONS, selector)
                   for entry in document["feedback"]]
        entries.sort(key=lambda e: (e["period"], e["received_at"]))
        return json_response(200, {"items": FEEDBACK_OUT.dump(entries, many=True)})

    # --- the pooled network series and its signals ------------------------------------------

    @event_handler("measurement", "measurement.recorded")
    def apply_to_network_series(self, envelope):
        data = envelope["data"]
        period = data["period"].isoformat()
        outcome = self.storage.apply_to_pooled(
            data["measure_id"], period, data["practice_id"], data["version"],
            domain.pooled_increments(data["contribution"], data["previous"]))
        # A "duplicate" is a retry whose sums were applied but whose analysis failed (or a
        # redelivery): the analysis below is idempotent, so it runs again rather than being
        # skipped; only a handler that returns is recorded as applied.
        log.debug("pooled sums of %s %s: %s", data["measure_id"], period, outcome)
        measure = self.storage.find(MEASURES, data["measure_id"])
        project = self.storage.find(PROJECTS, measure["project_id"])
        trace = Trace.after(envelope)
        for series, points in (
                (SERIES_POOLED, self._pooled_points(measure, project)),
                (data["practice_id"], self.storage.practice_series(measure["_id"],
                                                                   data["practice_id"]))):
            analysis = domain.analyse_series(measure, points, series)
            state = self.storage.series_state(measure["_id"], series)
            fields, events = domain.signal_changes(state or {}, analysis, measure, series, trace)
            if state is None or events or fields != {k: state.get(k) for k in fields}:
                self.storage.save_series_state(measure["_id"], series, state, fields, events)

    def _pooled_points(self, measure, project):
        """(period, value) of the pooled series. Signals look only at periods every
        participating practice has submitted: a half-filled period is not a shift."""
        expected = project.get("practice_count", 0) if project else 0
        return [(p["period"], domain.pooled_value(measure["value_kind"], p))
                for p in self.storage.pooled_periods(measure["_id"])
                if p["practices"] >= expected]

    @http("GET", "/measures/<measure_id>/pooled")
    def pooled_series(self, request, measure_id):
        principal = self.auth.require(request, "network_lead", "practice")
        measure, project = self._measure(principal, measure_id)
        show_practices = principal.may_act_for_network(project["network_id"])
        stored = self.storage.pooled_periods(measure_id)
        domain.check_readable([(p["period"], *(p[name] for name in POOLED_SUMS))
                               for p in stored], SERIES_POOLED)
        periods = []
        for pooled in stored:
            entry = {"period": pooled["period"],
                     "value": domain.pooled_value(measure["value_kind"], pooled),
                     "practices_submitted": pooled["practices"],
                     "practices_expected": project.get("practice_count", 0),
                     "numerator": pooled["numerator"], "denominator": pooled["denominator"],
                     "n": pooled["weight"]}
            if show_practices:
                entry["by_practice"] = {
                    s["practice_id"]: s["contribution"]["value"]
                    for s in self.storage.period_submissions(measure_id, pooled["period"])}
            periods.append(entry)
        return json_response(200, POOLED_OUT.dump({
            "measure_id": measure_id, "value_kind": measure["value_kind"], "periods": periods}))

    @http("GET", "/measures/<measure_id>/coverage")
    def coverage(self, request, measure_id):
        principal = self.auth.require(request, "network_lead")
        query = load_query(request, schemas.CoverageQuery())
        measure, project = self._measure(principal, measure_id)
        period = domain.align_period(query["period"], measure["frequency"]).isoformat()
        submitted = sorted(s["practice_id"]
                           for s in self.storage.period_submissions(measure_id, period))
        expected = self.storage.participants(project["_id"])
        return json_response(200, COVERAGE_OUT.dump({
            "period": period, "expected": expected, "submitted": submitted,
            "missing": [p for p in expected if p not in submitted]}))

    def _analysis(self, request, measure_id):
        principal = self.auth.require(request, "network_lead", "practice")
        practice_id = load_query(request, schemas.SeriesQuery()).get("practice_id")
        measure, project = self._measure(principal, measure_id, practice_id)
        if practice_id:
            points = self.storage.practice_series(measure_id, practice_id)
        else:
            points = self._pooled_points(measure, project)
        series = practice_id or SERIES_POOLED
        return measure, series, domain.analyse_series(measure, points, series)

    @http("GET", "/measures/<measure_id>/spc")
    def spc_analysis(self, request, measure_id):
        measure, series, analysis = self._analysis(request, measure_id)
        return json_response(200, SPC_OUT.dump({"measure_id": measure_id, "series": series,
                                                **analysis.to_dict()}))

    @http("GET", "/measures/<measure_id>/chart.<fmt>")
    def chart(self, request, measure_id, fmt):
        if fmt not in charts.CONTENT_TYPES:
            raise NotFound("charts are .svg or .png", {"format": [f"{fmt} is not offered"]})
        measure, series, analysis = self._analysis(request, measure_id)
        margin, today = ANNOTATION_MARGIN[measure["frequency"]], utc_now().date()
        first = (analysis.points[0].date if analysis.points else today) - margin
        last = max(analysis.points[-1].date if analysis.points else today, today) + margin
        annotations = [
            (day, f"PDSA: {a['change_idea'][:30]}" + (f" ({a['act']})" if a.get("act") else ""))
            for a in self.storage.annotations(measure["project_id"])
            if series == SERIES_POOLED or a.get("practice_id") in (None, series)
            for day in [date.fromisoformat(a.get("completed_on") or a["started_on"])]
            if first <= day <= last]
        title = f"{measure['name']} — {'network (pooled)' if series == SERIES_POOLED else series}"
        # Drawing takes a few hundred ms of CPU: a real thread keeps the service answering.
        image = tpool.execute(charts.render_chart, analysis, title=title,
                              unit=measure.get("unit"), target=measure.get("target"),
                              annotations=annotations, fmt=fmt)
        return Response(image, status=200, content_type=charts.CONTENT_TYPES[fmt])

    # --- practices falling behind ----------------------------------------------------------------

    @timer(interval=OVERDUE_CHECK_SECONDS)
    def check_overdue_submissions(self):
        """Raise ``measurement.submission_overdue`` once per practice and period that is
        ``SUBMISSION_OVERDUE_DAYS`` past its end with nothing submitted; returns how many."""
        overdue_days = int(self.config.get("SUBMISSION_OVERDUE_DAYS", 7))
        today, raised = utc_now().date(), 0
        for measure in self.storage.find_many(MEASURES, {"feedback_source": None}):
            project = self.storage.find(PROJECTS, measure["project_id"])
            if project is None:
                continue
            for period, due_by in domain.overdue_periods(
                    today, measure, overdue_days, OVERDUE_LOOKBACK_PERIODS):
                submitted = {s["practice_id"] for s in self.storage.period_submissions(
                    measure["_id"], period.isoformat())}
                for practice_id in self.storage.participants(project["_id"]):
                    if practice_id not in submitted:
                        document, events = domain.overdue_notice(measure, practice_id, period,
                                                                 due_by, Trace())
                        raised += self.storage.record_overdue(document, events)
        return raised

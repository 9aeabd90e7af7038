"""The measurement service: measures, submissions and feedback, pooled network series, SPC,
signals and charts. Submissions are stored with a ``measurement.recorded`` event in one write;
this service's own handler of that event keeps the pooled series and the signals up to date,
exactly once per value, so a crash anywhere loses nothing. Each route parses and authorises
(``shared.routes``), calls the service layer (``commands``) and answers."""
import base64
import logging
from datetime import timedelta

from eventlet import tpool
from nameko.dependency_providers import Config
from werkzeug.wrappers import Response

from analytics import charts
from services.measurement import commands, schemas
from services.measurement.repository import EVENT_SOURCES, MeasurementRepository
from shared.auth import Principal
from shared.events.envelope import Trace, utc_now
from shared.events.measurement import SERIES_POOLED
from shared.idempotency import AnswersRetriesOnce
from shared.lease import leased_timer
from shared.messaging import catalogued_handler
from shared.openapi import binary, items_of, one_of, page_of
from shared.routes import route
from shared.rpc import rpc
from shared.service_base import Service
from shared.web import load, read_json, trace_of

OVERDUE_CHECK_SECONDS = 300
# PDSA annotations are drawn within a period of a chart's first and last points.
ANNOTATION_MARGIN = {"week": timedelta(days=7), "month": timedelta(days=31)}
MEMBERS = ("network_lead", "practice")  # every key of a network
SERVICE_CALLER = Principal("service", "admin")  # an RPC from another service

log = logging.getLogger(__name__)


class MeasurementService(AnswersRetriesOnce, Service):
    name = "measurement"
    repository = MeasurementRepository
    event_collections = EVENT_SOURCES
    openapi_description = "Measures, submissions, pooled network series, SPC and charts."
    config = Config()

    # --- what the projects service tells us ------------------------------------------------

    @catalogued_handler
    def track_project(self, envelope):
        commands.track_project(self.storage, {**envelope["data"],
                                              "network_id": envelope["network_id"]})

    @catalogued_handler
    def track_practice_joined(self, envelope):
        commands.track_practice_joined(self.storage, {**envelope["data"],
                                                      "network_id": envelope["network_id"]})

    @catalogued_handler
    def annotate_cycle_started(self, envelope):
        commands.annotate_cycle(self.storage, envelope["data"], envelope["practice_id"])

    @catalogued_handler
    def annotate_cycle_completed(self, envelope):
        commands.annotate_cycle(self.storage, envelope["data"], envelope["practice_id"])

    # --- measures -------------------------------------------------------------------------

    @route("POST", "/projects/<project_id>/measures",
           "Define a measure (or copy one: from_measure_id)",
           body=one_of(schemas.MeasureIn, schemas.MeasureCopyIn),
           answers={201: schemas.MeasureOut}, roles=MEMBERS)
    def define_measure(self, request, project_id, principal):
        # Who may not define measures here learns so before anything of the body is read.
        commands.get_project(self.storage, principal, project_id, write=True)
        payload = read_json(request)
        if isinstance(payload, dict) and "from_measure_id" in payload:
            measure = commands.copy_measure(self.storage, principal, project_id,
                                            load(schemas.MeasureCopyIn(), payload), utc_now(),
                                            trace_of(request))
        else:
            measure = commands.define_measure(self.storage, principal, project_id,
                                              load(schemas.MeasureIn(), payload), utc_now(),
                                              trace_of(request))
        return measure, 201, {"Location": f"/measures/{measure['_id']}"}

    @route("GET", "/projects/<project_id>/measures", "List a project's measures",
           answers={200: items_of(schemas.MeasureOut)}, roles=MEMBERS)
    def list_measures(self, request, project_id, principal):
        return commands.list_measures(self.storage, principal, project_id)

    @route("GET", "/measures/<measure_id>", "Read a measure", answers={200: schemas.MeasureOut},
           roles=MEMBERS)
    def get_measure(self, request, measure_id, principal):
        return commands.get_measure(self.storage, principal, measure_id)

    @route("POST", "/measures/<measure_id>/rebase", "Start a new baseline (network lead)",
           body=schemas.RebaseIn, answers={200: schemas.MeasureOut}, roles=("network_lead",))
    def rebase_measure(self, request, measure_id, principal, command):
        return commands.rebase_measure(self.storage, principal, measure_id, command, utc_now(),
                                       trace_of(request))

    @route("GET", "/networks/<network_id>/spc-summary", "The latest SPC state of every series "
           "of the network's measures (the Making Data Count summary table, in one call)",
           answers={200: None}, roles=MEMBERS)
    def network_spc_summary(self, request, network_id, principal):
        return commands.network_summary(self.storage, principal, network_id)

    # --- submissions ------------------------------------------------------------------------

    @route("POST", "/submissions", "Submit one value (Idempotency-Key makes retries safe): "
           "201 when new, 200 for a repeat (corrected or unchanged)",
           body=schemas.SubmissionIn,
           answers={201: schemas.SubmissionResultOut, 200: schemas.SubmissionResultOut},
           roles=MEMBERS)
    def submit(self, request, principal, command):
        def answer():
            stored = commands.submit_one(self.storage, principal, command, utc_now(),
                                         trace_of(request))
            return (201 if stored["outcome"] == "created" else 200,
                    schemas.SubmissionResultOut().dump(stored))
        return self.answered_once(request, principal, answer)

    @route("POST", "/submissions/batch", "Submit up to 1,000 values; any bad row refuses all",
           body=schemas.BatchIn, answers={200: schemas.BatchOut}, roles=MEMBERS)
    def submit_batch(self, request, principal, command):
        def answer():
            return 200, schemas.BatchOut().dump(commands.submit_batch(
                self.storage, principal, command["rows"], utc_now(), trace_of(request)))
        return self.answered_once(request, principal, answer)

    @route("GET", "/measures/<measure_id>/submissions", "List submissions with their corrections",
           query=schemas.SubmissionQuery, answers={200: page_of(schemas.SubmissionOut)},
           roles=MEMBERS)
    def list_submissions(self, request, measure_id, principal, query):
        return commands.list_submissions(self.storage, principal, measure_id, query)

    @route("GET", "/practices/<practice_id>/due", "What a practice submits now: every "
           "measure of its projects with the period due and its submission so far",
           query=schemas.DueQuery, answers={200: schemas.DueOut}, roles=MEMBERS)
    def due_now(self, request, practice_id, principal, query):
        return commands.due_now(self.storage, principal, practice_id, utc_now().date(),
                                query.get("period"))

    # --- feedback ---------------------------------------------------------------------------

    @route("POST", "/projects/<project_id>/feedback", "Give staff or lived-experience feedback",
           body=schemas.FeedbackIn, answers={201: schemas.FeedbackOut}, roles=MEMBERS)
    def give_feedback(self, request, project_id, principal, command):
        return commands.give_feedback(self.storage, principal, project_id, command, utc_now(),
                                      trace_of(request))

    @route("GET", "/projects/<project_id>/feedback", "List feedback",
           answers={200: items_of(schemas.FeedbackOut)}, roles=MEMBERS)
    def list_feedback(self, request, project_id, principal):
        return commands.list_feedback(self.storage, principal, project_id)

    # --- the pooled network series and its signals ----------------------------------------

    @catalogued_handler
    def apply_to_network_series(self, envelope):
        data = envelope["data"]
        outcome = commands.apply_to_network_series(self.storage, data, Trace.after(envelope))
        log.debug("pooled sums of %s %s: %s", data["measure_id"], data["period"], outcome)

    @route("GET", "/measures/<measure_id>/pooled", "The pooled network series, per practice too",
           answers={200: schemas.PooledOut}, roles=MEMBERS)
    def pooled_series(self, request, measure_id, principal):
        return commands.pooled_series(self.storage, principal, measure_id)

    @route("GET", "/measures/<measure_id>/coverage", "Which practices submitted for a period",
           query=schemas.CoverageQuery, answers={200: schemas.CoverageOut},
           roles=("network_lead",))
    def coverage(self, request, measure_id, principal, query):
        return commands.coverage(self.storage, principal, measure_id, query)

    @route("GET", "/measures/<measure_id>/spc", "SPC analysis (Making Data Count)",
           query=schemas.SeriesQuery, answers={200: schemas.SpcOut}, roles=MEMBERS)
    def spc_analysis(self, request, measure_id, principal, query):
        _, series, analysis = commands.analyse(self.storage, principal, measure_id,
                                               query.get("practice_id"))
        return {"measure_id": measure_id, "series": series, **analysis.to_dict()}

    @route("GET", "/measures/<measure_id>/chart.svg", "SPC chart as SVG",
           query=schemas.SeriesQuery, answers={200: binary("image/svg+xml")}, roles=MEMBERS)
    def chart_as_svg(self, request, measure_id, principal, query):
        return self._chart(principal, measure_id, query, "svg")

    @route("GET", "/measures/<measure_id>/chart.png", "SPC chart as PNG",
           query=schemas.SeriesQuery, answers={200: binary("image/png")}, roles=MEMBERS)
    def chart_as_png(self, request, measure_id, principal, query):
        return self._chart(principal, measure_id, query, "png")

    def _chart(self, principal, measure_id, query, fmt):
        image = self._chart_image(principal, measure_id, query.get("practice_id"), fmt)
        return Response(image, status=200, content_type=charts.CONTENT_TYPES[fmt])

    def _chart_image(self, principal, measure_id, practice_id, fmt):
        measure, series, analysis = commands.analyse(self.storage, principal, measure_id,
                                                     practice_id)
        annotations = commands.chart_annotations(self.storage, measure, series, analysis,
                                                 utc_now().date(),
                                                 ANNOTATION_MARGIN[measure["frequency"]])
        title = f"{measure['name']} — {'network (pooled)' if series == SERIES_POOLED else series}"
        # Drawing takes a few hundred ms of CPU: a real thread keeps the service answering.
        return tpool.execute(charts.render_chart, analysis, title=title,
                             unit=measure.get("unit"), target=measure.get("target"),
                             annotations=annotations, fmt=fmt)

    @rpc
    def series_chart_png(self, measure_id, series):
        """The PNG chart of a measure's ``series`` (``pooled`` or a practice's ODS code), as
        base64, for another service (notifications puts it in a signal's mail). Only services
        reach the broker's RPC queue, so the caller reads as admin."""
        practice_id = None if series in (None, SERIES_POOLED) else series
        image = self._chart_image(SERVICE_CALLER, measure_id, practice_id, "png")
        return base64.b64encode(image).decode("ascii")

    # --- practices falling behind ------------------------------------------------------------

    @leased_timer(interval=OVERDUE_CHECK_SECONDS)
    def check_overdue_submissions(self):
        """Raise ``measurement.submission_overdue`` once per practice and period that is
        ``SUBMISSION_OVERDUE_DAYS`` past its end with nothing submitted; returns how many."""
        return commands.check_overdue_submissions(
            self.storage, int(self.config.get("SUBMISSION_OVERDUE_DAYS", 7)), utc_now().date(),
            Trace())

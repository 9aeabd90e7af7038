"""The training service: each network's capability framework, the staff registry, the
catalogue (offerings, cohorts, enrolment, attendance, completion), leaders' assessments, gaps
as events and the capability report. Each route parses and authorises (``shared.routes``) and
calls the service layer (``commands``), which stores a result with its events in one write; the
outbox relay publishes them to ``training.events``. Project events become practical evidence;
two leased timers run the overdue check and the targets check on one replica at a time."""
from eventlet import tpool
from werkzeug.wrappers import Response

from analytics.charts import CONTENT_TYPES
from services.training.commands import (cohorts, frameworks, overdue, project_events, registry,
                                        reports)
from services.training.charts import render_pyramid
from services.training.repository import OUTBOX_COLLECTIONS, TrainingRepository
from services.training.schemas import (
    AssessmentIn, AttendanceIn, AwardIn, CohortIn, CohortOut, CohortQuery, EnrolmentOut,
    FrameworkChangeIn, FrameworkOut, OfferingIn, OfferingOut, OfferingQuery, PersonOut,
    RegisterIn, ReportOut, ScopeQuery, StaffCsvIn, StaffImportIn, StaffIn, StaffOut, StaffQuery,
    StaffRef, StaffRowsIn, StaffUpdateIn,
)
from shared.events.envelope import Trace, utc_now
from shared.lease import leased_timer
from shared.messaging import catalogued_handler
from shared.openapi import binary, items_of, one_of, page_of
from shared.routes import route
from shared.service_base import Service
from shared.web import load_body, trace_of

MEMBERS = ("network_lead", "practice")  # every key of a network
LEADS = ("network_lead",)
# The overdue pass reads only the people falling due, so it can run often (every
# TRAINING_OVERDUE_CHECK_SECONDS of services/config.yaml); the targets check reads each
# practice's registry and its answer moves by the day.
OVERDUE_CHECK_SETTING = "TRAINING_OVERDUE_CHECK_SECONDS"
OVERDUE_CHECK_SECONDS = 60
TARGETS_CHECK_SECONDS = 3600


class TrainingService(Service):
    name = "training"
    repository = TrainingRepository
    event_collections = OUTBOX_COLLECTIONS
    openapi_description = ("Capability framework, staff registry, training catalogue, "
                           "enrolment and attendance, leaders' assessments, capability gaps "
                           "and the capability report.")

    # --- framework -------------------------------------------------------------------------

    @route("GET", "/frameworks/<network_id>", "A network's requirements, refresh periods and "
           "targets (the default until its lead changes them)", answers={200: FrameworkOut},
           roles=MEMBERS)
    def get_framework(self, request, network_id, principal):
        return frameworks.get_framework(self.storage, principal, network_id)

    @route("PATCH", "/frameworks/<network_id>", "Change a network's requirements, refresh "
           "periods or targets (network lead; applies from now, kept with who and when)",
           body=FrameworkChangeIn, answers={200: FrameworkOut}, roles=LEADS)
    def change_framework(self, request, network_id, principal, command):
        return frameworks.change_framework(self.storage, principal,
                                           {**command, "network_id": network_id}, utc_now(),
                                           trace_of(request))

    # --- staff registry --------------------------------------------------------------------

    @route("POST", "/staff", "Register a person (pseudonymous staff id)", body=StaffIn,
           answers={201: StaffOut}, roles=MEMBERS)
    def register_staff(self, request, principal, command):
        staff = registry.register_staff(self.storage, principal, command, utc_now(),
                                        trace_of(request))
        return staff, 201, {"Location": f"/staff/{staff['_id']}"}

    # Not /staff/import: GET and PATCH /staff/<staff_id> would answer that path too.
    @route("POST", "/staff-imports", "Import up to 5,000 people as JSON rows or CSV; any bad "
           "row refuses all", body=one_of(StaffRowsIn, StaffCsvIn),
           answers={201: items_of(StaffOut)}, roles=MEMBERS)
    def import_staff(self, request, principal):
        command = load_body(request, StaffImportIn())
        return {"items": registry.import_staff(self.storage, principal, command, utc_now(),
                                               trace_of(request))}

    @route("GET", "/staff", "List the staff registry", query=StaffQuery,
           answers={200: page_of(StaffOut)}, roles=MEMBERS)
    def list_staff(self, request, principal, query):
        return registry.list_staff(self.storage, principal, query)

    @route("GET", "/staff/<staff_id>", "A person's levels, gaps (required against held, due, "
           "overdue, lapsed), practical evidence, assessments and needs",
           answers={200: PersonOut}, roles=MEMBERS)
    def get_person(self, request, staff_id, principal):
        return registry.get_person(self.storage, principal, staff_id, utc_now())

    @route("PATCH", "/staff/<staff_id>", "Change a person's team, role, leader flag or leaving "
           "date", body=StaffUpdateIn, answers={200: StaffOut}, roles=MEMBERS)
    def update_staff(self, request, staff_id, principal, command):
        return registry.update_staff(self.storage, principal, staff_id, command, utc_now(),
                                     trace_of(request))

    @route("POST", "/staff/<staff_id>/assessments", "A leader's assessment of a member of their "
           "team, with an optional training need", body=AssessmentIn,
           answers={201: PersonOut}, roles=MEMBERS)
    def assess(self, request, staff_id, principal, command):
        return registry.assess(self.storage, principal, staff_id, command, utc_now(),
                               trace_of(request))

    @route("POST", "/levels", "Record a level held from outside the catalogue (network lead)",
           body=AwardIn, answers={201: PersonOut}, roles=LEADS)
    def award_level(self, request, principal, command):
        return registry.award_level(self.storage, principal, command, utc_now(),
                                    trace_of(request))

    # --- catalogue and cohorts -------------------------------------------------------------

    @route("POST", "/offerings", "Add an offering to the network's catalogue (network lead)",
           body=OfferingIn, answers={201: OfferingOut}, roles=LEADS)
    def add_offering(self, request, principal, command):
        offering = cohorts.add_offering(self.storage, principal, command, utc_now(),
                                        trace_of(request))
        return offering, 201

    @route("GET", "/offerings", "List the catalogue", query=OfferingQuery,
           answers={200: page_of(OfferingOut)}, roles=MEMBERS)
    def list_offerings(self, request, principal, query):
        return cohorts.list_offerings(self.storage, principal, query)

    @route("POST", "/cohorts", "Open a cohort of an offering with its session dates (network "
           "lead)", body=CohortIn, answers={201: CohortOut}, roles=LEADS)
    def add_cohort(self, request, principal, command):
        cohort = cohorts.add_cohort(self.storage, principal, command, utc_now(),
                                    trace_of(request))
        return cohort, 201, {"Location": f"/cohorts/{cohort['_id']}"}

    @route("GET", "/cohorts", "List an offering's cohorts (offering_id), or every cohort of "
           "a network (network_id)", query=CohortQuery,
           answers={200: page_of(CohortOut)}, roles=MEMBERS)
    def list_cohorts(self, request, principal, query):
        return cohorts.list_cohorts(self.storage, principal, query)

    @route("GET", "/cohorts/<cohort_id>", "Read a cohort (a practice key sees its own people)",
           answers={200: CohortOut}, roles=MEMBERS)
    def get_cohort(self, request, cohort_id, principal):
        return cohorts.get_cohort(self.storage, principal, cohort_id)

    @route("POST", "/cohorts/<cohort_id>/enrolments", "Enrol a person (past capacity: the "
           "waiting list)", body=StaffRef, answers={201: EnrolmentOut}, roles=MEMBERS)
    def enrol(self, request, cohort_id, principal, command):
        return cohorts.enrol(self.storage, principal, cohort_id, command, utc_now(),
                             trace_of(request))

    @route("POST", "/cohorts/<cohort_id>/withdrawals", "Withdraw a person; the first waiting "
           "moves up", body=StaffRef, answers={200: CohortOut}, roles=MEMBERS)
    def withdraw(self, request, cohort_id, principal, command):
        return cohorts.withdraw(self.storage, principal, cohort_id, command, utc_now(),
                                trace_of(request))

    @route("POST", "/cohorts/<cohort_id>/sessions/<session_id>/attendance",
           "Record one person's attendance at a session", body=AttendanceIn,
           answers={200: CohortOut}, roles=MEMBERS)
    def record_attendance(self, request, cohort_id, session_id, principal, command):
        return cohorts.record_attendance(self.storage, principal, cohort_id, session_id,
                                         command, utc_now(), trace_of(request))

    @route("POST", "/cohorts/<cohort_id>/sessions/<session_id>/register",
           "Import a session's register as CSV (staff_id,status); any bad row refuses all",
           body=RegisterIn, answers={200: CohortOut}, roles=MEMBERS)
    def import_register(self, request, cohort_id, session_id, principal, command):
        return cohorts.import_register(self.storage, principal, cohort_id, session_id,
                                       command, utc_now(), trace_of(request))

    @route("POST", "/cohorts/<cohort_id>/completions", "Complete a person's enrolment against "
           "the offering's criteria and award its level", body=StaffRef,
           answers={200: PersonOut}, roles=MEMBERS)
    def complete(self, request, cohort_id, principal, command):
        return cohorts.complete(self.storage, principal, cohort_id, command, utc_now(),
                                trace_of(request))

    # --- reports ---------------------------------------------------------------------------

    @route("GET", "/reports/capability", "Capability of a practice (or one of its teams) or a "
           "network: the dosage pyramid, strategy targets, partners, activation, gaps",
           query=ScopeQuery, answers={200: ReportOut}, roles=MEMBERS)
    def capability_report(self, request, principal, query):
        return reports.capability_report(self.storage, principal, query, utc_now())

    @route("GET", "/reports/capability/pyramid.svg", "The dosage pyramid as SVG",
           query=ScopeQuery, answers={200: binary("image/svg+xml")}, roles=MEMBERS)
    def pyramid_svg(self, request, principal, query):
        return self._pyramid(principal, query, "svg")

    @route("GET", "/reports/capability/pyramid.png", "The dosage pyramid as PNG",
           query=ScopeQuery, answers={200: binary("image/png")}, roles=MEMBERS)
    def pyramid_png(self, request, principal, query):
        return self._pyramid(principal, query, "png")

    def _pyramid(self, principal, query, fmt):
        report = reports.capability_report(self.storage, principal, query, utc_now())
        # Drawing takes CPU time: a real thread keeps the service answering meanwhile.
        image = tpool.execute(render_pyramid, report, fmt)
        return Response(image, status=200, content_type=CONTENT_TYPES[fmt])

    # --- the registry and practical evidence, from the projects service -------------------

    @catalogued_handler
    def record_network(self, envelope):
        project_events.on_network_registered(self.storage, envelope)

    @catalogued_handler
    def record_practice(self, envelope):
        project_events.on_practice_registered(self.storage, envelope)

    @catalogued_handler
    def record_member_added(self, envelope):
        project_events.on_member_added(self.storage, envelope, utc_now())

    @catalogued_handler
    def record_stage_changed(self, envelope):
        project_events.on_stage_changed(self.storage, envelope, utc_now())

    @catalogued_handler
    def record_cycle_completed(self, envelope):
        project_events.on_cycle_completed(self.storage, envelope, utc_now())

    # --- periodic passes -------------------------------------------------------------------

    @leased_timer(interval=OVERDUE_CHECK_SECONDS, interval_setting=OVERDUE_CHECK_SETTING)
    def check_overdue(self):
        """Gaps for the requirements that fell due since the last pass (each raised once)."""
        return overdue.overdue_check(self.storage, utc_now(), Trace())

    @leased_timer(interval=TARGETS_CHECK_SECONDS)
    def check_targets(self):
        """``training.target_at_risk`` once per practice and target."""
        return reports.targets_check(self.storage, utc_now(), Trace())

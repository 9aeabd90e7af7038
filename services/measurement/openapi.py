"""The measurement service's OpenAPI document, from its marshmallow schemas."""
from shared.openapi import binary, build_document, items_of, one_of, page_of

from services.measurement import schemas as s

OPERATIONS = (
    ("POST", "/projects/<project_id>/measures", "Define a measure (or copy one: from_measure_id)",
     one_of(s.MeasureIn, s.MeasureCopyIn), s.MeasureOut, 201, None),
    ("GET", "/projects/<project_id>/measures", "List a project's measures", None,
     items_of(s.MeasureOut), 200, None),
    ("GET", "/measures/<measure_id>", "Read a measure", None, s.MeasureOut, 200, None),
    ("POST", "/measures/<measure_id>/rebase", "Start a new baseline (network lead)", s.RebaseIn,
     s.MeasureOut, 200, None),
    ("POST", "/submissions", "Submit one value (Idempotency-Key makes retries safe): 201 when "
     "new, 200 for a repeat (corrected or unchanged)",
     s.SubmissionIn, s.SubmissionResultOut, (201, 200), None),
    ("POST", "/submissions/batch", "Submit up to 1,000 values; any bad row refuses all",
     s.BatchIn, s.BatchOut, 200, None),
    ("GET", "/measures/<measure_id>/submissions", "List submissions with their corrections",
     None, page_of(s.SubmissionOut), 200, s.SubmissionQuery),
    ("POST", "/projects/<project_id>/feedback", "Give staff or lived-experience feedback",
     s.FeedbackIn, s.FeedbackOut, 201, None),
    ("GET", "/projects/<project_id>/feedback", "List feedback", None, items_of(s.FeedbackOut),
     200, None),
    ("GET", "/measures/<measure_id>/pooled", "The pooled network series, per practice too",
     None, s.PooledOut, 200, None),
    ("GET", "/measures/<measure_id>/coverage", "Which practices submitted for a period", None,
     s.CoverageOut, 200, s.CoverageQuery),
    ("GET", "/measures/<measure_id>/spc", "SPC analysis (Making Data Count)", None, s.SpcOut,
     200, s.SeriesQuery),
    ("GET", "/measures/<measure_id>/chart.svg", "SPC chart as SVG", None,
     binary("image/svg+xml"), 200, s.SeriesQuery),
    ("GET", "/measures/<measure_id>/chart.png", "SPC chart as PNG", None, binary("image/png"),
     200, s.SeriesQuery),
)


def openapi_document():
    return build_document("PCN Improvement Network — measurement", "1.0.0",
                          "Measures, submissions, pooled network series, SPC and charts.",
                          OPERATIONS)

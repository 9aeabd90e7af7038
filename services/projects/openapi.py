"""The projects service's OpenAPI document, from its marshmallow schemas."""
from shared.openapi import build_document, page_of
from shared.web import PageQuery

from services.projects import schemas as s

OPERATIONS = (
    ("POST", "/networks", "Register a network (admin)", s.NetworkIn, s.NetworkOut, 201, None),
    ("GET", "/networks", "List networks", None, page_of(s.NetworkOut), 200, PageQuery),
    ("POST", "/practices", "Register a practice", s.PracticeIn, s.PracticeOut, 201, None),
    ("GET", "/practices", "List practices", None, page_of(s.PracticeOut), 200, s.PracticeQuery),
    ("POST", "/api-keys", "Issue an API key (shown once)", s.ApiKeyIn, s.IssuedApiKeyOut, 201,
     None),
    ("GET", "/api-keys", "List API keys (no secrets)", None, page_of(s.ApiKeyOut), 200,
     PageQuery),
    ("POST", "/api-keys/<key_id>/revoke", "Revoke an API key everywhere", None, s.ApiKeyOut, 200,
     None),
    ("POST", "/projects", "Create a QI project", s.ProjectIn, s.ProjectOut, 201, None),
    ("GET", "/projects", "List projects", None, page_of(s.ProjectOut), 200, s.ProjectQuery),
    ("GET", "/projects/<project_id>", "Read a project", None, s.ProjectOut, 200, None),
    ("POST", "/projects/<project_id>/stage", "Move a project to another stage", s.StageIn,
     s.ProjectOut, 200, None),
    ("POST", "/projects/<project_id>/practices", "Add a practice to a network project",
     s.PracticeJoinIn, s.ProjectOut, 200, None),
    ("POST", "/projects/<project_id>/members", "Add a team member", s.MemberIn, s.ProjectOut, 201,
     None),
    ("POST", "/projects/<project_id>/pdsa-cycles", "Start a PDSA cycle", s.PdsaCycleIn,
     s.PdsaCycleOut, 201, None),
    ("GET", "/projects/<project_id>/pdsa-cycles", "List a project's PDSA cycles", None,
     page_of(s.PdsaCycleOut), 200, PageQuery),
    ("GET", "/pdsa-cycles/<cycle_id>", "Read a PDSA cycle", None, s.PdsaCycleOut, 200, None),
    ("PATCH", "/pdsa-cycles/<cycle_id>", "Record notes; an act decision completes the cycle",
     s.PdsaCyclePatch, s.PdsaCycleOut, 200, None),
    ("POST", "/huddle-items", "Raise a huddle board item", s.HuddleItemIn, s.HuddleItemOut, 201,
     None),
    ("GET", "/huddle-items", "List huddle board items", None, page_of(s.HuddleItemOut), 200,
     s.HuddleQuery),
    ("GET", "/huddle-items/<item_id>", "Read a huddle item", None, s.HuddleItemOut, 200, None),
    ("POST", "/huddle-items/<item_id>/escalate", "Escalate to a named leader",
     s.HuddleEscalationIn, s.HuddleItemOut, 200, None),
    ("POST", "/huddle-items/<item_id>/resolve", "Resolve (unblock) an item",
     s.HuddleResolutionIn, s.HuddleItemOut, 200, None),
)


def openapi_document():
    return build_document("PCN Improvement Network — projects", "1.0.0",
                          "Registry, QI projects, PDSA cycles and huddle boards.", OPERATIONS)

"""The service layer of the training service: what its entrypoints, event handlers and timers
call.

Commands take (repository, principal, command, now, trace), the command already loaded by its
schema, and return what the API answers. Event consumers take the checked envelope; the
periodic passes (the overdue check, targets at risk) take ``now``, so tests inject the clock.
Access: a practice key sees and writes only its own practice's staff and enrolments (others'
answer 404, as if absent); network leads their network; admins everything.

- ``frameworks``: a network's requirements, refresh periods and targets
- ``registry``: the staff registry, a person's record, levels from outside, assessments
- ``cohorts``: the catalogue, cohorts, enrolment, attendance, completion
- ``project_events``: practical evidence from the projects service's events
- ``overdue``: the overdue pass, and the gap counter every stored change to a person feeds
- ``reports``: the capability report, targets at risk
"""

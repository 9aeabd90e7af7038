"""The training service's domain: capability levels, a network's requirements, people and
their obligations, the catalogue, enrolment, attendance, completion, assessments, practical
evidence, gaps and coverage.

Plain Python on dicts, the clock passed in. Dates are stored as ISO strings (``YYYY-MM-DD``),
which sort as the dates do, so a person's obligations can be indexed by due date and the
overdue check asks only for those that fell due (see ``TrainingRepository.falling_due``).

A person's obligations live in their staff document beside the levels they hold, so awarding
a level, closing the gaps it meets and the events of both are one write under one version.

- ``framework``: the levels, the levels a person holds, a network's requirements and targets
- ``people``: a person's document, registration, changes, the import's checks
- ``obligations``: what a person must hold by when, and the gaps when they do not
- ``catalogue``: offerings, cohorts, enrolment and waiting lists, attendance
- ``completion``: criteria checked, a level awarded or renewed
- ``evidence``: leaders' assessments, practical evidence from projects
- ``coverage``: the capability report and targets at risk
- ``csv_files``: staff imports and registers as CSV
"""

"""The service layer of the measurement service: what its entrypoints and handlers call.

Commands take (repository, principal, [the id they act on,] command, now, trace): they read
what they need, check access (``shared.access``) and the domain's rules, store the result with
its events in one write, and return what was stored. Queries take (repository, principal, ...)
and return documents or a page. Refusals are ``shared.domain`` errors; nothing here knows HTTP
or the broker, so tests run these against the in-memory store.

Modules: ``projects`` (access to a project and the projects service's events), ``measures``,
``submissions`` (with feedback and retried requests), ``due`` (what a practice submits
now), ``series`` (pooled series, SPC, overdue notices).
"""
from services.measurement.commands.projects import (  # noqa: F401
    get_project, get_measure_and_project, track_project, track_practice_joined, annotate_cycle,
)
from services.measurement.commands.measures import (  # noqa: F401
    define_measure, copy_measure, list_measures, get_measure, rebase_measure, refresh_summaries,
    network_summary,
)
from services.measurement.commands.submissions import (  # noqa: F401
    row_errors, submit, submit_one, submit_batch, list_submissions, give_feedback,
    list_feedback,
)
from services.measurement.commands.due import due_now  # noqa: F401
from services.measurement.commands.series import (  # noqa: F401
    OVERDUE_LOOKBACK_PERIODS, apply_to_network_series, pooled_points, pooled_series, coverage,
    analyse, chart_annotations, check_overdue_submissions,
)

"""Statistical process control (XmR charts): a Python port of NHSRplotthedots.

This package reproduces the calculations of the NHS-R community's R package
**NHSRplotthedots v0.2.2** ("Making Data Count" / "plot the dots" XmR charts).
The R logic of v0.2.x was read in ``R/ptd_spc_standard.R``,
``R/ptd_calculate_point_type.R``, ``R/ptd_calculate_assurance_type.R``,
``R/ptd_add_rebase_column.R``, ``R/ptd_add_short_group_warnings.R``,
``R/ptd_spc_options.R`` and ``R/ptd_validate_spc_options.R`` (CRAN mirror
``cran/NHSRplotthedots`` at the 0.2.0 snapshot, whose R code is the code released
as 0.2.2; the 0.2.2 NEWS entry lists no change to the calculations).

Each module holds one step, with what R does there and where this port departs from it:

* :mod:`~analytics.spc.analysis` -- :func:`analyse`, the steps in R's order;
* :mod:`~analytics.spc.inputs` -- the checks on the input, :class:`SpcInputError`;
* :mod:`~analytics.spc.rebasing` -- rebase groups and the short-group warning;
* :mod:`~analytics.spc.limits` -- mean, moving ranges, screening, process limits;
* :mod:`~analytics.spc.rules` -- the special-cause rules and their precedence;
* :mod:`~analytics.spc.assurance` -- assurance against a target;
* :mod:`~analytics.spc.results` -- :class:`SpcPoint` and :class:`SpcAnalysis`;
* :mod:`~analytics.spc.vocabulary` -- directions, point and assurance types, R's strings;
* :mod:`~analytics.spc.verdict` -- the analysis in words ("special-cause improvement since
  13 April 2026; assurance: hit and miss against the target 0.6"): ``verdict.verdict()``.
"""

from analytics.spc.analysis import analyse
from analytics.spc.inputs import SpcInputError
from analytics.spc.limits import LIMIT, LIMIT_CLOSE, OUTLIER_SCREEN
from analytics.spc.rebasing import SHORT_GROUP_THRESHOLD, SHORT_GROUP_WARNING
from analytics.spc.results import (
    POINT_FIELDS, SpcAnalysis, SpcPoint, decisive_rule, special_cause_rules,
)
from analytics.spc.rules import RUN_LENGTH, TREND_LENGTH
from analytics.spc.vocabulary import (
    ASSURANCE_TYPES, COMMON_CAUSE, CONSISTENT_FAIL, CONSISTENT_PASS, DECREASE,
    IMPROVEMENT_DIRECTIONS, INCONSISTENT, INCREASE, NEUTRAL, POINT_TYPES, RULE_OUTSIDE_LIMITS,
    RULE_RUN, RULE_TREND, RULE_TWO_IN_THREE, RULES, SCT_ABOVE_UCL, SCT_BELOW_LCL,
    SCT_COMMON_CAUSE, SCT_RUN_ABOVE, SCT_RUN_BELOW, SCT_TREND_DOWN, SCT_TREND_UP,
    SCT_TWO_IN_THREE_ABOVE, SCT_TWO_IN_THREE_BELOW, SPECIAL_CAUSE_CONCERN,
    SPECIAL_CAUSE_IMPROVEMENT, SPECIAL_CAUSE_NEUTRAL_HIGH, SPECIAL_CAUSE_NEUTRAL_LOW,
    SPECIAL_CAUSE_TYPES,
)

__all__ = [
    "analyse",
    "SpcAnalysis",
    "SpcPoint",
    "SpcInputError",
    "special_cause_rules",
    "decisive_rule",
    "RULE_OUTSIDE_LIMITS",
    "RULE_TREND",
    "RULE_TWO_IN_THREE",
    "RULE_RUN",
    "RULES",
    "IMPROVEMENT_DIRECTIONS",
    "POINT_TYPES",
    "ASSURANCE_TYPES",
    "SPECIAL_CAUSE_TYPES",
    "LIMIT",
    "LIMIT_CLOSE",
    "OUTLIER_SCREEN",
    "SHORT_GROUP_THRESHOLD",
    "SHORT_GROUP_WARNING",
    "POINT_FIELDS",
]

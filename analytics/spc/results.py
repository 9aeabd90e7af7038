"""What an analysis gives: :class:`SpcPoint` per date and the chart-level :class:`SpcAnalysis`.

``variation_type`` is the ``point_type`` of the last point (``geom_ptd_icon()``: the row with
the latest date). NA/NaN limits and means are ``None`` (JSON ``null``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Optional

from analytics.spc.rebasing import SHORT_GROUP_THRESHOLD
from analytics.spc.vocabulary import SCT_COMMON_CAUSE


class SpcPoint(NamedTuple):
    """One point of an XmR chart, with the columns of R's ``ptd_spc_df``.

    A NamedTuple: immutable and built at tuple speed (a frozen dataclass costs more per point
    than all the SPC arithmetic).

    ``value``, ``mean``, ``lpl``, ``upl`` are ``None`` where R has NA/NaN;
    ``relative_to_mean`` is -1/0/1 (``None`` for NA); ``outside_limits`` and
    ``close_to_limits`` are booleans (``None`` for NA); ``rules`` lists the
    special-cause rules that hold for the point, decisive rule first.
    """

    date: date
    value: Optional[float]
    mean: Optional[float]
    lpl: Optional[float]
    upl: Optional[float]
    rebase_group: int
    relative_to_mean: Optional[int]
    outside_limits: Optional[bool]
    close_to_limits: Optional[bool]
    special_cause_type: str
    point_type: str
    rules: tuple = ()

    @property
    def special_cause_flag(self) -> bool:
        """R's ``special_cause_flag``: ``special_cause_type != "Common Cause"``."""
        return self.special_cause_type != SCT_COMMON_CAUSE

    def to_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "value": self.value,
            "mean": self.mean,
            "lpl": self.lpl,
            "upl": self.upl,
            "rebase_group": self.rebase_group,
            "relative_to_mean": self.relative_to_mean,
            "outside_limits": self.outside_limits,
            "close_to_limits": self.close_to_limits,
            "special_cause_type": self.special_cause_type,
            "point_type": self.point_type,
            "rules": list(self.rules),
        }

    @classmethod
    def from_dict(cls, fields: dict) -> "SpcPoint":
        """The point :meth:`to_dict` (or the service's JSON) describes."""
        return cls(**{**fields, "date": date.fromisoformat(fields["date"]),
                      "rules": tuple(fields.get("rules") or ())})


POINT_FIELDS = SpcPoint._fields


@dataclass(frozen=True, slots=True)
class SpcAnalysis:
    """Result of :func:`analytics.spc.analyse`.

    ``warnings`` holds R's warning text(s) (the short-group warning), and is
    not part of :meth:`to_dict`.
    """

    points: tuple
    variation_type: Optional[str]
    assurance_type: Optional[str]
    warnings: tuple = ()

    @property
    def short_groups(self) -> tuple:
        """Rebase groups with fewer than ``SHORT_GROUP_THRESHOLD`` points."""
        counts: dict = {}
        for p in self.points:
            counts[p.rebase_group] = counts.get(p.rebase_group, 0) + 1
        return tuple(g for g, n in counts.items() if n < SHORT_GROUP_THRESHOLD)

    def to_dict(self) -> dict:
        return {
            "points": [p.to_dict() for p in self.points],
            "variation_type": self.variation_type,
            "assurance_type": self.assurance_type,
        }

    @classmethod
    def from_dict(cls, analysis: dict) -> "SpcAnalysis":
        """The analysis :meth:`to_dict` (or the measurement service's ``/spc``) describes;
        keys beyond those of :meth:`to_dict` (``measure_id``, ``series``) are ignored."""
        points = tuple(SpcPoint.from_dict({name: point.get(name) for name in POINT_FIELDS})
                       for point in analysis["points"])
        return cls(points, analysis.get("variation_type"), analysis.get("assurance_type"))


def special_cause_rules(point: SpcPoint) -> tuple:
    """Names of the rules that make ``point`` special cause (decisive first).

    Empty for a common-cause point.  Values are among :data:`RULES`.
    """
    return point.rules


def decisive_rule(point: SpcPoint) -> Optional[str]:
    """The rule R reports in ``special_cause_type`` (``None`` if common cause)."""
    return point.rules[0] if point.rules else None

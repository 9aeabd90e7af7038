"""The rules a submitted row of a measure meets, shared by the measurement service (which
enforces them) and ``pcnqi submit`` (which checks a whole file before it sends a row): the
period a day falls in, what a row of each value kind contributes to the pooled value, and the
most rows one batch request takes."""
from datetime import timedelta

from shared.validation import MAX_MAGNITUDE

MAX_BATCH_ROWS = 1000


def align_period(day, frequency):
    """The first day of ``day``'s period: the Monday of its ISO week, or the 1st of its month."""
    if frequency == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def contribution_of(value_kind, row):
    """(contribution, errors): what a submitted row adds to the pooled value, or why not."""
    value, numerator, denominator = row.get("value"), row.get("numerator"), row.get("denominator")
    errors = {}
    if value_kind in ("proportion", "rate"):
        if numerator is None:
            errors["numerator"] = [f"required for a {value_kind}"]
        if denominator is None:
            errors["denominator"] = [f"required for a {value_kind}"]
        if value is not None:
            errors["value"] = [f"a {value_kind} is given as numerator and denominator"]
        if errors:
            return None, errors
        if numerator < 0:
            errors["numerator"] = ["must not be negative"]
        if denominator <= 0:
            errors["denominator"] = ["must be more than 0"]
        elif value_kind == "proportion" and numerator > denominator:
            errors["numerator"] = [f"{numerator:g} is more than the denominator {denominator:g}"]
        elif numerator / denominator > MAX_MAGNITUDE:
            errors["denominator"] = [f"{numerator:g} / {denominator:g} is more than "
                                     f"{MAX_MAGNITUDE:g}; check the denominator"]
        if errors:
            return None, errors
        return {"value": numerator / denominator, "numerator": float(numerator),
                "denominator": float(denominator), "weight": 1.0}, {}
    if numerator is not None or denominator is not None:
        errors["numerator" if numerator is not None else "denominator"] = [
            f"a {value_kind} is given as value"]
    if value is None:
        errors["value"] = [f"required for a {value_kind}"]
    elif value_kind == "count" and (value < 0 or value != int(value)):
        errors["value"] = ["a count is a whole number, not negative"]
    if errors:
        return None, errors
    return {"value": float(value), "numerator": None, "denominator": None, "weight": 1.0}, {}

"""Field validators and field types shared by the services' schemas."""
import math
import re
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate

# Ten digits, optionally grouped 3-3-4 by spaces or hyphens, as NHS numbers are written.
NHS_NUMBER_SHAPE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")
STAFF_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
ODS_CODE_PATTERN = r"^[A-Z][0-9]{5}$"

# The bounds of what the services accept, in one place. Every float is within ±MAX_MAGNITUDE,
# so sums over any number of practices and SPC limits stay finite; dates start at EARLIEST_DATE
# and end with the year after this one (periods, PDSA cycles) or a few years on (aims), so
# charts never meet matplotlib's limits near year 1 or 9999.
MAX_MAGNITUDE = 1e12
MIN_DENOMINATOR = 1e-6
EARLIEST_DATE = date(2000, 1, 1)
MAX_PAGE = 1_000_000
MAX_FIX_AFTER_N_POINTS = 10_000
# What a stored series may hold and still be analysed and drawn: sums of bounded inputs over
# many practices stay far below this; anything beyond is damage, refused on the read.
MAX_SERIES_MAGNITUDE = 1e15


def latest_date(years_ahead=1):
    """The last day of the year ``years_ahead`` after this one."""
    return date(date.today().year + years_ahead, 12, 31)


def is_readable_number(value):
    """True for a finite number within MAX_SERIES_MAGNITUDE (None, a missing value, too)."""
    return value is None or (math.isfinite(value) and abs(value) <= MAX_SERIES_MAGNITUDE)


def in_date_bounds(day, years_ahead=1):
    return EARLIEST_DATE <= day <= latest_date(years_ahead)


class DateWithinBounds(validate.Validator):
    """A date from EARLIEST_DATE to the end of the year ``years_ahead`` after this one."""

    def __init__(self, years_ahead=1):
        self.years_ahead = years_ahead

    def __call__(self, value):
        if not in_date_bounds(value, self.years_ahead):
            raise ValidationError(f"give a date from {EARLIEST_DATE} to "
                                  f"{latest_date(self.years_ahead)}")
        return value


def no_patient_identifiers(text):
    """Refuse free text holding anything shaped like an NHS number: no patient data here."""
    if text and NHS_NUMBER_SHAPE.search(text):
        raise ValidationError(
            "looks like it contains an NHS number; remove patient identifiers from free text")


class Strict(Schema):
    """Refuses unknown fields, naming them, instead of silently dropping them."""

    class Meta:
        unknown = RAISE


def free_text(max_length, **kwargs):
    """A string of 1..max_length characters that carries no NHS number."""
    return fields.String(validate=[validate.Length(min=1, max=max_length),
                                   no_patient_identifiers], **kwargs)


def ods_code(**kwargs):
    return fields.String(validate=validate.Regexp(
        ODS_CODE_PATTERN, error="an ODS practice code such as F84001"), **kwargs)


def staff_id(**kwargs):
    return fields.String(validate=validate.Regexp(
        STAFF_ID_PATTERN, error="a pseudonymous staff id: letters, digits, . _ -"), **kwargs)


def bounded_date(years_ahead=1, metadata=None, **kwargs):
    """A date (YYYY-MM-DD) from 2000-01-01 to the end of the year ``years_ahead`` after this
    one; the bounds are in the OpenAPI description."""
    description = (metadata or {}).get("description")
    bounds = f"from {EARLIEST_DATE} to 31 December " + (
        "of next year" if years_ahead == 1 else f"{years_ahead} years from now")
    return fields.Date(validate=DateWithinBounds(years_ahead), metadata={
        **(metadata or {}), "description": f"{description}; {bounds}" if description
        else bounds}, **kwargs)


def bounded_float(minimum=-MAX_MAGNITUDE, maximum=MAX_MAGNITUDE, **kwargs):
    """A finite number within [minimum, maximum] (by default ±MAX_MAGNITUDE)."""
    return fields.Float(allow_nan=False, validate=validate.Range(min=minimum, max=maximum),
                        **kwargs)


def bounded_integer(minimum, maximum, strict=True, **kwargs):
    """An integer within [minimum, maximum]: BSON stores at most 2^63 - 1. ``strict``: refuse
    12.5 rather than take 12 (query strings, all text, are read with ``strict=False``)."""
    return fields.Integer(strict=strict, validate=validate.Range(min=minimum, max=maximum),
                          **kwargs)

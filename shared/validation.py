"""Field validators and field types shared by the services' schemas."""
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

# Ten digits, optionally grouped 3-3-4 by spaces or hyphens, as NHS numbers are written.
NHS_NUMBER_SHAPE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")
STAFF_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
ODS_CODE_PATTERN = r"^[A-Z][0-9]{5}$"


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

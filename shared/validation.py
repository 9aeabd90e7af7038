"""Field validators shared by the services' schemas."""
import re

from marshmallow import ValidationError

# Ten digits, optionally grouped 3-3-4 by spaces or hyphens, as NHS numbers are written.
NHS_NUMBER_SHAPE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")
STAFF_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
ODS_CODE_PATTERN = r"^[A-Z][0-9]{5}$"


def no_patient_identifiers(text):
    """Refuse free text holding anything shaped like an NHS number: no patient data here."""
    if text and NHS_NUMBER_SHAPE.search(text):
        raise ValidationError(
            "looks like it contains an NHS number; remove patient identifiers from free text")

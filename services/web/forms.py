"""What every form of the site shares: a service's refusal (422, or 409 for a conflict) turned
into errors next to the fields it named, the NHS.UK error summary's list linking to them, what
the person typed kept, and a fresh Idempotency-Key per rendered form so that a refresh or a
double click stores nothing twice (the services remember the answer to a key)."""
import secrets
from datetime import date

REFUSALS = (409, 422)
FORM_ERROR = "_form"
# The NHS.UK date input's three boxes: a date field ``name`` is posted as name_day, ...
DATE_PARTS = ("day", "month", "year")
NOT_A_DATE = "Enter a real date, such as 6 7 2026 (day, month, year)"


def field_id(name):
    """The HTML id of a form field named ``name`` (dots make awkward ids and CSS selectors)."""
    return name.replace(".", "-")


def refused_fields(refused, known_fields, aliases=None):
    """``{form field: [why]}`` from a service's refusal (``UpstreamRefused`` of 409 or 422).
    Each field the service named is matched to the form field it belongs to: the same name,
    a name under it (``by_channel.email.value`` -> ``by_channel.email``), or one ``aliases``
    maps (service field -> form field). Fields the form does not have go under ``FORM_ERROR``
    with the service's name kept. Any other refusal is raised again."""
    if refused.status not in REFUSALS:
        raise refused
    aliases = aliases or {}
    errors = {}
    body = refused.body or {}
    for name, reasons in (body.get("fields") or {}).items():
        name = aliases.get(name, name)
        field = next((known for known in known_fields
                      if name == known or name.startswith(known + ".")), None)
        if field is None:
            errors.setdefault(FORM_ERROR, []).extend(f"{name}: {why}" for why in reasons)
        else:
            errors.setdefault(field, []).extend(reasons)
    return errors or {FORM_ERROR: [body.get("message") or "refused"]}


def error_list(errors, labels):
    """The NHS.UK error summary's list: each error in the form's order (``labels``: form
    field -> label, in order), linked to its field; errors of no field come last, unlinked."""
    order = list(labels)
    listed = []
    for name in sorted(errors, key=lambda n: order.index(n) if n in order else len(order)):
        label = labels.get(name)
        text = f"{label}: {'; '.join(errors[name])}" if label else "; ".join(errors[name])
        listed.append({"text": text, "href": f"#{field_id(name)}" if label else None,
                       "field": name})
    return listed


def date_box_names(name):
    """The names of the day, month and year boxes of the date field ``name``."""
    return tuple(f"{name}_{part}" for part in DATE_PARTS)


def typed_date(values, name):
    """``YYYY-MM-DD`` from the day, month and year boxes of ``name`` in ``values``; None when
    all are empty; ``ValueError`` naming the fix when they are not a real date."""
    parts = [values[box] for box in date_box_names(name)]
    if not any(parts):
        return None
    if not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        raise ValueError(NOT_A_DATE)
    day, month, year = (int(p) for p in parts)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValueError(NOT_A_DATE) from None


def link_dates_to_their_day(listed, date_fields):
    """An error summary's list whose date fields link to their first box (the day), as the
    NHS.UK date input asks."""
    return [{**item, "href": f"#{field_id(item['field'])}-day"}
            if item["field"] in date_fields and item["href"] else item for item in listed]


def field_messages(errors):
    """``{form field: "why; why"}`` for each field's errorMessage."""
    return {name: "; ".join(reasons) for name, reasons in errors.items()}


def new_idempotency_key():
    """A key for one rendered form: sent again by a refresh or a second click."""
    return secrets.token_urlsafe(18)

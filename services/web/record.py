"""A person's training record, read-only: the capability levels they hold (and those lapsed),
each level required of them with its due date, and their gaps (overdue or lapsed). Read from
the training service's ``GET /staff/<staff_id>`` with the signed-in person's own rights: a
network lead sees the network's staff, a practice member or lead their own practice's; anyone
else's record answers "Page not found". A capability-gap mail links here."""
from datetime import date
from urllib.parse import quote

from services.web.pages import page

LEVEL_WORDS = {"none": "None", "introduction": "Introduction", "foundations": "Foundations",
               "improvement_leader": "Improvement leader", "coach": "Coach", "board": "Board"}


def level_words(level):
    return LEVEL_WORDS.get(level, str(level or "None").replace("_", " ").capitalize())


def long_date(value):
    """``2026-11-27`` → ``27 November 2026`` (the NHS.UK style); anything else as it is."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value or "")
    return f"{day.day} {day:%B %Y}"


def requirement_status(requirement):
    """(words, tag colour) of one open requirement."""
    if requirement.get("lapsed"):
        return "Lapsed", "nhsuk-tag--orange"
    if requirement.get("overdue"):
        return "Overdue", "nhsuk-tag--red"
    return "Due", "nhsuk-tag--grey"


def record_view(record):
    """What the page shows of training's answer for one person (``PersonOut``)."""
    levels = sorted((record.get("levels") or {}).items(),
                    key=lambda item: tuple(LEVEL_WORDS).index(item[0])
                    if item[0] in LEVEL_WORDS else len(LEVEL_WORDS))
    lapsed = set(record.get("lapsed_levels") or ())
    requirements = []
    for row in sorted(record.get("requirements") or (), key=lambda r: str(r.get("due_on"))):
        words, colour = requirement_status(row)
        requirements.append({"level": level_words(row.get("required_level")),
                             "due_on": long_date(row.get("due_on")),
                             "status": words, "colour": colour,
                             "gap": words != "Due"})
    return {
        "staff_id": record.get("staff_id"),
        "held_level": level_words(record.get("held_level")),
        "lapsed_levels": ", ".join(level_words(level) for level in sorted(lapsed)) or "None",
        "levels": [{"level": level_words(level),
                    "awarded_on": long_date((award or {}).get("awarded_on")),
                    "refreshed_on": long_date((award or {}).get("refreshed_on"))
                    if (award or {}).get("refreshed_on") else "Not yet",
                    "lapsed": level in lapsed} for level, award in levels],
        "requirements": requirements,
        "gaps": sum(1 for row in requirements if row["gap"])}


class TrainingRecordPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""

    @page("GET", "/people/<staff_id>/training")
    def training_record(self, request, session, staff_id):
        record = self.upstream(session).training(f"/staff/{quote(staff_id, safe='')}")
        view = record_view(record)
        return "training_record.jinja", {"title": f"Training record of {view['staff_id']}",
                                         "record": view}

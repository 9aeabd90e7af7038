"""The network's training catalogue as its page shows it: offerings by title, each with its
cohorts by their first session, the dates and the places left in words (plain functions)."""
from urllib.parse import quote

from services.web.dates import long_date
from services.web.forms import field_id
from services.web.record import level_words


def places_words(cohort):
    """``3 of 12 places left``, ``1 of 1 place left``, ``Full: 2 waiting``."""
    left, capacity = cohort.get("places_left", 0), cohort.get("capacity", 0)
    if left > 0:
        return f"{left} of {capacity} place{'s' if capacity != 1 else ''} left"
    waiting = len(cohort.get("waiting") or ())
    return f"Full: {waiting} waiting" if waiting else "Full: nobody waiting"


def cohort_dates(cohort):
    days = sorted(s["on"] for s in cohort.get("sessions") or ())
    if not days:
        return "No sessions"
    if len(days) == 1:
        return long_date(days[0])
    return f"{long_date(days[0])} to {long_date(days[-1])} ({len(days)} sessions)"


def catalogue_view(offerings, cohorts):
    """The catalogue page: offerings by title, each with its cohorts by their first session
    (two upstream calls, however long the catalogue)."""
    cohorts_of = {}
    for cohort in sorted(cohorts, key=lambda c: [s["on"] for s in c.get("sessions") or ()]):
        cohorts_of.setdefault(cohort["offering_id"], []).append({
            "href": f"/training/cohorts/{quote(cohort['cohort_id'])}",
            "dates": cohort_dates(cohort), "places": places_words(cohort)})
    return [{**offering, "anchor": f"offering-{field_id(offering['offering_id'])}",
             "awards": level_words(offering["awards_level"])
             if offering.get("awards_level") else None,
             "refreshes": level_words(offering["refresher_for"])
             if offering.get("refresher_for") else None,
             "cohorts": cohorts_of.get(offering["offering_id"], [])}
            for offering in sorted(offerings, key=lambda o: (o["title"].casefold(),
                                                             o["offering_id"]))]

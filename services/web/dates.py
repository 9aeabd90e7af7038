"""How pages write days and moments for the people of the network: in the NHS.UK style
(``6 July 2026``, ``6 July 2026 at 10:05``) and in UK time, GMT or BST as the day has it. The
services store and send UTC; a person reading "09:05" on a July morning means UK time."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

# The networks are English Primary Care Networks (the notifications service's default too).
UK_TIME = ZoneInfo("Europe/London")


def uk_moment(value):
    """An aware datetime in UK time from ISO text or a datetime (naive ones are UTC), or None
    when ``value`` is not a moment (empty, a bare day, unreadable)."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str) and "T" in value:
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(UK_TIME)


def long_date(value):
    """``2026-11-27`` → ``27 November 2026``; a moment → its day in UK time (a score set at
    23:30 UTC on 30 June was set on 1 July); empty → ``""``; anything else as it is."""
    at = uk_moment(value)
    if at is not None:
        day = at.date()
    else:
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value or "")
    return f"{day.day} {day:%B %Y}"


def moment(value):
    """``2026-07-06T09:05:00+00:00`` → ``6 July 2026 at 10:05`` (UK time); empty → ``""``."""
    at = uk_moment(value)
    if at is None:
        return long_date(value)
    return f"{long_date(at)} at {at:%H:%M}"


# The units a length of time is told in, largest first (a week is told in days: "12 days").
DURATION_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def duration_words(seconds):
    """A length of time in words, in its two largest units with no zero parts: ``45
    minutes``, ``3 hours 10 minutes``, ``1 day 2 hours``, ``12 days`` (the part below the
    minute is dropped); under a minute ``less than a minute``; None → ``""``."""
    if seconds is None:
        return ""
    left = int(max(0, seconds))
    counts = []
    for unit, length in DURATION_UNITS:
        counts.append((unit, left // length))
        left %= length
    largest = next((i for i, (_, count) in enumerate(counts) if count), None)
    if largest is None:
        return "less than a minute"
    return " ".join(f"{count} {unit}{'' if count == 1 else 's'}"
                    for unit, count in counts[largest:largest + 2] if count)

"""What a deployment configures (``Settings``) and the working calendar it sets: send windows,
working time for SLAs, local clocks. Reading the settings from configuration is
``services/notifications/config.py``'s job; here they are plain values."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain import RuleBroken


@dataclass(frozen=True)
class Settings:
    """What a deployment configures; defaults as the issue says."""
    time_zone: str = "Europe/London"
    window_days: tuple = (0, 1, 2, 3, 4)  # Monday..Friday
    window_start: time = time(8, 0)
    window_end: time = time(18, 30)
    bank_holidays: frozenset = frozenset()
    digest_time: time = time(8, 0)
    summary_weekday: int = 0  # the weekly network summary goes out on Mondays
    escalation_sla_hours: float = 24.0
    overdue_escalation_days: int = 2
    max_attempts: int = 5
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    send_lease_seconds: float = 60.0
    base_url: str = "http://localhost:8004"  # this service (one-click unsubscribe)
    web_url: str = "http://localhost:8005"  # the web front end: every link in a mail's body
    unsubscribe_secret: str = field(default="", repr=False)
    allow_private_endpoints: bool = False
    # After a webhook secret is rotated, the old one signs beside the new for this long.
    webhook_rotation_overlap_hours: float = 24.0

    @property
    def webhook_rotation_overlap(self):
        return timedelta(hours=self.webhook_rotation_overlap_hours)

    @property
    def working_day_hours(self):
        start = datetime.combine(date(2000, 1, 3), self.window_start)
        return (datetime.combine(date(2000, 1, 3), self.window_end) - start).total_seconds() / 3600


def parse_clock(text, what):
    """``"08:00"`` → ``time(8, 0)``; a ``RuleBroken`` naming ``what`` otherwise."""
    try:
        hours, minutes = (int(part) for part in str(text).split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        raise RuleBroken(f"{what} must be a time of day such as 08:00",
                         {what: [f"{text!r} is not HH:MM"]}) from None


def zone(name, what="time_zone"):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RuleBroken(f"unknown time zone {name!r}",
                         {what: [f"{name!r} is not an IANA time zone such as Europe/London"]}
                         ) from None


class WorkingCalendar:
    """Working hours in one time zone: the send window, and the clock SLAs are counted in."""

    def __init__(self, settings, time_zone=None):
        self.settings = settings
        self.zone = zone(time_zone or settings.time_zone)

    def _window_on(self, day):
        """(opens, closes) as aware datetimes on local ``day``, or None on a day off."""
        if day.weekday() not in self.settings.window_days or day in self.settings.bank_holidays:
            return None
        return (datetime.combine(day, self.settings.window_start, self.zone),
                datetime.combine(day, self.settings.window_end, self.zone))

    def is_open(self, moment):
        window = self._window_on(moment.astimezone(self.zone).date())
        return window is not None and window[0] <= moment < window[1]

    def next_opening(self, moment):
        """``moment`` if the window is open then, else when it next opens (UTC)."""
        day = moment.astimezone(self.zone).date()
        for offset in range(0, 400):
            window = self._window_on(day + timedelta(days=offset))
            if window is None:
                continue
            if moment < window[1]:
                return max(moment, window[0]).astimezone(timezone.utc)
        raise RuleBroken("the send window never opens: check the working days and holidays")

    def add_working_hours(self, moment, hours):
        """The moment ``hours`` of working time after ``moment`` (UTC): the clock runs only
        inside the window, so 24 working hours from Friday 17:00 land mid-week."""
        remaining = timedelta(hours=hours)
        current = self.next_opening(moment)
        while True:
            closes = self._window_on(current.astimezone(self.zone).date())[1]
            if current + remaining <= closes:
                return (current + remaining).astimezone(timezone.utc)
            remaining -= closes - current
            current = self.next_opening(closes + timedelta(microseconds=1))

    def add_working_days(self, moment, days):
        return self.add_working_hours(moment, days * self.settings.working_day_hours)

    def next_local_time(self, after, clock, weekday=None):
        """The first moment strictly after ``after`` at local ``clock`` (on ``weekday``)."""
        day = after.astimezone(self.zone).date()
        for offset in range(0, 15):
            candidate = datetime.combine(day + timedelta(days=offset), clock, self.zone)
            if candidate > after and (weekday is None or candidate.weekday() == weekday):
                return candidate.astimezone(timezone.utc)
        raise AssertionError("unreachable: a weekday recurs within a fortnight")


def calendar_for(recipient, settings):
    return WorkingCalendar(settings, recipient.get("time_zone") or settings.time_zone)


def quiet_until(recipient, moment, settings):
    """When the person's quiet hours that hold ``moment`` end (UTC), or None: outside them, or
    none set. Quiet hours (``quiet_start``, ``quiet_end``, HH:MM) are on the clock of the
    person's time zone, and run overnight when the end is before the start (22:00 to 07:00)."""
    if not recipient.get("quiet_start") or not recipient.get("quiet_end"):
        return None
    local_zone = zone(recipient.get("time_zone") or settings.time_zone)
    start = parse_clock(recipient["quiet_start"], "quiet_start")
    end = parse_clock(recipient["quiet_end"], "quiet_end")
    local = moment.astimezone(local_zone)
    clock, day = local.time(), local.date()
    if start < end:
        inside = start <= clock < end
    else:
        inside = clock >= start or clock < end
        if clock >= start:
            day += timedelta(days=1)  # they end tomorrow morning
    if not inside:
        return None
    return datetime.combine(day, end, local_zone).astimezone(timezone.utc)

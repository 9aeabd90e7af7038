"""Who hears what, when: the notifications domain, plain Python on dicts (see
``shared/domain.py``): its functions decide, the repository stores.

- ``settings``: what a deployment configures, and the working calendar (send windows, SLAs)
- ``recipients``: people, who may see or manage them, how they are reached
- ``routing``: routes, rules, preferences, and audiences in plain terms
- ``planning``: one event → one plan (notifications, the summary's record), and ladders
- ``digests``: digests and the weekly network summary
- ``sending``: retries with backoff, and the events a delivery publishes
- ``events``: what is read of a loaded event, and what of it may be kept

The names below are the package's public ones, so ``domain.Settings`` and the like read as
before the split.
"""
from services.notifications.domain.digests import (SUMMARY_EVENT_TYPES, digest_clock,
                                                   digest_slot, network_summary, new_digest,
                                                   next_digest_at, seen_for_summary,
                                                   summary_window)
from services.notifications.domain.events import (THIN_FIELDS, as_aware, as_text, thin_data,
                                                  thin_envelope)
from services.notifications.domain.planning import (LADDER_HUDDLE, LADDER_OVERDUE,
                                                    REASON_DIGEST, REASON_ENDPOINT_DISABLED,
                                                    REASON_NO_CONTACT, REASON_OUTSIDE_WINDOW,
                                                    REASON_QUIET_HOURS, REASON_RESOLVED,
                                                    STATES, EventContext,
                                                    EventNeeds, EventPlan, dedupe_key,
                                                    ladder_for, ladder_step_envelope,
                                                    ladder_stopped_by, needs_of,
                                                    notifications_for, overdue_subject,
                                                    plan_event, plan_notification, step_rule)
from services.notifications.domain.recipients import (ROLES, SCOPES, check_person, has_contact,
                                                      new_recipient, own_staff_id,
                                                      signing_secrets, watcher_id)
from services.notifications.domain.routing import (AUDIENCES, CHANNELS, DEFAULT_ROUTES, MODES,
                                                   PUSH_CHANNELS, REASON_PREFERENCE_OFF,
                                                   REASON_UNSUBSCRIBED, UNROUTED, WATCHABLE,
                                                   People, Watching, audience_of, is_critical,
                                                   matching_rules, preferred_mode,
                                                   routes_for, rule_matches, watched_subjects)
from services.notifications.domain.sending import (SOURCE, after_failure, backoff_seconds,
                                                   failed_event, sent_event, trace_of)
from services.notifications.domain.settings import (Settings, WorkingCalendar, calendar_for,
                                                    parse_clock, zone)

"""The service layer of the notifications service: what its entrypoints and timers call.

Commands take (repository, principal, command, now, trace) and return what the API answers;
the periodic passes are functions of ``now``, so tests inject the clock.

- ``recipients``: people and what they follow
- ``routing``: a network's routes, a person's preferences, one-click unsubscribe
- ``inbox``: a person's in-app inbox
- ``notify``: one event → its notifications, stored once; the periodic passes (held
  notices, ladders, digests, the weekly summary)
- ``sending``: deliver what is due, retry, the audit of deliveries
- ``metrics``: what is counted

The names below are the package's public ones, so ``commands.notify`` and the like read as
before the split.
"""
from services.notifications.commands.inbox import archive, inbox, mark_read, unread_count
from services.notifications.commands.notify import (notify, release_held, run_ladders,
                                                    send_digests, send_weekly_summaries)
from services.notifications.commands.recipients import (change_recipient, get_recipient,
                                                        list_recipients, recipient_view,
                                                        register_recipient,
                                                        rotate_webhook_secret, unwatch, watch,
                                                        watched_by)
from services.notifications.commands.routing import (ANY_EVENT, event_type_description,
                                                     get_preferences, reset_route, routes_of,
                                                     set_preferences, set_route, unsubscribe,
                                                     unsubscribe_state, unsubscribe_subject)
from services.notifications.commands.sending import (Senders, deliver, deliveries,
                                                     retry_delivery)

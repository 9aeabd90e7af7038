"""What the notifications service counts (Prometheus)."""
from prometheus_client import Counter, Gauge, Histogram

NOTIFICATIONS = Counter(
    "pcn_notifications", "Notifications by channel, route and outcome (sent, failed, held, "
    "suppressed, retried, duplicate).", ["channel", "route", "outcome"])
DELIVERY_LATENCY = Histogram(
    "pcn_notification_latency_seconds", "From the event's occurred_at to the send.",
    ["channel"], buckets=(0.1, 0.5, 1, 5, 30, 60, 300, 3600, 14400, 86400, 259200))
DIGEST_SIZE = Histogram("pcn_notification_digest_items", "Items per digest sent.",
                        buckets=(1, 2, 5, 10, 20, 50, 100))
FAILED_PENDING = Gauge("pcn_notifications_failed",
                       "Notifications in state failed (waiting for an admin retry).")

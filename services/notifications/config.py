"""The notifications service's configuration, read once at start from its nameko config
(``services/config.yaml``, whose ``${VAR:default}`` entries hold every default a deployment
may override): the domain's ``Settings`` from the ``NOTIFICATIONS_*`` keys, the SMTP channel
from ``SMTP_*`` and the chart RPC's patience. The code states no default of its own for what
config.yaml gives; an empty ``NOTIFICATIONS_*`` setting keeps the ``Settings`` default."""
import hashlib
import hmac
from dataclasses import fields, replace
from datetime import date

from services.notifications.channels import EmailChannel
from services.notifications.domain.settings import Settings, parse_clock, zone

PREFIX = "NOTIFICATIONS_"
CLOCKS = ("window_start", "window_end", "digest_time")
NUMBERS = {setting.name: setting.type for setting in fields(Settings)
           if setting.type in (int, float)}


def settings_from_config(config):
    """Settings from a nameko config dict (``NOTIFICATIONS_*`` keys), checked once at start:
    an unknown key or a value of the wrong kind raises ``ValueError`` naming it."""
    given = {key[len(PREFIX):].lower(): value for key, value in config.items()
             if key.startswith(PREFIX)}
    values = {}
    for name in CLOCKS:
        if name in given:
            values[name] = parse_clock(given.pop(name), PREFIX + name.upper())
    if "bank_holidays" in given:
        values["bank_holidays"] = frozenset(date.fromisoformat(str(day))
                                            for day in given.pop("bank_holidays") or ())
    if "window_days" in given:
        values["window_days"] = tuple(int(day) for day in given.pop("window_days"))
    for name, kind in NUMBERS.items():
        if name in given:
            values[name] = _number(given.pop(name), kind, PREFIX + name.upper())
    unknown = sorted(set(given) - {setting.name for setting in fields(Settings)})
    if unknown:
        names = ", ".join(PREFIX + name.upper() for name in unknown)
        raise ValueError(f"unknown notifications settings: {names}")
    settings = Settings(**values, **given)
    zone(settings.time_zone, PREFIX + "TIME_ZONE")
    return settings


def _number(value, kind, key):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{key} must be a number, not {value!r}")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key} must be a number, not {value!r}") from None


def settings_of(config):
    """The service's ``Settings`` from its nameko config. Unset (empty) settings keep their
    defaults; without ``NOTIFICATIONS_UNSUBSCRIBE_SECRET`` the unsubscribe links are signed
    with a key derived from ``PCN_ADMIN_KEY`` (a new admin key voids old links)."""
    given = {key: value for key, value in config.items()
             if key.startswith(PREFIX) and value not in (None, "")}
    settings = settings_from_config(given)
    if not settings.unsubscribe_secret:
        derived = hmac.new(str(config["PCN_ADMIN_KEY"]).encode("utf-8"),
                           b"pcn notifications unsubscribe", hashlib.sha256).hexdigest()
        settings = replace(settings, unsubscribe_secret=derived)
    return settings


def required(config, key):
    """``config[key]``, which services/config.yaml always gives; ``ValueError`` naming the
    key when a deployment's config lacks it or leaves it empty."""
    value = config.get(key)
    if value in (None, ""):
        raise ValueError(f"{key} is not set: give it a value (services/config.yaml's "
                         f"{key} reads the environment variable {key})")
    return value


def email_channel_of(config):
    """The SMTP channel: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_SENDER`` (required),
    ``SMTP_USERNAME`` and ``SMTP_PASSWORD`` (empty: no login), ``SMTP_STARTTLS``."""
    return EmailChannel(required(config, "SMTP_HOST"), int(required(config, "SMTP_PORT")),
                        required(config, "SMTP_SENDER"),
                        username=config.get("SMTP_USERNAME") or None,
                        password=config.get("SMTP_PASSWORD") or None,
                        starttls=bool(config.get("SMTP_STARTTLS")))


def chart_timeout_of(config):
    """Seconds the chart RPC to the measurement service may take (``CHART_RPC_TIMEOUT_SECONDS``)."""
    return float(required(config, "CHART_RPC_TIMEOUT_SECONDS"))

"""The notifications service's configuration: services/config.yaml states every default once
(the code has none of its own for what it gives), and agrees with the domain's Settings."""
import re
from dataclasses import replace

import pytest

from services.notifications.config import (chart_timeout_of, email_channel_of, settings_of,
                                           settings_from_config)
from services.notifications.domain.settings import Settings
from tests.helpers import SERVICES_CONFIG, services_config_yaml


def config_yaml(monkeypatch, **environment):
    """services/config.yaml as ``nameko run`` reads it, in an environment that sets only
    ``environment``."""
    for name in set(re.findall(r"\$\{([A-Z0-9_]+)", SERVICES_CONFIG.read_text())):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return services_config_yaml()


def test_config_yaml_defaults_are_the_settings_defaults(monkeypatch):
    settings = settings_of(config_yaml(monkeypatch))
    assert replace(settings, unsubscribe_secret="") == Settings()
    assert settings.backoff_base_seconds == 30.0 and settings.unsubscribe_secret


def test_the_smtp_channel_and_the_chart_timeout_come_from_config_yaml_alone(monkeypatch):
    config = config_yaml(monkeypatch)
    email = email_channel_of(config)
    assert (email.host, email.port, email.sender) == (
        "127.0.0.1", 1025, "PCN Improvement Network <notifications@pcn.example.org>")
    assert (email.username, email.password, email.starttls) == (None, None, False)
    assert chart_timeout_of(config) == 3.0
    with pytest.raises(ValueError, match="SMTP_HOST is not set"):
        email_channel_of({**config, "SMTP_HOST": None})


def test_the_retry_backoff_base_is_set_by_its_environment_variable(monkeypatch):
    config = config_yaml(monkeypatch, NOTIFICATIONS_BACKOFF_BASE_SECONDS="45")
    assert settings_of(config).backoff_base_seconds == 45.0
    with pytest.raises(ValueError, match="NOTIFICATIONS_BACKOFF_BASE_SECONDS must be a number"):
        settings_of(config_yaml(monkeypatch, NOTIFICATIONS_BACKOFF_BASE_SECONDS="soon"))
    with pytest.raises(ValueError, match="NOTIFICATIONS_MAX_ATTEMPTS must be a number"):
        settings_from_config({"NOTIFICATIONS_MAX_ATTEMPTS": True})

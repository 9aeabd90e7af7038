"""The web service's settings, read from the nameko config (services/config.yaml: WEB_*)."""
import re
from dataclasses import dataclass

# A base URL and nothing more: scheme, host, optional port (no path, query or credentials).
BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def browser_url_of(value, issuer):
    """WEB_OIDC_BROWSER_URL: the provider's base URL as people's browsers reach it (in
    compose, the published port) when it differs from the issuer's (the name the web reaches
    it by); empty: the issuer's. ``ValueError`` naming the setting for anything but
    http(s)://host[:port]."""
    url = str(value or "").strip().rstrip("/")
    if not url:
        return issuer
    if not BASE_URL.fullmatch(url):
        raise ValueError(f"WEB_OIDC_BROWSER_URL must be http(s)://host[:port] (the OpenID "
                         f"provider as the browser reaches it), not {value!r}")
    return url


@dataclass(frozen=True)
class WebSettings:
    """Where the site is, which OpenID provider signs people in, and where the services are."""
    base_url: str
    oidc_issuer: str
    oidc_browser_url: str  # the issuer's base as browsers reach it (the same when not set)
    oidc_client_id: str
    oidc_client_key_file: str  # PEM private key for private_key_jwt; empty: one per process
    oidc_scopes: str
    projects_url: str
    measurement_url: str
    training_url: str
    notifications_url: str
    session_idle_seconds: int
    session_absolute_seconds: int
    cookie_secure: bool

    @classmethod
    def from_config(cls, config):
        def get(name, default):
            value = config.get(name)
            return default if value in (None, "") else value
        oidc_issuer = str(get("WEB_OIDC_ISSUER", "http://127.0.0.1:9400")).rstrip("/")
        return cls(
            base_url=str(get("WEB_BASE_URL", "http://localhost:8005")).rstrip("/"),
            oidc_issuer=oidc_issuer,
            oidc_browser_url=browser_url_of(config.get("WEB_OIDC_BROWSER_URL"), oidc_issuer),
            oidc_client_id=str(get("WEB_OIDC_CLIENT_ID", "pcn-web")),
            oidc_client_key_file=str(get("WEB_OIDC_CLIENT_KEY_FILE", "")),
            oidc_scopes=str(get("WEB_OIDC_SCOPES", "openid profile nationalrbacaccess")),
            projects_url=str(get("WEB_PROJECTS_URL", "http://127.0.0.1:8001")).rstrip("/"),
            measurement_url=str(get("WEB_MEASUREMENT_URL", "http://127.0.0.1:8002")).rstrip("/"),
            training_url=str(get("WEB_TRAINING_URL", "http://127.0.0.1:8003")).rstrip("/"),
            notifications_url=str(get("WEB_NOTIFICATIONS_URL",
                                      "http://127.0.0.1:8004")).rstrip("/"),
            session_idle_seconds=int(get("WEB_SESSION_IDLE_MINUTES", 30)) * 60,
            session_absolute_seconds=int(get("WEB_SESSION_ABSOLUTE_HOURS", 8)) * 3600,
            cookie_secure=str(get("WEB_COOKIE_SECURE", "false")).lower() == "true")

"""The web service's parts made once per process (nameko ``DependencyProvider``): settings,
the OpenID relying party and its client key, the person-token signer, sessions, forms being sent and the people
directory in the service's own database."""
import time

from nameko.extensions import DependencyProvider

from services.web.form_posts import FormPosts
from services.web.oidc import RelyingParty, client_key
from services.web.people import PeopleDirectory
from services.web.sessions import SessionStore
from services.web.settings import WebSettings
from shared import person_token
from shared.storage import open_database


class Site:
    def __init__(self, config, service_name, clock=time.time):
        self.settings = WebSettings.from_config(config)
        self.clock = clock
        self.database = open_database(config, service_name)
        self.relying_party = RelyingParty(self.settings,
                                          client_key(self.settings.oidc_client_key_file), clock)
        secret = person_token.secret_from(config)
        if secret is None:
            raise ValueError("the web service signs person tokens with PCN_PERSON_TOKEN_SECRET "
                             "or a secret derived from PCN_ADMIN_KEY: set one")
        self.tokens = person_token.PersonTokens(secret, clock)
        self.people = PeopleDirectory(self.database)
        self.form_posts = FormPosts(self.database, clock)
        self.sessions = SessionStore(self.database, self.settings.session_idle_seconds,
                                     self.settings.session_absolute_seconds, clock)


class WebSite(DependencyProvider):
    """Injects the process's ``Site``. Tests may pass ``clock`` (epoch seconds)."""

    def __init__(self, clock=None):
        self.clock = clock

    def setup(self):
        self.site = Site(self.container.config, self.container.service_name,
                         self.clock or time.time)

    def get_dependency(self, worker_ctx):
        return self.site

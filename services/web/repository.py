"""The web service's own storage: sessions, sign-ins in progress, people links and role
mappings, forms being sent (services/web/sessions.py, people.py and form_posts.py read and
write them)."""
from services.web.form_posts import FORM_POSTS
from services.web.sessions import SESSIONS, SIGN_INS
from shared.repository import AggregateRepository


class WebRepository(AggregateRepository):

    @staticmethod
    def ensure_indexes(database):
        database[SESSIONS].create_index([("seen_at", 1)])
        database[SIGN_INS].create_index([("started_at", 1)])
        database[FORM_POSTS].create_index([("expires_at", 1)])

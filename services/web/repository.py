"""The web service's own storage: sessions, sign-ins in progress, people links and role
mappings (services/web/sessions.py and people.py read and write them)."""
from services.web.sessions import SESSIONS, SIGN_INS
from shared.repository import AggregateRepository


class WebRepository(AggregateRepository):

    @staticmethod
    def ensure_indexes(database):
        database[SESSIONS].create_index([("seen_at", 1)])
        database[SIGN_INS].create_index([("started_at", 1)])

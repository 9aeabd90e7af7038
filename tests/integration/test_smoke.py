from services.projects.service import ProjectsService
from shared.events.catalogue import validate_envelope
from tests.helpers import EventObserver, ServiceClient


def test_http_create_reaches_broker(container_factory, service_config):
    container = container_factory(ProjectsService, service_config)
    container.start()
    observer = EventObserver(service_config["AMQP_URI"], "projects.events")
    admin = ServiceClient(service_config["WEB_SERVER_ADDRESS"])
    r = admin.post("/networks", {"id": "north-pcn", "name": "North PCN"})
    assert r.status_code == 201, r.text
    r = admin.post("/practices", {"ods_code": "F84001", "name": "Oxford Terrace", "network_id": "north-pcn"})
    assert r.status_code == 201, r.text
    r = admin.post("/api-keys", {"role": "practice", "practice_id": "F84001"})
    assert r.status_code == 201, r.text
    practice = admin.as_key(r.json()["api_key"])
    r = practice.post("/projects", {"title": "SMR", "scope": "practice", "practice_ids": ["F84001"],
                                    "aim": {"what": "SMRs to template", "how_much": "90%", "by_when": "2027-06-30"}})
    assert r.status_code == 201, r.text
    messages = observer.collect(3)
    types = [m[0]["event_type"] for m in messages]
    print(types)
    assert "project.created" in types
    for body, _ in messages:
        validate_envelope(body)

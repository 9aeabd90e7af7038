"""Fixtures for tests that run services on the real broker."""
import pytest

from services.projects.service import ProjectsService
from shared.storage import open_database
from tests.helpers import ServiceClient, started, wait_until, with_own_address


@pytest.fixture
def projects_service(container_factory, service_config):
    return started(container_factory, ProjectsService, service_config)


@pytest.fixture
def admin(projects_service, service_config):
    return ServiceClient(service_config["WEB_SERVER_ADDRESS"])


@pytest.fixture
def network(admin):
    """A network with practices F84001 and F84002 and keys for each and for its lead; a second
    network with practice Y00001."""
    assert admin.post("/networks", {"id": "north-pcn", "name": "North PCN"}).status_code == 201
    assert admin.post("/networks", {"id": "south-pcn", "name": "South PCN"}).status_code == 201
    for code, network_id in (("F84001", "north-pcn"), ("F84002", "north-pcn"),
                             ("Y00001", "south-pcn")):
        response = admin.post("/practices", {"ods_code": code, "name": f"Practice {code}",
                                             "network_id": network_id})
        assert response.status_code == 201, response.text
    keys = {}
    for code in ("F84001", "F84002", "Y00001"):
        response = admin.post("/api-keys", {"role": "practice", "practice_id": code})
        assert response.status_code == 201, response.text
        keys[code] = admin.as_key(response.json()["api_key"])
    response = admin.post("/api-keys", {"role": "network_lead", "network_id": "north-pcn"})
    keys["lead"] = admin.as_key(response.json()["api_key"])
    return keys


def practice_project(client, code, headers=None, **overrides):
    body = {"title": "Fewer repeat attendances", "scope": "practice", "practice_ids": [code],
            "aim": {"what": "frequent attenders seen by the nurse team",
                    "how_much": "from 20 to 3 visits a year", "by_when": "2027-06-30"}}
    body.update(overrides)
    return client.post("/projects", body, headers=headers)


def network_project(client, codes=("F84001", "F84002"), **overrides):
    body = {"title": "Standardise structured medication reviews", "scope": "network",
            "practice_ids": list(codes),
            "aim": {"what": "SMRs completed to the template", "how_much": "90%",
                    "by_when": "2027-09-30"}}
    body.update(overrides)
    return client.post("/projects", body)


@pytest.fixture
def measurement_config(service_config):
    return with_own_address(service_config)


@pytest.fixture
def measurement_service(container_factory, measurement_config):
    from services.measurement.service import MeasurementService

    return started(container_factory, MeasurementService, measurement_config)


@pytest.fixture
def measurement(measurement_service, measurement_config):
    """Clients of the measurement service, keyed like ``network``'s, once it knows the keys."""
    return ServiceClient(measurement_config["WEB_SERVER_ADDRESS"])


@pytest.fixture
def training_config(service_config):
    return with_own_address(service_config)


@pytest.fixture
def training_service(container_factory, training_config):
    from services.training.service import TrainingService

    return started(container_factory, TrainingService, training_config)


@pytest.fixture
def training(training_service, training_config):
    """A client of the training service (``as_key`` for the keys ``network`` issued)."""
    return ServiceClient(training_config["WEB_SERVER_ADDRESS"])


@pytest.fixture
def training_heard_of(training_service, training_config):
    """``training_heard_of(*ods_codes)`` waits until training has the projects service's
    ``practice.registered`` events of those practices (it registers no staff elsewhere)."""
    from services.training.repository import PRACTICES

    database = open_database(training_config, "training")

    def wait_for(*practice_ids):
        assert wait_until(lambda: database[PRACTICES].count_documents(
            {"_id": {"$in": list(practice_ids)}}) == len(practice_ids)), (
            f"training never heard of {practice_ids}")
    return wait_for

"""The web stack of tests/web_stack.py with the training service beside it, and staff whose
training is overdue on any day after 2020 (so nothing depends on the day the tests run): for
the dashboard's open training gaps."""
from tests.helpers import ServiceClient, started, wait_until, with_own_address
from tests.web_stack import build_stack

# Started in January and February 2020: ``introduction`` was due within 90 days, in April and
# May 2020, and nobody holds it, so both are open gaps whenever the tests run.
OVERDUE_STAFF = (("gap-f1", "F84001", "2020-01-06"), ("gap-f2", "F84002", "2020-02-03"))


def build_stack_with_training(container_factory, service_config, with_notifications=False):
    """(stack, provider process): the training service starts first, so that its queues hear
    the network and practices being registered; then the staff above are registered."""
    from services.training.service import TrainingService

    training_config = with_own_address(service_config)
    started(container_factory, TrainingService, training_config)
    stack, provider = build_stack(container_factory, {
        **service_config,
        "WEB_TRAINING_URL": f"http://{training_config['WEB_SERVER_ADDRESS']}"},
        with_notifications=with_notifications)
    stack.training_config = training_config
    lead = ServiceClient(training_config["WEB_SERVER_ADDRESS"], stack.keys["lead_key"])
    rows = [{"staff_id": staff_id, "network_id": "north-pcn", "practice_id": practice_id,
             "team": "pharmacy", "role": "clinical_pharmacist", "started_on": started_on}
            for staff_id, practice_id, started_on in OVERDUE_STAFF]
    # Training learns the practices and the lead's key from the projects service's events.
    assert wait_until(lambda: lead.post("/staff-imports", {"rows": rows}).status_code == 201,
                      timeout=30), "training never took the staff import"
    return stack, provider

"""An inbox item names the web front end's page it is about (``page``, a path), by the same
rule as its mail's links (templates.link_for), so the web does not keep a second copy."""
from services.notifications import schemas


def page_of(data):
    return schemas.NotificationView().dump({"_id": "ntf_1", "data": data})["page"]


def test_an_inbox_item_names_its_page_as_a_path():
    assert page_of({"measure_id": "msr_1", "period": "2026-11-02"}) == \
        "/measures/msr_1?period=2026-11-02"
    assert page_of({"item_id": "hud 9", "team": "reception"}) == "/huddle-items/hud%209"
    assert page_of({"gap_id": "gap_1", "staff_id": "nurse-01"}) == "/people/nurse-01/training"
    assert page_of({"practice_id": "F84001"}) is None

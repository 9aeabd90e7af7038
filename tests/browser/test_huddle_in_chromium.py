"""Huddle boards and wallboard links in real Chromium, with axe-core (WCAG 2.2 AA) on every
page and state, error states included: 0 violations.

One journey across four browsers: a practice member of F84001 adds an item at the reception
board, moves it to Doing and escalates it to the network lead (first without a reason: the
error summary); the network lead sees it in their inbox (projects to notifications by the
real event), follows the link to the item and resolves it there (the item page says how long
it took to unblock; the lead's boards page and the wallboard, how fast items are unblocked).
The practice lead issues a wallboard link; a fresh browser with no session opens it and sees
the board; the practice lead revokes it and the screen's link no longer works."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import and_wait_for_the_next_page, axe_violations
from tests.web_stack import LEAD_UID, MEMBER_UID, wait_until
from tests.work_stack import PRACTICE_LEAD_UID, work  # noqa: F401
from tools.demo_browser import headless_chromium

pytestmark = pytest.mark.timeout(240)
BOARD = "/huddle/F84001/reception"


def sign_in(driver, work, uid, path):
    """Open ``path`` signed out: the provider's form, then back at ``path``."""
    driver.get(work.web + path)
    field = WebDriverWait(driver, 15).until(
        expected_conditions.presence_of_element_located((By.NAME, "sub")))
    field.send_keys(uid + "\n")
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(work.web))


def assert_accessible(driver, page):
    violations = axe_violations(driver)
    assert violations == [], f"{page}: {violations}"


def submit(driver, css):
    """Press the button ``css`` and wait for the page the form's answer shows."""
    and_wait_for_the_next_page(driver, driver.find_element(By.CSS_SELECTOR, css).click)


def banner(driver):
    return driver.find_element(By.CSS_SELECTOR, ".nhsuk-notification-banner").text


def test_a_huddle_item_is_escalated_resolved_from_the_inbox_and_shown_on_a_wallboard(
        chromium, work):
    answer = work.lead["notifications"].post("/recipients", {
        "staff_id": "lead-01", "network_id": "north-pcn", "role": "network_lead",
        "scope": {"kind": "network", "id": "north-pcn"}})
    assert answer.status_code == 201, answer.text

    # The practice member at their team's board.
    driver = chromium
    sign_in(driver, work, MEMBER_UID, "/huddle")
    assert_accessible(driver, "the boards page with no board yet")
    submit(driver, "form[action='/huddle/open'] button")
    assert driver.title.startswith("Error: ")
    assert_accessible(driver, "the boards page refusing a board with no team")
    driver.find_element(By.ID, "team").send_keys("reception")
    submit(driver, "form[action='/huddle/open'] button")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Huddle board: reception"
    assert_accessible(driver, "the empty board")
    driver.find_element(By.ID, "description-new").send_keys("Printer jams every morning")
    submit(driver, "form[action='/huddle/F84001/reception'] button")
    assert "added to To do" in banner(driver)
    (item,) = work.practice["projects"].get("/huddle-boards/F84001",
                                            params={"team": "reception"}).json()["items"]
    card = f"#item-{item['id']}"
    submit(driver, f"{card} form[action$='/move'] input[value='doing'] ~ button")
    assert "moved" in banner(driver)
    assert "Doing (1)" in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "the board with an item in Doing")

    driver.find_element(By.CSS_SELECTOR, f"{card} summary").click()
    driver.find_element(By.ID, f"escalated_to-{item['id']}").send_keys("lead-01")
    submit(driver, f"{card} form[action$='/escalate'] button")
    assert driver.title.startswith("Error: ")
    summary = driver.find_element(By.CSS_SELECTOR, ".nhsuk-error-summary")
    assert "Why escalate" in summary.text
    assert driver.find_element(By.ID, f"escalated_to-{item['id']}").get_attribute(
        "value") == "lead-01"
    assert_accessible(driver, "the board refusing an escalation without a reason")
    driver.find_element(By.ID, f"reason-{item['id']}").send_keys("Needs a new printer")
    submit(driver, f"{card} form[action$='/escalate'] button")
    assert "escalated" in banner(driver) and not driver.title.startswith("Error")
    assert_accessible(driver, "the board with an escalated item")
    driver.get(work.web + BOARD + "?view=bottlenecks")
    assert "Printer jams" not in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "the board's bottlenecks only")

    # The network lead: the inbox, the link to the item, resolved there.
    def in_the_inbox():
        inbox = work.lead["notifications"].get("/recipients/lead-01/inbox").json()
        return any(n["data"].get("item_id") == item["id"] for n in inbox["items"])
    wait_until(in_the_inbox, "the escalation in the lead's inbox")
    with headless_chromium(window=(1280, 1000)) as leader:
        sign_in(leader, work, LEAD_UID, "/inbox")
        leader.find_element(By.CSS_SELECTOR, f"a[href='/huddle-items/{item['id']}']").click()
        WebDriverWait(leader, 15).until(lambda d: "/huddle-items/" in d.current_url)
        main = leader.find_element(By.TAG_NAME, "main").text
        assert "Printer jams every morning" in main and "Needs a new printer" in main
        assert_accessible(leader, "the item page")
        leader.find_element(By.ID, f"resolution-{item['id']}").send_keys("New printer ordered")
        submit(leader, "form[action$='/resolve'] button")
        assert "resolved" in banner(leader)
        assert leader.find_element(By.ID, "unblocked-in").text.startswith("Unblocked in ")
        assert_accessible(leader, "the resolved item page")
        leader.get(work.web + "/huddle")
        assert leader.find_elements(By.CSS_SELECTOR, f"a[href='{BOARD}']")
        assert leader.find_elements(By.CSS_SELECTOR, "select#practice_id")
        assert "In the last 90 days, 1 item was unblocked: it took " in leader.find_element(
            By.ID, "unblocking").text
        assert_accessible(leader, "the lead's boards page with a practice to choose")
    resolved = work.lead["projects"].get(f"/huddle-items/{item['id']}").json()
    assert (resolved["status"], resolved["column"]) == ("resolved", "done")

    # The practice lead issues a wallboard link; a browser with no session opens it.
    with headless_chromium(window=(1280, 1000)) as practice_lead, \
            headless_chromium(window=(1280, 1000)) as screen:
        sign_in(practice_lead, work, PRACTICE_LEAD_UID, "/huddle/F84001/devices")
        assert_accessible(practice_lead, "the devices page")
        submit(practice_lead, "form[action='/huddle/F84001/devices'] button")
        assert practice_lead.title.startswith("Error: ")
        assert_accessible(practice_lead, "the devices page refusing an empty form")
        practice_lead.find_element(By.ID, "team").send_keys("reception")
        practice_lead.find_element(By.ID, "label").send_keys("Reception office")
        submit(practice_lead, "form[action='/huddle/F84001/devices'] button")
        link = practice_lead.find_element(By.ID, "wallboard-link").get_attribute("href")
        assert_accessible(practice_lead, "the devices page with the link issued")

        screen.get(link)
        assert screen.find_element(By.TAG_NAME, "h1").text == "reception huddle board"
        main = screen.find_element(By.TAG_NAME, "main").text
        assert "Printer jams every morning" in main and "updates itself every minute" in main
        assert "1 item was unblocked" in main
        assert not screen.find_elements(By.TAG_NAME, "form")
        assert_accessible(screen, "the wallboard")

        practice_lead.get(work.web + "/huddle/F84001/devices")
        submit(practice_lead, "form[action$='/revoke'] button")
        assert "revoked" in banner(practice_lead)
        assert_accessible(practice_lead, "the devices page with the link revoked")
        screen.get(link)
        assert screen.find_element(By.TAG_NAME, "h1").text == \
            "This wallboard link does not work"
        assert "Printer" not in screen.find_element(By.TAG_NAME, "main").text
        assert_accessible(screen, "the wallboard link that no longer works")

"""The network lead's settings in real Chromium, with axe-core (WCAG 2.2 AA) on every page and
state, error states included: 0 violations. One journey on the whole network: the lead opens
Settings from the header, issues a practice key (seen once), revokes it after confirming,
defines a measure with one refused field then corrected, changes a route (refused first: nobody
would hear it), adds a watcher (refused first: nothing chosen) and edits a training requirement
with an error then saves it."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import and_wait_for_the_next_page
from tests.browser.test_inbox_in_chromium import assert_accessible, sign_in_by_keyboard_alone
from tests.web_stack import LEAD_UID
from tests.work_stack import work  # noqa: F401

pytestmark = pytest.mark.timeout(240)


def wait_for(driver, path):
    WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith(path))


def click_link(driver, text):
    driver.find_element(By.PARTIAL_LINK_TEXT, text).click()


def type_into(driver, field_id, text):
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(text)


def choose(driver, field_id):
    """A radio or checkbox, by its label (the input itself is drawn over by its label)."""
    driver.find_element(By.CSS_SELECTOR, f"label[for='{field_id}']").click()


def submit(driver, button_text):
    and_wait_for_the_next_page(driver, driver.find_element(
        By.XPATH, f"//button[normalize-space()='{button_text}']").click)


def error_links(driver):
    summary = WebDriverWait(driver, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".nhsuk-error-summary"))[0]
    assert driver.title.startswith("Error: ")
    return {a.get_attribute("hash"): a.text for a in summary.find_elements(By.TAG_NAME, "a")}


def banner(driver):
    return driver.find_element(By.CSS_SELECTOR, ".nhsuk-notification-banner").text


def test_the_lead_changes_the_networks_settings(chromium, work):
    driver = chromium
    sign_in_by_keyboard_alone(driver, work.stack, LEAD_UID)
    driver.find_element(By.CSS_SELECTOR, "header a[href='/settings']").click()
    wait_for(driver, "/settings")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Settings"
    assert_accessible(driver, "settings")

    # Practices and keys: a refused person key, then a practice key seen once, then revoked.
    click_link(driver, "Practices and their keys")
    wait_for(driver, "/settings/practices")
    assert_accessible(driver, "practices and keys")
    type_into(driver, "person_key-label", "Kim's app")
    submit(driver, "Issue a person key")
    links = error_links(driver)
    assert links["#person_key-staff_id"].startswith("Staff ID: ")
    assert driver.find_element(By.ID, "person_key-label").get_attribute("value") == "Kim's app"
    assert_accessible(driver, "practices and keys with an error")

    Select(driver.find_element(By.ID, "practice_key-practice_id")).select_by_value("F84002")
    type_into(driver, "practice_key-label", "Browser uploads")
    submit(driver, "Issue a practice key")
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.ID, "issued-key"))
    key = driver.find_element(By.ID, "issued-key").text
    assert key and "It will not be shown again" in driver.page_source
    assert_accessible(driver, "a new key")
    click_link(driver, "Back to practices and their keys")
    wait_for(driver, "/settings/practices")
    assert key not in driver.page_source
    driver.find_element(By.XPATH, "//tr[td[1][normalize-space()='Browser uploads']]//a").click()
    WebDriverWait(driver, 15).until(lambda d: "/revoke" in d.current_url)
    assert driver.find_element(By.TAG_NAME, "h1").text == \
        "Are you sure you want to revoke the key “Browser uploads”?"
    assert_accessible(driver, "revoke confirmation")
    submit(driver, "Yes, revoke this key")
    wait_for(driver, "/settings/practices?done=revoked")
    assert "The key is revoked" in banner(driver)
    row = driver.find_element(By.XPATH, "//tr[td[1][normalize-space()='Browser uploads']]")
    assert "Revoked" in row.text
    assert_accessible(driver, "practices after revoking")

    # A measure: a proportion's target of 150% refused, then 80%.
    driver.get(work.web + "/settings")
    click_link(driver, "Measures")
    wait_for(driver, "/settings/measures")
    assert_accessible(driver, "measures")
    click_link(driver, "Define a measure")
    WebDriverWait(driver, 15).until(lambda d: "/settings/measures/new" in d.current_url)
    assert_accessible(driver, "define a measure")
    type_into(driver, "name", "SMRs completed to the template")
    choose(driver, "type-2")  # process
    choose(driver, "value_kind-2")  # proportion
    type_into(driver, "unit", "reviews")
    choose(driver, "frequency")  # weekly
    type_into(driver, "operational_definition", "Structured medication reviews on the "
              "template, of all completed in the week.")
    choose(driver, "improvement")  # higher is better
    type_into(driver, "target", "150")
    submit(driver, "Define the measure")
    links = error_links(driver)
    assert list(links) == ["#target"]
    assert links["#target"] == "Target: enter a percentage from 0 to 100"
    assert driver.find_element(By.ID, "name").get_attribute("value") == \
        "SMRs completed to the template"
    assert driver.find_element(By.ID, "value_kind-2").is_selected()
    assert_accessible(driver, "define a measure with an error")
    type_into(driver, "target", "80")
    submit(driver, "Define the measure")
    wait_for(driver, "/settings/measures?done=measure")
    assert "The measure is defined." in banner(driver)
    row = driver.find_element(By.XPATH, "//tr[td[1][normalize-space()="
                                        "'SMRs completed to the template']]")
    assert "80%" in row.text and "Higher is better" in row.text
    assert_accessible(driver, "measures after defining one")

    # A route: escalated huddle items to the network leads instead, in the digest.
    assert work.lead["notifications"].post("/recipients", {
        "staff_id": "lead-01", "network_id": "north-pcn", "role": "network_lead",
        "scope": {"kind": "network", "id": "north-pcn"}}).status_code == 201
    driver.get(work.web + "/settings")
    click_link(driver, "Notification routes and watchers")
    wait_for(driver, "/settings/notifications")
    assert_accessible(driver, "notification routes and watchers")
    driver.find_element(By.CSS_SELECTOR, "a[href='/settings/notifications/routes/"
                                         "huddle.item_escalated']").click()
    WebDriverWait(driver, 15).until(lambda d: "/routes/huddle" in d.current_url)
    assert_accessible(driver, "change a route")
    choose(driver, "rules-0-audience-5")  # the named leader unticked: nobody hears it
    choose(driver, "rules-0-mode-2")  # in the digest
    submit(driver, "Save the route")
    links = error_links(driver)
    assert list(links) == ["#rules-0-audience"]
    assert links["#rules-0-audience"].startswith("Rule “escalated”, who hears it: ")
    assert driver.find_element(By.ID, "rules-0-mode-2").is_selected()
    assert_accessible(driver, "change a route with an error")
    choose(driver, "rules-0-audience")  # network leads
    submit(driver, "Save the route")
    wait_for(driver, "/settings/notifications?done=route")
    assert "The route is changed." in banner(driver)
    row = driver.find_element(By.XPATH, "//tr[td[1][normalize-space()="
                                        "'A huddle item is escalated']]")
    assert "Network leads" in row.text and "Changed" in row.text
    assert_accessible(driver, "routes after a change")
    routes = work.lead["notifications"].get("/networks/north-pcn/routes").json()["items"]
    escalated = next(r for r in routes if r["event_type"] == "huddle.item_escalated")
    assert escalated["rules"][0]["audience"] == ["network_lead"]
    assert escalated["rules"][0]["mode"] == "digest"

    # A watcher: the lead follows the project (nothing chosen first: an error).
    Select(driver.find_element(By.ID, "watch-staff_id")).select_by_value("lead-01")
    submit(driver, "Add the watcher")
    assert list(error_links(driver)) == ["#watch-subject"]
    assert Select(driver.find_element(By.ID, "watch-staff_id")).first_selected_option \
        .get_attribute("value") == "lead-01"
    assert_accessible(driver, "add a watcher with an error")
    Select(driver.find_element(By.ID, "watch-subject")).select_by_value(
        f"project:{work.stack.project_id}")
    submit(driver, "Add the watcher")
    wait_for(driver, "/settings/notifications?done=watching")
    row = driver.find_element(By.XPATH, "//tr[td[1][normalize-space()='lead-01']]")
    assert "Project: " in row.text
    assert_accessible(driver, "watchers after adding one")

    # Training: 5000 days refused by the training service, then 60 saved with a coverage date.
    driver.get(work.web + "/settings")
    click_link(driver, "Training requirements and targets")
    wait_for(driver, "/settings/training")
    assert_accessible(driver, "training requirements")
    type_into(driver, "requirements-0-within_days", "5000")
    submit(driver, "Save requirements and targets")
    links = error_links(driver)
    assert list(links) == ["#requirements-0-within_days"]
    assert links["#requirements-0-within_days"].startswith("Everyone: within days: ")
    assert driver.find_element(By.ID, "requirements-0-within_days").get_attribute(
        "value") == "5000"
    assert_accessible(driver, "training requirements with an error")
    # The coverage date, the NHS.UK date input: 31 February is refused, linked to its day box.
    type_into(driver, "requirements-0-within_days", "60")
    type_into(driver, "targets-coverage-by-day", "31")
    type_into(driver, "targets-coverage-by-month", "2")
    type_into(driver, "targets-coverage-by-year", "2027")
    submit(driver, "Save requirements and targets")
    assert error_links(driver) == {"#targets-coverage-by-day": "Coverage by: Enter a real "
                                   "date, such as 6 7 2026 (day, month, year)"}
    assert_accessible(driver, "training requirements with a date that is not real")
    type_into(driver, "targets-coverage-by-month", "3")
    submit(driver, "Save requirements and targets")
    wait_for(driver, "/settings/training?done=training")
    assert "saved" in banner(driver)
    assert driver.find_element(By.ID, "requirements-0-within_days").get_attribute(
        "value") == "60"
    assert_accessible(driver, "training requirements saved")
    framework = work.lead["training"].get("/frameworks/north-pcn").json()
    assert framework["requirements"][0]["within_days"] == 60
    assert framework["targets"]["coverage"]["by"] == "2027-03-31"

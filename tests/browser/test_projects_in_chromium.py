"""Projects and PDSA cycles in real Chromium, with axe-core (WCAG 2.2 AA) on every page and
error state: 0 violations.

The network lead signs in, opens Projects from the header, opens the project, starts a PDSA
cycle without a prediction (the error summary links to the field, what was typed is kept),
adds the prediction and starts it, completes it choosing adopt with what was learned, sees
it in the PDSA log, and sets the progress score (refused first without a score)."""
import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import and_wait_for_the_next_page, axe_violations
from tests.browser.test_inbox_in_chromium import sign_in_by_keyboard_alone
from tests.web_stack import LEAD_UID, wait_until
from tests.work_stack import work  # noqa: F401

pytestmark = pytest.mark.timeout(240)


def assert_accessible(driver, page):
    violations = axe_violations(driver)
    assert violations == [], f"{page}: {violations}"


def click(driver, css):
    driver.find_element(By.CSS_SELECTOR, css).click()


def type_into(driver, field_id, text):
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(text)


def submit(driver, button_text):
    button = driver.find_element(By.XPATH, f"//button[normalize-space()='{button_text}']")
    and_wait_for_the_next_page(driver, button.click)


def error_links(driver):
    return [a.get_attribute("href").split("#")[1] for a in driver.find_elements(
        By.CSS_SELECTOR, ".nhsuk-error-summary a")]


def test_the_lead_starts_and_completes_a_pdsa_cycle_and_scores_the_project(work, chromium):
    driver = chromium
    project_id = work.stack.project_id
    wait_until(lambda: work.lead["projects"].get(f"/projects/{project_id}").json()[
        "progress_suggestion"]["reasons"][3].startswith("1 of 1 measure"),
        "projects to learn the stack's signal")
    sign_in_by_keyboard_alone(driver, work.stack, LEAD_UID)
    and_wait_for_the_next_page(driver, lambda: click(driver, "header a[href='/projects']"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Projects"
    assert_accessible(driver, "projects")

    and_wait_for_the_next_page(driver, driver.find_element(
        By.LINK_TEXT, "Standardise structured medication reviews").click)
    assert "30 September 2027" in driver.page_source
    chart = driver.find_element(By.CSS_SELECTOR, "img.mdc-chart")
    assert chart.get_attribute("alt").startswith("Statistical process control chart of")
    assert driver.execute_script("return arguments[0].naturalWidth", chart) > 0
    assert_accessible(driver, "project")

    and_wait_for_the_next_page(driver, driver.find_element(By.LINK_TEXT,
                                                           "Start a PDSA cycle").click)
    assert_accessible(driver, "new PDSA cycle")
    # The project has no change ideas listed yet: the person types one.
    type_into(driver, "change_idea", "SMR template at every review")
    type_into(driver, "plan", "Use the template for every SMR this week")
    click(driver, "input[name='practice_id'][value='F84001']")
    submit(driver, "Start the cycle")
    assert driver.title.startswith("Error: ")
    assert error_links(driver) == ["prediction"]
    assert driver.find_element(By.ID, "plan").get_attribute("value") == (
        "Use the template for every SMR this week")
    assert_accessible(driver, "new PDSA cycle, refused")
    driver.find_element(By.CSS_SELECTOR, ".nhsuk-error-summary a").click()
    assert driver.switch_to.active_element.get_attribute("id") == "prediction"
    type_into(driver, "prediction", "Two in three SMRs to the template")
    submit(driver, "Start the cycle")
    banner = driver.find_element(By.CSS_SELECTOR, ".nhsuk-notification-banner")
    assert "The PDSA cycle has started" in banner.text
    assert_accessible(driver, "project, cycle started")

    and_wait_for_the_next_page(driver, driver.find_element(By.PARTIAL_LINK_TEXT,
                                                           "Complete this cycle").click)
    assert "Your prediction: Two in three SMRs to the template" in driver.page_source
    assert_accessible(driver, "complete a PDSA cycle")
    submit(driver, "Complete the cycle")
    assert sorted(error_links(driver)) == ["act", "study_notes"]
    assert_accessible(driver, "complete a PDSA cycle, refused")
    type_into(driver, "study_notes", "Most were: the template took two minutes longer")
    click(driver, "input[name='act'][value='adopt']")
    submit(driver, "Complete the cycle")
    assert "The PDSA cycle is complete" in driver.find_element(
        By.CSS_SELECTOR, ".nhsuk-notification-banner").text
    log = driver.page_source
    assert "SMR template at every review" in log and "Completed: Adopt" in log
    assert "Most were: the template took two minutes longer" in log

    submit(driver, "Save the progress score")
    assert error_links(driver) == ["score"]
    assert_accessible(driver, "project, score refused")
    click(driver, "input[name='score'][value='2.5']")
    type_into(driver, "note", "First cycle adopted")
    submit(driver, "Save the progress score")
    assert "The progress score is saved." in driver.page_source
    assert "The score is 2.5" in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "project, scored")
    and_wait_for_the_next_page(driver, lambda: click(driver, "header a[href='/projects']"))
    assert "2.5" in driver.find_element(By.TAG_NAME, "table").text

    # A project with change ideas offers them as radios; every error at once, a date too.
    other = work.lead["projects"].post("/projects", {
        "title": "Repeat attenders", "scope": "network", "practice_ids": ["F84001", "F84002"],
        "aim": {"what": "Fewer repeat attenders", "how_much": "by half",
                "by_when": "2027-09-30"},
        "change_ideas": ["Named clinician", "Care plan review"]}).json()
    driver.get(f"{work.web}/projects/{other['id']}/pdsa-cycles/new")
    assert_accessible(driver, "new PDSA cycle with change ideas")
    type_into(driver, "started_on-day", "31")
    type_into(driver, "started_on-month", "2")
    type_into(driver, "started_on-year", "2026")
    submit(driver, "Start the cycle")
    assert error_links(driver) == ["change_idea", "plan", "prediction", "practice_id",
                                   "started_on-day"]
    assert_accessible(driver, "new PDSA cycle with change ideas, refused")
    click(driver, "input[name='change_idea'][value='Care plan review']")
    click(driver, "input[name='practice_id'][value='']")
    type_into(driver, "plan", "Review care plans of the top ten attenders")
    type_into(driver, "prediction", "Half attend less within a month")
    for part in ("day", "month", "year"):
        driver.find_element(By.ID, f"started_on-{part}").clear()
    submit(driver, "Start the cycle")
    assert "Care plan review" in driver.find_element(By.TAG_NAME, "main").text
    practice = driver.find_element(By.XPATH, "//dt[normalize-space()='Practice']"
                                             "/following-sibling::dd")
    assert practice.text == "The network"  # the cycle is the network's as a whole

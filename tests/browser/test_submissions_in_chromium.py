"""The week's submissions in real Chromium, with axe-core (WCAG 2.2 AA) on every state: the
form, its error state, the success banner, a correction's audit trail, the CSV upload refused
whole: 0 violations.

Keyboard alone: a practice member signs in, reaches the form from the header, types one
value wrong, sends it, follows the error summary's link (focus moves to the field), corrects
it, sends it and sees the success banner; then changes the value with a reason and reads it in
the measure's audit trail. Keys go to whatever has focus, never to an element the test picked.
The measurement service's clock is the test's, so nothing depends on the day it runs."""
import pathlib

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.test_inbox_in_chromium import (
    assert_accessible, press, replace_text, sign_in_by_keyboard_alone, tab_to, wait_for,
)
from tests.integration.test_web_submissions import (  # noqa: F401
    WEEK_DUE, measurement_clock, stored,
)
from tests.web_stack import LEAD_UID, MEMBER_UID
from tests.work_stack import work  # noqa: F401

pytestmark = pytest.mark.timeout(240)


def focused_id(driver):
    return driver.switch_to.active_element.get_attribute("id")


def is_field(field_id):
    return lambda element: element.get_attribute("id") == field_id


def is_submit(element):
    return element.tag_name == "button" and element.text.strip() == "Submit values"


def wait_until_loaded(driver, heading):
    WebDriverWait(driver, 15).until(
        lambda d: heading in d.find_element(By.TAG_NAME, "h1").text)


def test_the_weeks_submission_by_keyboard_alone(chromium, work, measurement_clock):
    driver, measure_id = chromium, work.stack.measure_id
    numerator, denominator = f"{measure_id}-numerator", f"{measure_id}-denominator"
    sign_in_by_keyboard_alone(driver, work.stack, MEMBER_UID)
    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith("/submissions"),
           "the header's submissions link")
    press(driver, Keys.ENTER)
    wait_for(driver, "/submissions")
    wait_until_loaded(driver, "This week's submissions")
    assert "Week of 23 November 2026" in driver.page_source
    assert_accessible(driver, "the week's form")

    # One value wrong: the error summary names it; its link moves focus to the field.
    tab_to(driver, is_field(numerator), "the numerator")
    press(driver, "fifteen")
    tab_to(driver, is_field(denominator), "the denominator")
    press(driver, "20")
    tab_to(driver, is_submit, "Submit values")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: d.title.startswith("Error: "))
    summary = driver.find_element(By.CSS_SELECTOR, ".nhsuk-error-summary")
    assert "numerator: enter the numerator as a number" in summary.text
    assert driver.find_element(By.ID, denominator).get_attribute("value") == "20"
    assert_accessible(driver, "the week's form with an error")
    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith(f"#{numerator}"),
           "the error summary's link")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 5).until(lambda d: focused_id(d) == numerator)
    replace_text(driver, "15")
    tab_to(driver, is_submit, "Submit values")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: "saved=yes" in d.current_url)
    banner = driver.find_element(By.CSS_SELECTOR, ".nhsuk-notification-banner")
    assert "1 new, 0 corrected and 0 unchanged" in banner.text
    assert stored(work, WEEK_DUE)["numerator"] == 15
    assert_accessible(driver, "the success banner")

    # A change of the stored value, with its reason, then the audit trail.
    tab_to(driver, is_field(numerator), "the numerator")
    replace_text(driver, "16")
    tab_to(driver, is_field(f"{measure_id}-reason"), "the reason")
    press(driver, "one review was filed late")
    tab_to(driver, is_submit, "Submit values")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: "corrected=1" in d.current_url)
    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith(
        f"/submissions/{measure_id}"), "the measure's trail")
    press(driver, Keys.ENTER)
    wait_for(driver, f"/submissions/{measure_id}")
    table = driver.find_element(By.CSS_SELECTOR, "table.nhsuk-table")
    assert any(li.text.endswith("15 of 20 (75%) to 16 of 20 (80%). Reason: one review was "
                                "filed late") for li in table.find_elements(By.TAG_NAME, "li"))
    assert_accessible(driver, "the audit trail")

    # An earlier week corrected from the trail: without a reason first.
    tab_to(driver, lambda e: "period=2026-11-16" in (e.get_attribute("href") or ""),
           "the link to correct the week of 16 November")
    press(driver, Keys.ENTER)
    wait_until_loaded(driver, "Correct earlier submissions")
    assert_accessible(driver, "the correction of an earlier week")
    tab_to(driver, is_field(numerator), "the numerator")
    replace_text(driver, "19")
    tab_to(driver, is_submit, "Submit values")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: d.title.startswith("Error: "))
    assert_accessible(driver, "a correction without its reason")
    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith(f"#{measure_id}-reason"),
           "the error summary's link")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 5).until(lambda d: focused_id(d) == f"{measure_id}-reason")
    press(driver, "recounted")
    tab_to(driver, is_submit, "Submit values")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: "corrected=1" in d.current_url)
    assert stored(work, "2026-11-16")["corrections"][-1]["reason"] == "recounted"


def test_a_csv_file_with_a_bad_row_is_refused_whole(chromium, work, measurement_clock,
                                                    tmp_path):
    """As the network lead, who picks the practice first."""
    driver, measure_id = chromium, work.stack.measure_id
    sign_in_by_keyboard_alone(driver, work.stack, LEAD_UID)
    driver.get(work.stack.web + "/submissions")
    wait_until_loaded(driver, "Choose a practice")
    assert_accessible(driver, "the lead's choice of practice")
    driver.find_element(By.CSS_SELECTOR, "a[href='/submissions?practice_id=F84001']").click()
    wait_until_loaded(driver, "This week's submissions")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Upload a CSV file").click()
    wait_until_loaded(driver, "Upload a CSV file")
    assert driver.current_url.endswith("/submissions/upload?practice_id=F84001")
    assert_accessible(driver, "the upload form")
    bad = pathlib.Path(tmp_path) / "week.csv"
    bad.write_text("period,numerator,denominator\n2026-11-23,15,20\n2026-11-30,12,0\n")
    Select(driver.find_element(By.ID, "measure_id")).select_by_value(measure_id)
    driver.find_element(By.ID, "file").send_keys(str(bad))
    driver.find_element(By.CSS_SELECTOR, "form[action='/submissions/upload'] button").click()
    WebDriverWait(driver, 15).until(lambda d: d.title.startswith("Error: "))
    refused = driver.find_element(By.ID, "refused-rows")
    assert "3" in refused.text and "denominator" in refused.text
    assert "nothing was stored" in driver.find_element(
        By.CSS_SELECTOR, ".nhsuk-error-summary").text
    assert stored(work, WEEK_DUE) is None
    assert_accessible(driver, "the upload refused")

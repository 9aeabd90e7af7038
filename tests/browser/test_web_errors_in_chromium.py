"""The dashboard's open training gaps and the "Page not found" page in real Chromium, signed
in and signed out: axe-core (WCAG 2.2 AA) finds 0 violations on each."""
import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import axe_violations
from tests.browser.test_web_in_chromium import sign_in_by_keyboard
# The same services as the HTTP-level dashboard and error tests (a fixture).
from tests.integration.test_web_dashboard_and_errors import stack  # noqa: F401
from tests.web_stack import LEAD_UID

pytestmark = pytest.mark.timeout(180)


def test_training_gaps_and_page_not_found_are_accessible(chromium, stack):
    driver = chromium
    driver.get(stack.web + "/no/such/page")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Page not found"
    assert driver.title == "Page not found – PCN Improvement Network"
    assert axe_violations(driver) == [], "not found, signed out"
    sign_in_by_keyboard(driver, stack, LEAD_UID)
    gaps = driver.find_element(By.ID, "training-gaps")
    assert gaps.find_element(By.TAG_NAME, "h2").text == "Open training gaps"
    assert "Staff gap-f1: Introduction, due 5 April 2020" in gaps.text
    assert axe_violations(driver) == [], "dashboard with training gaps"
    gaps.find_element(By.LINK_TEXT, "Staff gap-f1").click()
    assert driver.current_url == stack.web + "/people/gap-f1/training"
    assert "gap-f1" in driver.find_element(By.TAG_NAME, "h1").text  # their training record
    driver.back()
    driver.get(stack.web + "/measures/no-such-measure/and/more")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Page not found"
    assert "Priya Shah" in driver.find_element(By.TAG_NAME, "header").text
    assert axe_violations(driver) == [], "not found, signed in"
    driver.find_element(By.LINK_TEXT, "Go to the network dashboard").click()
    assert driver.find_element(By.TAG_NAME, "h1").text == "north-pcn: network dashboard"

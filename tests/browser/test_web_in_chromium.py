"""The web front end in real Chromium: a lead signs in through the local OpenID provider by
keyboard, sees the Making Data Count table, opens a measure and its charts; a practice member
of practice A gets 404 for practice B's chart; sign-out ends the session. Every page is checked
with axe-core (WCAG 2.2 AA): 0 violations."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import axe_violations
from tests.integration.test_web import stack  # noqa: F401 (the same services)
from tests.web_stack import LEAD_UID, MEMBER_UID, NOBODY_UID

pytestmark = pytest.mark.timeout(180)




def sign_in_by_keyboard(driver, stack, uid, path="/"):
    """Open ``path`` signed out: the provider's form, typed into and sent with Enter."""
    driver.get(stack.web + path)
    field = WebDriverWait(driver, 15).until(
        expected_conditions.presence_of_element_located((By.NAME, "sub")))
    assert driver.current_url.startswith(stack.provider)
    field.send_keys(uid, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(stack.web))


def assert_accessible(driver, page):
    violations = axe_violations(driver)
    assert violations == [], f"{page}: {violations}"


def test_the_lead_signs_in_sees_the_table_opens_a_measure_and_signs_out(chromium, stack):
    driver = chromium
    sign_in_by_keyboard(driver, stack, LEAD_UID)
    assert driver.find_element(By.TAG_NAME, "h1").text == "north-pcn: network dashboard"
    table = driver.find_element(By.CSS_SELECTOR, "table.mdc-table")
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers == ["Measure", "Target", "Network (pooled)", "F84001", "F84002"]
    icons = table.find_elements(By.CSS_SELECTOR, "tbody img")
    assert icons and all(icon.get_attribute("alt") for icon in icons)
    assert any("special-cause improvement" in i.get_attribute("alt") for i in icons)
    assert_accessible(driver, "dashboard")
    # Keyboard: the measure's link, focused by tabbing, opened with Enter.
    link = driver.find_element(By.LINK_TEXT, "SMRs completed to the standard template")
    link.send_keys(Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: "/measures/" in d.current_url)
    charts = driver.find_elements(By.CSS_SELECTOR, "img.mdc-chart")
    assert len(charts) == 3  # pooled, F84001, F84002
    WebDriverWait(driver, 30).until(lambda d: all(
        d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", c)
        for c in charts))
    assert "special-cause improvement since" in driver.find_element(
        By.CSS_SELECTOR, "p.nhsuk-body-l").text
    assert_accessible(driver, "measure page")
    driver.find_element(By.CSS_SELECTOR, "button.nhsuk-header__account-button").click()
    WebDriverWait(driver, 15).until(lambda d: not d.current_url.startswith(
        stack.web + "/measures"))
    driver.get(stack.web + "/")
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(stack.provider))


def test_a_practice_member_gets_404_for_another_practice(chromium, stack):
    driver = chromium
    sign_in_by_keyboard(driver, stack, MEMBER_UID,
                        f"/measures/{stack.measure_id}")
    assert "/measures/" in driver.current_url  # landed where the link pointed
    assert len(driver.find_elements(By.CSS_SELECTOR, "img.mdc-chart")) == 2  # pooled, F84001
    assert_accessible(driver, "measure page (practice member)")
    driver.get(f"{stack.web}/measures/{stack.measure_id}/chart.svg?practice_id=F84002")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Page not found"
    assert_accessible(driver, "not found")


def test_no_usable_role_and_the_signed_out_pages_are_accessible(chromium, stack):
    driver = chromium
    sign_in_by_keyboard(driver, stack, NOBODY_UID)
    assert driver.find_element(By.TAG_NAME, "h1").text == "You have no access to this service"
    assert_accessible(driver, "no access")
    for path in ("/signed-out", "/accessibility"):
        driver.get(stack.web + path)
        assert_accessible(driver, path)

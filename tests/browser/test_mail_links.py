"""Links taken from real mails (the notifications service's SMTP output) followed in real
Chromium: signed out, a capability-gap mail's link goes through sign-in at the local OpenID
provider (by keyboard) and lands on the person's training record; the signal's and the
escalation's links open the measure at that period and the huddle item; a "Stop these emails"
link opens the unsubscribe page signed out, and its button (pressed by keyboard) leads to the
done page. axe-core (WCAG 2.2 AA) finds 0 violations on every new page."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.test_web_in_chromium import assert_accessible, sign_in_by_keyboard
from tests.mail_links_stack import SIGNAL_PERIOD, links_of, path_of
from tests.integration.test_web_links import stack  # noqa: F401 (the same services)
from tests.web_stack import LEAD_UID

pytestmark = pytest.mark.timeout(240)




def test_a_gap_mails_link_signs_in_and_lands_on_the_training_record(chromium, stack):
    driver = chromium
    (record_link, _), _ = links_of(stack.mail_about("capability gap"))
    assert record_link == f"{stack.web}/people/gap-f1/training"
    sign_in_by_keyboard(driver, stack, LEAD_UID, path_of(record_link))
    assert driver.current_url == record_link  # landed where the mail pointed
    assert driver.find_element(By.TAG_NAME, "h1").text == "gap-f1"
    rows = [row.text for row in driver.find_elements(
        By.CSS_SELECTOR, "table.nhsuk-table tbody tr")]
    assert rows and rows[0].startswith("Introduction") and rows[0].endswith("Overdue")
    assert_accessible(driver, "training record")

    (signal_link, _), _ = links_of(stack.mail_about("signal of concern"))
    driver.get(signal_link)
    assert driver.current_url == signal_link
    assert f"Opened at the period starting {SIGNAL_PERIOD}" in driver.find_element(
        By.ID, "maincontent").text
    assert_accessible(driver, "measure page at the signal's period")

    (item_link, _), _ = links_of(stack.mail_about("Huddle item"))
    driver.get(item_link)
    assert driver.current_url == item_link
    assert "template missing in EMIS" in driver.find_element(By.TAG_NAME, "h1").text


def test_the_unsubscribe_link_works_signed_out_in_the_nhs_design(chromium, stack):
    driver = chromium
    (_, unsubscribe_link), _ = links_of(stack.mail_about("signal of concern"))
    driver.get(unsubscribe_link)  # a fresh browser: no session
    assert driver.current_url == unsubscribe_link
    assert driver.find_element(By.TAG_NAME, "h1").text == "Unsubscribe"
    assert "Stop emails about signals on the measures you follow?" in driver.page_source
    assert_accessible(driver, "unsubscribe page")
    button = driver.find_element(By.CSS_SELECTOR, "form button.nhsuk-button")
    button.send_keys(Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: "/unsubscribe/done" in d.current_url)
    assert driver.find_element(By.TAG_NAME, "h1").text == "You are unsubscribed"
    assert_accessible(driver, "unsubscribed page")
    preferences = stack.notifications.get("/recipients/lead-01/preferences").json()
    assert preferences["unsubscribed"] == ["measurement.signal_detected"]

    driver.get(unsubscribe_link[:-2] + "xx")
    assert driver.find_element(By.TAG_NAME, "h1").text == "This unsubscribe link is not valid"
    assert_accessible(driver, "unsubscribe link not valid")

"""The inbox and the notification preferences in real Chromium, with axe-core (WCAG 2.2 AA)
on every page and state, error states included: 0 violations.

Keyboard alone: the person signs in, opens the inbox from the header, marks an item read and
archives it with Tab and Enter only (keys sent to whatever has focus, never to an element the
test picked), and the header's unread count goes down. The item is put there by a real event
(a huddle item escalated to the person, through projects and notifications). The preferences
form shows the NHS.UK error summary for values the notifications service refuses, moves focus
to the field from the summary's link, and saves good values (quiet hours overnight)."""
import re

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import axe_violations
# The same services, network and people as the HTTP-level inbox tests (fixtures).
from tests.integration.test_web_inbox import (  # noqa: F401
    LEAD_STAFF, MEMBER_STAFF, Network, network, stack,
)
from tests.web_stack import LEAD_UID, MEMBER_UID

pytestmark = pytest.mark.timeout(180)
MAX_TABS = 200






def assert_accessible(driver, page):
    violations = axe_violations(driver)
    assert violations == [], f"{page}: {violations}"


def press(driver, *keys):
    """Keys to whatever has focus, as a person at a keyboard would."""
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver, is_it, what):
    """Tab from where focus is until ``is_it(focused element)``; fails after MAX_TABS."""
    for _ in range(MAX_TABS):
        press(driver, Keys.TAB)
        if is_it(driver.switch_to.active_element):
            return driver.switch_to.active_element
    raise AssertionError(f"{what} is not reachable by Tab")


def replace_text(driver, text):
    """Select all of the focused field (Ctrl+A) and type ``text`` over it."""
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL) \
        .send_keys(text).perform()


def form_action(element):
    form = element.find_elements(By.XPATH, "ancestor::form")
    return form[0].get_attribute("action") if form else ""


def sign_in_by_keyboard_alone(driver, stack, uid):
    """Open the site signed out; on the provider's form Tab to the user field, type, Enter."""
    driver.get(stack.web + "/")
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(stack.provider)
                                    and d.find_elements(By.NAME, "sub"))
    def is_the_field(element):
        return element.tag_name == "input" and element.get_attribute("name") == "sub"
    if not is_the_field(driver.switch_to.active_element):  # it has autofocus
        tab_to(driver, is_the_field, "the provider's user field")
    press(driver, uid, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(stack.web))


def header_unread(driver):
    link = driver.find_element(By.CSS_SELECTOR, "header a[href='/inbox']")
    return int(re.search(r"\((\d+) unread\)", link.text).group(1))


def wait_for(driver, path):
    WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith(path))


def test_the_inbox_by_keyboard_alone(chromium, stack, network):
    driver = chromium
    item_id, notification_id = network.escalate_to(LEAD_STAFF, "no printer toner")
    sign_in_by_keyboard_alone(driver, stack, LEAD_UID)
    before = header_unread(driver)
    assert before >= 1

    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith("/inbox"),
           "the header's inbox link")
    press(driver, Keys.ENTER)
    wait_for(driver, "/inbox")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Your inbox"
    row = driver.find_element(By.ID, f"item-{notification_id}")
    assert f"Huddle item {item_id}" in row.text and "Unread" in row.text
    assert_accessible(driver, "inbox")

    tab_to(driver, lambda e: e.tag_name == "button" and form_action(e).endswith(
        f"/inbox/{notification_id}/read"), "Mark as read")
    press(driver, Keys.ENTER)
    wait_for(driver, "/inbox?done=read")
    assert header_unread(driver) == before - 1
    assert "Marked as read." in driver.find_element(
        By.CSS_SELECTOR, ".nhsuk-notification-banner").text
    assert "Read" in driver.find_element(By.ID, f"item-{notification_id}").text
    assert not driver.find_elements(
        By.CSS_SELECTOR, f"form[action='/inbox/{notification_id}/read']")
    assert_accessible(driver, "inbox after marking read")

    tab_to(driver, lambda e: e.tag_name == "button" and form_action(e).endswith(
        f"/inbox/{notification_id}/archive"), "Archive")
    press(driver, Keys.ENTER)
    wait_for(driver, "/inbox?done=archived")
    assert not driver.find_elements(By.ID, f"item-{notification_id}")
    assert header_unread(driver) == before - 1  # it was read already
    assert_accessible(driver, "inbox after archiving")

    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith("/inbox?archived=yes"),
           "the archived notifications link")
    press(driver, Keys.ENTER)
    wait_for(driver, "/inbox?archived=yes")
    assert "Archived" in driver.find_element(By.ID, f"item-{notification_id}").text
    assert_accessible(driver, "archived notifications")


def test_preferences_show_an_error_summary_then_save(chromium, stack, network):
    driver = chromium
    sign_in_by_keyboard_alone(driver, stack, LEAD_UID)
    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith("/preferences"),
           "the header's preferences link")
    press(driver, Keys.ENTER)
    wait_for(driver, "/preferences")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Your notification preferences"
    assert_accessible(driver, "preferences")

    # Refused by the notifications service: an hour past 23 and a zone that does not exist.
    tab_to(driver, lambda e: e.get_attribute("id") == "by_channel-email", "Email's radios")
    press(driver, Keys.DOWN, Keys.DOWN)  # "In my daily digest"
    tab_to(driver, lambda e: e.get_attribute("id") == "digest_time", "Digest time")
    press(driver, "25:00", Keys.TAB, "Mars/Olympus", Keys.ENTER)
    summary = WebDriverWait(driver, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".nhsuk-error-summary"))[0]
    assert driver.title.startswith("Error: ")
    links = {a.get_attribute("hash"): a.text
             for a in summary.find_elements(By.CSS_SELECTOR, "a")}
    assert links["#digest_time"].startswith("Digest time: a time of day as HH:MM")
    assert links["#time_zone"].startswith("Time zone: 'Mars/Olympus' is not an IANA time zone")
    assert "Saved: how each channel reaches you" in summary.text
    # The summary has focus (NHS.UK frontend moves it there), and its links reach the fields.
    WebDriverWait(driver, 5).until(lambda d: "nhsuk-error-summary" in (
        d.switch_to.active_element.get_attribute("class") or ""))
    assert "a time of day as HH:MM" in driver.find_element(By.ID, "digest_time-error").text
    assert driver.find_element(By.ID, "digest_time").get_attribute("value") == "25:00"
    assert driver.find_element(By.ID, "by_channel-email-3").is_selected()
    assert_accessible(driver, "preferences with errors")
    tab_to(driver, lambda e: e.get_attribute("hash") == "#digest_time", "the summary's link")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 5).until(
        lambda d: d.switch_to.active_element.get_attribute("id") == "digest_time")

    replace_text(driver, "07:30")
    press(driver, Keys.TAB)
    replace_text(driver, "Europe/London")
    press(driver, Keys.TAB)
    replace_text(driver, "22:00")  # quiet hours, overnight
    press(driver, Keys.TAB)
    replace_text(driver, "07:00")
    press(driver, Keys.ENTER)
    wait_for(driver, "/preferences?saved=yes")
    assert "Your notification preferences are saved." in driver.find_element(
        By.CSS_SELECTOR, ".nhsuk-notification-banner").text
    assert driver.find_element(By.ID, "digest_time").get_attribute("value") == "07:30"
    assert driver.find_element(By.ID, "time_zone").get_attribute("value") == "Europe/London"
    assert driver.find_element(By.ID, "by_channel-email-3").is_selected()
    assert_accessible(driver, "preferences saved")
    recipient = network.notifications.get(f"/recipients/{LEAD_STAFF}").json()
    assert (recipient["digest_time"], recipient["time_zone"]) == ("07:30", "Europe/London")
    assert (recipient["quiet_start"], recipient["quiet_end"]) == ("22:00", "07:00")


def test_an_empty_inbox_and_no_inbox_at_all_are_accessible(chromium, stack):
    driver = chromium
    # Only the practice member is on the notification list, and nothing has reached them.
    Network(stack).register(MEMBER_STAFF, role="leader", practice_id="F84001")
    sign_in_by_keyboard_alone(driver, stack, MEMBER_UID)
    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith("/inbox"),
           "the header's inbox link")
    press(driver, Keys.ENTER)
    wait_for(driver, "/inbox")
    assert header_unread(driver) == 0
    assert "Nothing here yet." in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "empty inbox")
    driver.get(stack.web + "/inbox?archived=yes")
    assert "Nothing is archived." in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "empty archive")
    driver.get(stack.web + "/preferences")
    assert_accessible(driver, "a practice member's preferences")
    # The lead is not on the list: the pages say so.
    driver.delete_all_cookies()
    sign_in_by_keyboard_alone(driver, stack, LEAD_UID)
    for path in ("/inbox", "/preferences"):
        driver.get(stack.web + path)
        assert "not on your network's notification list yet" in driver.find_element(
            By.TAG_NAME, "main").text
        assert_accessible(driver, f"{path}, not on the list")

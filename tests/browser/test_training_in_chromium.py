"""Training in real Chromium, with axe-core (WCAG 2.2 AA) on every page and error state: 0
violations. The practice member of F84001 opens the capability pyramid and its table, the
offerings, and a cohort of one place; enrols person A (enrolled), then person B (the waiting
list, position 1); withdraws A and sees B moved up. They mark session 1's register, upload a
register file with a bad row (refused whole, the row named by its line) and marks for a session
still ahead (refused), and assess A: refused without a level, then saved. They record A's
completion of a programme: refused short of its attendance, then recorded once the missed
session is made up, and A's record holds the level. The network lead sees the network's pyramid
and chooses a practice's. The same over HTTP: tests/integration/test_web_training.py and
tests/integration/test_web_completions.py."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import and_wait_for_the_next_page, axe_violations
from tests.browser.test_inbox_in_chromium import sign_in_by_keyboard_alone
from tests.integration.test_web_completions import PROGRAMME_TITLE, held_programme, mark
from tests.integration.test_web_training import PERSON_A, PERSON_B, TrainingWorld
from tests.web_stack import LEAD_UID, MEMBER_UID
from tests.work_stack import work  # noqa: F401

pytestmark = pytest.mark.timeout(240)


def assert_accessible(driver, page):
    violations = axe_violations(driver)
    assert violations == [], f"{page}: {violations}"


def submit(driver, button_text):
    """Press the button with this text and wait for the next page."""
    and_wait_for_the_next_page(driver, driver.find_element(
        By.XPATH, f"//button[normalize-space()='{button_text}']").click)


def banner(driver):
    return driver.find_element(By.CSS_SELECTOR, ".nhsuk-notification-banner").text


def error_summary(driver):
    summary = WebDriverWait(driver, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".nhsuk-error-summary"))[0]
    assert driver.title.startswith("Error: ")
    return {a.get_attribute("hash"): a.text for a in summary.find_elements(By.TAG_NAME, "a")}


def test_a_person_enrols_and_the_waiting_list_moves_up(chromium, work, tmp_path):  # noqa: F811
    driver = chromium
    world = TrainingWorld(work)
    web = work.stack.web
    sign_in_by_keyboard_alone(driver, work.stack, MEMBER_UID)

    driver.get(web + "/training")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Capability of practice F84001"
    chart = driver.find_element(By.CSS_SELECTOR, "img.mdc-chart")
    assert chart.get_attribute("alt").startswith("Capability pyramid of practice F84001")
    assert WebDriverWait(driver, 5).until(lambda d: chart.get_attribute("naturalWidth") != "0")
    levels = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "tbody th[scope=row]")]
    assert levels[:2] == ["Introduction", "Foundations"]
    assert driver.find_element(By.LINK_TEXT, "gap-f1").get_attribute("href").endswith(
        "/people/gap-f1/training")
    assert_accessible(driver, "capability pyramid")

    driver.find_element(By.LINK_TEXT, "Training offerings and cohorts").click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith("/training/offerings"))
    assert "1 of 1 place left" in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "offerings")
    driver.find_element(By.CSS_SELECTOR, f"a[href='{world.cohort_path}']").click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith(world.cohort_path))
    assert_accessible(driver, "a cohort with a place left")

    Select(driver.find_element(By.ID, "staff_id")).select_by_value(PERSON_A)
    submit(driver, "Enrol")
    assert f"{PERSON_A} is enrolled." in banner(driver)
    Select(driver.find_element(By.ID, "staff_id")).select_by_value(PERSON_B)
    submit(driver, "Enrol")
    assert f"{PERSON_B} joined the waiting list at position 1." in banner(driver)
    assert driver.find_element(By.ID, f"waiting-{PERSON_B}").text.startswith("1 ")
    assert "Full: 1 waiting" in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "a full cohort with a waiting list")

    submit(driver, "Enrol")  # nobody chosen: the training service names the field
    links = error_summary(driver)
    assert list(links) == ["#staff_id"] and links["#staff_id"].startswith("Person to enrol: ")
    assert driver.find_element(By.ID, "staff_id-error").is_displayed()
    assert_accessible(driver, "enrol refused")

    submit(driver, f"Withdraw {PERSON_A}")
    assert f"{PERSON_A} withdrew; {PERSON_B} moved up from the waiting list." in banner(driver)
    assert driver.find_elements(By.ID, f"enrolled-{PERSON_B}")
    assert not driver.find_elements(By.ID, f"waiting-{PERSON_B}")
    assert_accessible(driver, "after a withdrawal")

    driver.find_element(By.LINK_TEXT, "Register of session 1").click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith(world.register_path))
    assert_accessible(driver, "the register")
    driver.find_element(By.CSS_SELECTOR, f"label[for='attendance-{PERSON_B}']").click()
    submit(driver, "Save the register")
    assert "The register is saved." in banner(driver)
    assert driver.find_element(By.ID, f"attendance-{PERSON_B}").is_selected()  # Present
    bad = tmp_path / "register.csv"
    bad.write_text(f"staff_id,status\n{PERSON_B},late\n{PERSON_B},maybe\n")
    driver.find_element(By.ID, "register_file").send_keys(str(bad))
    submit(driver, "Import the file")
    links = error_summary(driver)
    assert any(text.startswith("Line 3: status: ") for text in links.values()), links
    assert set(links) == {"#register_file"}
    assert world.cohort()["enrolments"][-1]["attendance"] == {"s1": "present"}
    assert_accessible(driver, "the register file refused")
    # Session 2 is a week ahead: the training service refuses its marks, next to the person.
    driver.get(web + f"{world.cohort_path}/sessions/s2/register")
    driver.find_element(By.CSS_SELECTOR, f"label[for='attendance-{PERSON_B}']").click()
    submit(driver, "Save the register")
    links = error_summary(driver)
    assert list(links) == [f"#attendance-{PERSON_B}"] and "still ahead" in links[
        f"#attendance-{PERSON_B}"]
    assert driver.find_element(By.ID, f"attendance-{PERSON_B}").is_selected()  # kept
    assert_accessible(driver, "the register's marks refused")

    driver.get(web + f"/people/{PERSON_A}/assessment")
    assert driver.find_element(By.ID, "assessor_staff_id").get_attribute("value") == "nurse-01"
    assert_accessible(driver, "the assessment form")
    driver.find_element(By.ID, "notes").send_keys("Runs the huddle board")
    submit(driver, "Save the assessment")
    links = error_summary(driver)
    assert list(links) == ["#assessed_level"]
    assert driver.find_element(By.ID, "notes").get_attribute("value") == "Runs the huddle board"
    assert_accessible(driver, "the assessment refused")
    driver.find_element(By.CSS_SELECTOR, "a[href='#assessed_level']").click()
    WebDriverWait(driver, 5).until(
        lambda d: d.switch_to.active_element.get_attribute("id") == "assessed_level")
    driver.find_element(By.CSS_SELECTOR, "label[for='assessed_level-3']").click()  # Foundations
    submit(driver, "Save the assessment")
    assert f"Your assessment of {PERSON_A} is saved." in banner(driver)
    assert "Runs the huddle board" in driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(driver, "the training record with its assessment")
    assert world.person(PERSON_A)["assessments"][0]["assessed_level"] == "foundations"

    # A programme held, A short of its attendance: the completion is refused, then recorded.
    programme_path = f"/training/cohorts/{held_programme(world)}"
    driver.get(web + programme_path)
    and_wait_for_the_next_page(driver, driver.find_element(
        By.CSS_SELECTOR, f"a[href='{programme_path}/completion?staff_id={PERSON_A}']").click)
    assert driver.find_element(By.TAG_NAME, "h1").text == (
        f"Record that {PERSON_A} completed {PROGRAMME_TITLE}?")
    assert "Attended 1 of 2 sessions held (50%)" in driver.find_element(By.ID, "person").text
    assert_accessible(driver, "the completion to confirm")
    submit(driver, "Record completion")
    links = error_summary(driver)
    assert links == {"#person": "Person: attended 1 of 2 sessions; needs 100% (missing s2)"}
    assert_accessible(driver, "the completion refused")
    mark(world, programme_path.rsplit("/", 1)[1], "s2", "present")
    submit(driver, "Record completion")
    assert f"{PERSON_A} completed {PROGRAMME_TITLE} and now holds Improvement leader." in \
        banner(driver)
    assert "Completed " in driver.find_element(By.ID, f"enrolled-{PERSON_A}").text
    assert not driver.find_elements(By.PARTIAL_LINK_TEXT, "Record completion")
    assert_accessible(driver, "the cohort with a completion")
    and_wait_for_the_next_page(driver, driver.find_element(By.LINK_TEXT, PERSON_A).click)
    assert driver.current_url.endswith(f"/people/{PERSON_A}/training")
    levels = driver.find_element(By.XPATH, "//h2[.='Levels held']/following-sibling::table[1]")
    assert "Improvement leader" in levels.text
    assert_accessible(driver, "the training record with the level awarded")

    # The network lead: the network's pyramid, then one practice's, chosen from the list.
    driver.delete_all_cookies()
    sign_in_by_keyboard_alone(driver, work.stack, LEAD_UID)
    driver.get(web + "/training")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Capability of the network north-pcn"
    assert_accessible(driver, "the network's capability")
    Select(driver.find_element(By.ID, "practice_id")).select_by_value("F84002")
    submit(driver, "Show")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Capability of practice F84002"
    assert driver.find_element(By.LINK_TEXT, "gap-f2")
    assert_accessible(driver, "a practice's capability chosen by the lead")

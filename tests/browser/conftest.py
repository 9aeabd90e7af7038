"""Real Chromium (Debian chromium + chromium-driver, installed by tools/prepare_tests.py, never
downloaded) driven by Selenium, with axe-core (npm, node_modules/) injected into each page."""
import json
import pathlib

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

from tools.demo_browser import CHROMEDRIVER, CHROMIUM, headless_chromium

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA: every rule tagged up to it.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


@pytest.fixture
def chromium():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium is missing: `make prepare-tests` installs the Debian packages "
                    "chromium and chromium-driver")
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make web-assets` runs npm ci")
    with headless_chromium(window=(1280, 1000)) as driver:
        yield driver


def axe_violations(driver):
    """axe-core's WCAG 2.2 AA violations of the page the driver shows: [(rule, [targets])]."""
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(JSON.stringify(r.violations.map(v => [v.id, v.nodes.map(n => n.target)]))))"
        ".catch(e => done(JSON.stringify([['axe-error', [String(e)]]])));", AXE_TAGS)
    return json.loads(result)


def and_wait_for_the_next_page(driver, action, timeout=15):
    """Do ``action`` (press a form's button, follow a link) and wait until the page it leads to
    has replaced this one and finished loading.

    The old page is marked in its own window; a new document has no mark. Selenium's
    ``staleness_of`` is not enough: while Chromium swaps documents, asking about the old element
    can fail with "Node with given id does not belong to the document" instead of answering
    "stale", and that failed a CI run."""
    driver.execute_script("window.pcnqiOldPage = true;")
    action()
    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return !window.pcnqiOldPage && document.readyState === 'complete';"))

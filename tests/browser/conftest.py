"""Real Chromium (Debian chromium + chromium-driver, installed by tools/prepare_tests.py, never
downloaded) driven by Selenium, with axe-core (npm, node_modules/) injected into each page."""
import json
import pathlib
import shutil
import tempfile

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA: every rule tagged up to it.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


@pytest.fixture
def chromium():
    if not (pathlib.Path(CHROMIUM).exists() and pathlib.Path(CHROMEDRIVER).exists()):
        pytest.fail("Chromium is missing: `make prepare-tests` installs the Debian packages "
                    "chromium and chromium-driver")
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make web-assets` runs npm ci")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pcn-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def axe_violations(driver):
    """axe-core's WCAG 2.2 AA violations of the page the driver shows: [(rule, [targets])]."""
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(JSON.stringify(r.violations.map(v => [v.id, v.nodes.map(n => n.target)]))))"
        ".catch(e => done(JSON.stringify([['axe-error', [String(e)]]])));", AXE_TAGS)
    return json.loads(result)

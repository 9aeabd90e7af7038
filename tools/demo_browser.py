"""The demo's last act: the network lead signs in to the web service through the local OpenID
provider in headless Chromium, and the demo saves what they see (dashboard, measure page,
inbox, a huddle board, the training pyramid, and the week's submission form refused with its
error summary) as PNG screenshots.

Debian's ``chromium`` and ``chromium-driver`` (``make prepare-tests`` installs them), driven by
Selenium as the browser tests drive them: headless, a fresh profile, nothing downloaded, no
background networking. The provider is the one ``make dev`` runs (tools/oidc_provider); the
demo starts it when nothing answers on its port and stops it at the end.
"""
import contextlib
import pathlib
import shutil
import tempfile
import time

import requests

from tools import dev

CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMEDRIVER = pathlib.Path("/usr/bin/chromedriver")
WIDTH, MIN_HEIGHT, MAX_HEIGHT = 1280, 800, 4000
# The people of demo_users.json: the network lead signs in.
NETWORK_LEAD_SUB = "555000000001"


class NoScreenshots(Exception):
    """Something the screenshots need is missing here; the message says what to install."""


def network_lead_person():
    """The network lead of the local provider's demo_users.json (its claims)."""
    (person,) = [p for p in dev.demo_people() if p["sub"] == NETWORK_LEAD_SUB]
    return person


def link_the_lead(web_api, network_id, staff_id, practice_codes):
    """With the lead's key: link the provider's network lead to ``staff_id`` in the network,
    and map their CIS2 org code and role code to the network and its lead role (the practices'
    ODS codes are the network's practices). Returns the person."""
    person = network_lead_person()
    (grant,) = person["nhsid_nrbac_roles"]
    web_api.call("PUT", f"/people/{person['nhsid_useruid']}",
                 {"staff_id": staff_id, "network_id": network_id})
    web_api.call("PUT", f"/networks/{network_id}/role-mapping", {
        "org_codes": {grant["org_code"]: "network",
                      **{code: "practice" for code in practice_codes}},
        "role_codes": {grant["role_code"]: "network_lead"}})
    return person


@contextlib.contextmanager
def local_provider():
    """Yield the provider's URL: the running one, or one started here (stopped on exit, its
    log in a /tmp/pcn-demo-oidc-* folder)."""
    if dev.oidc_provider_answers():
        yield dev.oidc_provider_url()
        return
    log_dir = tempfile.mkdtemp(prefix="pcn-demo-oidc-")
    processes = dev.start_oidc_provider(log_dir=log_dir, announce=False)
    if not processes:
        raise NoScreenshots(".venv-oidc is missing (make web-assets builds it)")
    try:
        deadline = time.monotonic() + 30
        while not dev.oidc_provider_answers() and time.monotonic() < deadline:
            if processes["oidc-provider"].poll() is not None:
                break
            time.sleep(0.2)
        if not dev.oidc_provider_answers():
            raise NoScreenshots(f"the local OpenID provider did not start: see "
                                f"{pathlib.Path(log_dir) / 'oidc-provider.log'}")
        yield dev.oidc_provider_url()
    finally:
        dev.stop(processes)


@contextlib.contextmanager
def headless_chromium(window=(WIDTH, MIN_HEIGHT)):
    """A Selenium driver of Debian's Chromium: headless, fresh profile, no downloads, no
    background connections (this machine's network is closed); the browser tests use it too."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        raise NoScreenshots("Chromium is missing (make prepare-tests installs the Debian "
                            "packages chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pcn-demo-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
                 "--hide-scrollbars", f"--user-data-dir={profile}",
                 f"--window-size={window[0]},{window[1]}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                                  options=options)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(driver, site, provider, sub):
    """Open the site signed out; on the provider's page type ``sub`` and press Enter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(site + "/")
    field = WebDriverWait(driver, 15).until(
        expected_conditions.presence_of_element_located((By.NAME, "sub")))
    if not driver.current_url.startswith(provider):
        raise NoScreenshots(f"the site sent the browser to {driver.current_url}, not to the "
                            f"local provider {provider} (WEB_OIDC_BROWSER_URL, or "
                            f"WEB_OIDC_ISSUER when not set)")
    field.send_keys(sub, Keys.ENTER)
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(site))
    if not driver.find_elements(By.CSS_SELECTOR, "form[action^='/sign-out']"):
        heading = driver.find_elements(By.TAG_NAME, "h1")
        raise NoScreenshots(f"signing in did not finish: the site says "
                            f"'{heading[0].text if heading else driver.title}'")


def save_page(driver, url, path):
    """Open ``url``, wait for its images, and save the whole page (up to MAX_HEIGHT px tall)
    as a PNG at ``path``."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(WIDTH, MIN_HEIGHT)
    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && Array.from(document.images)"
        ".every(i => i.complete)"))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, max(MIN_HEIGHT, min(int(height), MAX_HEIGHT)))
    if not driver.save_screenshot(str(path)):
        raise NoScreenshots(f"Chromium could not save {path}")
    return driver.title


def save_refused_submission(driver, site, practice_id, path):
    """The week's submission form of ``practice_id`` sent with a numerator above its
    denominator: the page with the NHS.UK error summary, saved at ``path``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{site}/submissions?practice_id={practice_id}")
    numerators = driver.find_elements(By.CSS_SELECTOR, "input[name$='.numerator']")
    denominators = driver.find_elements(By.CSS_SELECTOR, "input[name$='.denominator']")
    if not (numerators and denominators):
        raise NoScreenshots("the submission form shows no numerator and denominator")
    for field, value in ((numerators[0], "12"), (denominators[0], "10")):
        field.clear()
        field.send_keys(value)
    numerators[0].find_element(By.XPATH, "ancestor::form").submit()
    WebDriverWait(driver, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".nhsuk-error-summary"))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, max(MIN_HEIGHT, min(int(height), MAX_HEIGHT)))
    if not driver.save_screenshot(str(path)):
        raise NoScreenshots(f"Chromium could not save {path}")
    return driver.title


def photograph_the_lead(site, sub, measure_id, practice_id, folder):
    """Sign ``sub`` in at ``site`` and save, in ``folder``, the dashboard, the measure's page,
    the inbox, the pharmacy team's huddle board and the network's training pyramid of
    ``practice_id``'s network, and that practice's week's submission form refused with its
    error summary; returns [(path, page title)]."""
    folder = pathlib.Path(folder)
    pages = [("web-dashboard.png", "/"), ("web-measure.png", f"/measures/{measure_id}"),
             ("web-inbox.png", "/inbox"),
             ("web-huddle-board.png", f"/huddle/{practice_id}/pharmacy"),
             ("web-training-pyramid.png", "/training")]
    saved = []
    with local_provider() as provider, headless_chromium() as driver:
        sign_in(driver, site, provider, sub)
        for name, path in pages:
            title = save_page(driver, site + path, folder / name)
            saved.append((folder / name, title))
        name = "web-submission-error.png"
        saved.append((folder / name, save_refused_submission(driver, site, practice_id,
                                                             folder / name)))
    return saved


def site_answers(site):
    try:
        return requests.get(site + "/health", timeout=2).ok
    except requests.RequestException:
        return False


def network_lead_signs_in(web_api, network_id, practice_codes, measure_id, staff_id, folder):
    """With ``web_api`` (the site, the lead's key): the provider's network lead linked to
    ``staff_id`` and the network's role mapping set, then their dashboard, the measure's page
    and their inbox saved in ``folder``. Returns the summary line; when something is missing
    here it says what, and the demo goes on."""
    site = web_api.base
    if not site_answers(site):
        print(f"no web service answers at {site}: no screenshots")
        return {"screenshots": f"none (no web service at {site})"}
    person = link_the_lead(web_api, network_id, staff_id, practice_codes)
    try:
        saved = photograph_the_lead(site, person["sub"], measure_id, practice_codes[0], folder)
    except NoScreenshots as missing:
        print(f"no screenshots: {missing}")
        return {"screenshots": f"none ({missing})"}
    print(f"{person['name']} signed in to {site} through the local provider in headless "
          f"Chromium; saved:")
    for path, title in saved:
        print(f"  {path}: {title}")
    return {"screenshots": ", ".join(str(path) for path, _ in saved)}

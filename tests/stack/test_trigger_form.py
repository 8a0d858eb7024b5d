"""Rerunning from the UI: headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by
Selenium) logs in to the running stack, opens ``personalize_training_export``, fills the ``export_date``
param in the trigger form and submits it; the run is then checked through the REST API.

Screenshots go to ``test-artifacts/`` (git-ignored): ``trigger-form.png`` (the filled form, the one
``docs/images/trigger-form.png`` was taken from), ``trigger-form-submitted.png`` (the new run) and, if
the test fails, ``trigger-form-failure.png``.
A machine without Chromium fails this test: ``scripts/test.sh`` installs it where it can.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest

from hubspot_pipeline.config import load_config
from tests.conftest import ROOT
from tests.stack.conftest import LAST_DAY, PASSWORD, USERNAME

DAG_ID = "personalize_training_export"
EXPORT_DATE = (LAST_DAY - timedelta(days=1)).isoformat()
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # without these Chromium phones home, and the closed network refuses it
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=en-US",
    "--window-size=1400,900",
)


def _find(executable: str) -> str:
    path = shutil.which(executable)
    if path is None:
        pytest.fail(
            f"`{executable}` is not installed: the browser test needs Debian's chromium and "
            "chromium-driver packages (scripts/test.sh installs them when run as root: "
            "apt-get install -y chromium chromium-driver)",
            pytrace=False,
        )
    return path


@pytest.fixture
def browser(tmp_path, request) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium")
    options.page_load_strategy = "eager"  # the UI keeps polling; don't wait for the network to go quiet
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    service = Service(_find("chromedriver"), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    failed_before = request.session.testsfailed
    try:
        yield driver
        if request.session.testsfailed > failed_before:  # the test failed: keep what the browser saw
            ARTIFACTS.mkdir(exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / "trigger-form-failure.png"))
    finally:
        driver.quit()


def test_rerun_from_the_trigger_form_with_the_export_date_param(airflow_stack, browser):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    airflow_stack.wait_for_dag(DAG_ID)
    runs_before = {
        run["dag_run_id"] for run in airflow_stack.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
    }
    ARTIFACTS.mkdir(exist_ok=True)
    wait = WebDriverWait(browser, 60)
    # while the page redirects (to the login page and back), a poll can be "aborted by navigation": poll on
    navigating = WebDriverWait(browser, 60, ignored_exceptions=(WebDriverException,))

    # the simple auth manager's login page comes first, then back to the DAG
    browser.get(f"{airflow_stack.base_url}/dags/{DAG_ID}")
    navigating.until(until.visibility_of_element_located((By.NAME, "username"))).send_keys(USERNAME)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    navigating.until(until.element_to_be_clickable((By.CSS_SELECTOR, "button[aria-label='Trigger Dag']")))
    wait.until(until.element_to_be_clickable((By.CSS_SELECTOR, "button[aria-label='Trigger Dag']"))).click()
    export_date = wait.until(until.visibility_of_element_located((By.ID, "element_export_date")))
    export_date.click()
    export_date.send_keys(EXPORT_DATE[5:7] + EXPORT_DATE[8:10] + EXPORT_DATE[:4])  # typed as mm dd yyyy
    assert export_date.get_attribute("value") == EXPORT_DATE
    browser.save_screenshot(str(ARTIFACTS / "trigger-form.png"))

    dialog = browser.find_element(By.XPATH, "//*[@role='dialog' and .//*[@id='element_export_date']]")
    dialog.find_element(By.XPATH, ".//button[normalize-space()='Trigger']").click()
    navigating.until(until.url_contains(f"/dags/{DAG_ID}/runs/manual__"))
    run_id = unquote(browser.current_url.rsplit("/runs/", 1)[1])
    browser.save_screenshot(str(ARTIFACTS / "trigger-form-submitted.png"))

    runs = airflow_stack.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
    new = [run for run in runs if run["dag_run_id"] not in runs_before]
    assert [(run["run_type"], run["conf"]["export_date"]) for run in new] == [("manual", EXPORT_DATE)]
    assert new[0]["conf"]["dry_run"] is False  # the form submits every param, defaults included
    assert new[0]["dag_run_id"] == run_id
    state = airflow_stack.wait_for_run(DAG_ID, new[0]["dag_run_id"])
    assert state == "success", airflow_stack.diagnostics(DAG_ID, new[0]["dag_run_id"])
    config = load_config().personalize
    manifest = airflow_stack.objects / config.bucket / "runs" / config.dataset_group / EXPORT_DATE
    assert (manifest / "manifest.json").is_file()  # the param reached the tasks

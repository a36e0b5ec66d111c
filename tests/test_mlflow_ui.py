"""After a sweep, ``mlflow ui`` lists every job with its params and metrics and overlays their
loss curves: checked in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``).

Set ``RNNLAB_UI_SCREENSHOTS=docs`` to write the README's screenshots there instead of tmp.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from rnnlab.mlflow_plugin.links import LOCAL_UI
from tests_support import mlflow_server, rnnlab_command, rnnlab_experiment

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NO_BROWSER = not (CHROMIUM.is_file() and CHROMEDRIVER.is_file())
NEEDS_BROWSER = "needs Debian's browser: apt-get install -y chromium chromium-driver"
#: in CI a missing browser fails these tests (``chromium_in_ci``) instead of hiding as a skip
IN_CI = os.environ.get("CI", "").lower() == "true"
if NO_BROWSER and not IN_CI:
    pytest.skip(NEEDS_BROWSER, allow_module_level=True)
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SWEEP = [
    "-m",
    "cell=rnn,lstm,gru",
    "data=chars",
    "model.hidden_size=32",
    "bptt=16",
    "train.batch_size=8",
    "train.steps=150",
    "train.log_every=5",
    "train.eval_every=25",
    "train.eval_batches=2",
    "sample.length=20",
]
WAIT_S = 60
RETRIED = (NoSuchElementException, StaleElementReferenceException, ElementClickInterceptedException)


@pytest.fixture(scope="module", autouse=True)
def chromium_in_ci() -> None:
    """Fail each test at once when CI lacks the browser (before the sweep runs)."""
    if NO_BROWSER:
        pytest.fail(f"CI=true: {NEEDS_BROWSER}", pytrace=False)


SINGLE = ["cell=gru", "data=chars", "model.hidden_size=16", "bptt=16", "train.steps=20"]


def printed_link(output: str, prefix: str) -> str:
    """The URL on the line of ``output`` that starts with ``prefix``."""
    [line] = [ln for ln in output.splitlines() if ln.startswith(prefix)]
    return next(word for word in line.split() if word.startswith("http://"))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The sweep, then one single run, into a new sqlite store; returns (store uri, parent run,
    child runs, the single run, the links rnnlab printed: runs table, charts, run page)."""
    tmp = tmp_path_factory.mktemp("ui_sweep")
    store = f"sqlite:///{tmp}/mlflow.db"

    def rnnlab(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [rnnlab_command(), *args],
            cwd=tmp,
            capture_output=True,
            text=True,
            env={**os.environ, "MLFLOW_TRACKING_URI": store},
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        return proc

    swept, single = rnnlab(*SWEEP), rnnlab(*SINGLE)
    links = {
        "runs": printed_link(swept.stdout, "the sweep's runs in MLflow, best first:"),
        "charts": printed_link(swept.stdout, "their charts:"),
        "run": printed_link(single.stderr, "MLflow run "),
    }
    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([rnnlab_experiment(client).experiment_id])
    [parent] = [r for r in runs if "best_run" in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    [one] = [r for r in runs if r not in children and r != parent]
    assert len(children) == 3
    return store, parent, children, one, links


@pytest.fixture(scope="module")
def ui_url(sweep, tmp_path_factory):
    """``mlflow ui`` on 127.0.0.1 over the sweep's store, until the module's tests are done."""
    store = sweep[0]
    with mlflow_server("ui", store, tmp_path_factory.mktemp("ui_server") / "server.log") as url:
        yield url


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium with a fresh profile, driven by Debian's chromedriver (no download)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path / "chromium-profile"
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1600,1000",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    target = Path(os.environ.get("RNNLAB_UI_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    return target


def wait_for(driver, condition, what: str):
    """Poll ``condition(driver)`` until truthy, retrying lookups that a re-render made stale."""
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.25, ignored_exceptions=RETRIED).until(
        condition, message=f"gave up waiting for {what}"
    )


def find(driver, css: str):
    return wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, css), css)


def click(driver, locator: str, by: str = By.CSS_SELECTOR) -> None:
    wait_for(driver, lambda d: d.find_element(by, locator).click() or True, f"a click on {locator}")


def page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def open_link(driver, ui_url: str, link: str, expected: list[str]) -> None:
    """Open a link rnnlab printed (on the UI at ``ui_url``) and wait for ``expected`` texts."""
    driver.get(link.replace(LOCAL_UI, ui_url))
    wait_for(driver, lambda d: all(e in page_text(d) for e in expected), f"{expected}")
    for close in driver.find_elements(
        By.CSS_SELECTOR, "button[data-component-id='mlflow.assistant.chat_panel.close']"
    ):
        close.click()
    assert "Detect Issues" not in page_text(driver)  # the GenAI overview


def toggle_columns(driver, labels: list[str]) -> None:
    """Tick (or untick) ``labels`` in the runs table's "Columns" selector, found by its search."""
    click(driver, "[data-testid='column-selection-dropdown']")
    search = find(driver, "input[placeholder='Search columns']")
    for label in labels:
        search.send_keys(Keys.CONTROL, "a")
        search.send_keys(label)
        click(
            driver,
            f"//span[@class='du-bois-light-tree-title'][normalize-space()='{label}']",
            By.XPATH,
        )
    search.send_keys(Keys.ESCAPE)


def row_text(driver, run) -> str:
    """The text of a run's row in the runs table (its pinned and scrolling parts)."""
    return " ".join(
        r.text
        for r in driver.find_elements(By.CSS_SELECTOR, f"[role=row][row-id='{run.info.run_id}']")
    )


def test_the_printed_run_link_lands_on_the_runs_page(sweep, ui_url, browser, screenshot_dir):
    _, _, _, one, links = sweep
    browser.set_window_size(1600, 900)
    open_link(browser, ui_url, links["run"], [one.info.run_name, "val/best_loss"])
    assert f"/runs/{one.info.run_id}" in browser.current_url
    browser.save_screenshot(str(screenshot_dir / "mlflow_ui_run.png"))


def test_the_printed_sweep_link_lists_its_jobs_apart_with_data_and_model(
    sweep, ui_url, browser, screenshot_dir
):
    _, _, children, one, links = sweep
    names = [r.info.run_name for r in children]
    assert len(set(names)) == 3
    browser.set_window_size(1600, 560)  # four rows: no blank half page in the screenshot
    open_link(browser, ui_url, links["runs"], names)
    assert one.info.run_name not in page_text(browser)  # the table shows the sweep's jobs only
    toggle_columns(
        browser,
        ["cell.name", "model.hidden_size", "optimizer.lr", "val/bpc", "val/best_loss"],
    )
    for run in children:
        expected = [
            run.info.run_name,
            "chars",  # the Dataset column
            "model",  # the Models column
            repr(run.data.metrics["val/best_loss"]),
            repr(run.data.metrics["val/bpc"]),
        ]
        wait_for(
            browser,
            lambda d, run=run, expected=expected: all(e in row_text(d, run) for e in expected),
            f"{expected} in the row of {run.info.run_name}",
        )
    browser.save_screenshot(str(screenshot_dir / "mlflow_ui_runs.png"))


def test_the_printed_chart_link_overlays_the_loss_curves_of_every_job(
    sweep, ui_url, browser, screenshot_dir
):
    store, _, children, _, links = sweep
    open_link(browser, ui_url, links["charts"], [r.info.run_name for r in children])
    find(browser, "input[placeholder='Search metric charts']").send_keys("train/loss")
    fullscreen = "button[@data-component-id='fullscreen_button_chartcard']"
    click(
        browser,
        f"//*[normalize-space(text())='train/loss']/ancestor::*[.//{fullscreen}][1]//{fullscreen}",
        By.XPATH,
    )
    chart = find(browser, "[role=dialog]")
    legend = [f"{r.info.run_name} (train/loss)" for r in children]
    wait_for(browser, lambda d: all(entry in chart.text for entry in legend), f"legend {legend}")
    client = MlflowClient(tracking_uri=store)
    logged = sum(len(client.get_metric_history(r.info.run_id, "train/loss")) for r in children)
    wait_for(
        browser,
        lambda d: len(chart.find_elements(By.CSS_SELECTOR, "path.point")) == logged,
        f"{logged} plotted train/loss points",
    )
    browser.save_screenshot(str(screenshot_dir / "mlflow_ui_charts.png"))

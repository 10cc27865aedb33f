"""Real browser: Debian's Chromium driven by Playwright against `lexrecon serve`.

Screenshots land in test-artifacts/dashboard/ (git-ignored) for people to look at.
"""
from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.dashboard.conftest import REPO, USERS_FILE

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LEXRECON_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
QUIET_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(serving_db, tmp_path_factory):
    """`lexrecon serve` on a free port, as a separate process (the real command)."""
    port = _free_port()
    env = {**os.environ, "LEXRECON_SECRET_KEY": "browser-test-secret"}
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lexrecon", "serve", "--port", str(port), "--serving-db",
             str(serving_db), "--users", str(USERS_FILE)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"lexrecon serve exited with {proc.returncode}: "
                                   f"{log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/login", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("lexrecon serve did not start within 60 s") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make system-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=QUIET_FLAGS, headless=True)
        yield b
        b.close()


def sign_in(browser, server, user: str):
    context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + "/")
    assert "/login" in page.url
    page.fill("#username", user)
    page.fill("#password", f"{user}-demo")
    page.click("#login-submit")
    page.wait_for_selector("#filter-bar")
    return context, page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def grid_cells(page, grid_id: str, col: str) -> list[str]:
    """The texts of one column's rendered cells, once the infinite grid's block has loaded."""
    sel = f"#{grid_id} .ag-row [col-id='{col}']"
    page.wait_for_function(
        """(sel) => { const c = [...document.querySelectorAll(sel)];
                      return c.length > 0 && c.every(x => x.innerText.trim() !== ''); }""",
        arg=sel)
    return [t.strip() for t in page.locator(sel).all_inner_texts()]


def choose(page, dropdown_id: str, text: str) -> None:
    """Pick the option of a dcc.Dropdown whose label contains ``text``."""
    page.click(f"#{dropdown_id}")
    page.wait_for_timeout(200)  # let the menu open before typing the search
    page.keyboard.type(text)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")


def test_wrong_password_is_refused(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server + "/")
    page.fill("#username", "finance")
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    assert page.locator("#login-error").is_visible()
    shot(page, "login-refused")
    context.close()


def test_finance_overview_filter_and_export(browser, server, facts):
    context, page = sign_in(browser, server, "finance")
    page.wait_for_selector("#page-overview .kpi-value")
    page.wait_for_selector("#ov-trend .main-svg")
    assert page.locator("#ov-kpis .kpi").count() == 8
    before = set(grid_cells(page, "ov-invoices", "client_code"))
    assert len(before) > 1
    shot(page, "overview-finance")
    code = facts.invoiced_clients[0]
    choose(page, "flt-client", code)
    page.wait_for_function(
        """(code) => { const cells = [...document.querySelectorAll(
              "#ov-invoices .ag-row [col-id='client_code']")].map(c => c.innerText.trim());
              return cells.length > 0 && cells.every(c => c === code); }""", arg=code)
    shot(page, "overview-finance-client-filter")
    with page.expect_download() as dl:
        page.click("#ov-invoices-export")
    path = dl.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    assert rows and {r["client_code"] for r in rows} == {code}
    context.close()


PAGES = [("variance", "#va-by-month .main-svg", "va-invoices"),
         ("aging", "#ag-buckets .main-svg", "ag-worklist"),
         ("rejections", "#rj-breakdown .main-svg", "rj-cuts"),
         ("leakage", "#lk-categories .main-svg", "lk-write-offs"),
         ("evidence", "#ev-table", None),
         ("health", "#hl-loads-table", None)]


def test_admin_opens_every_page(browser, server):
    context, page = sign_in(browser, server, "admin")
    for name, ready, grid in PAGES:
        page.click(f"#nav-{name}")
        page.wait_for_selector(f"#page-{name}")
        page.wait_for_selector(ready)
        if grid:
            assert grid_cells(page, grid, "client_code" if name != "leakage" else
                              "write_off_type")
        assert page.locator(".notice").count() == 0, page.locator(".notice").all_inner_texts()
        shot(page, f"{name}-admin")
    context.close()


def test_variance_drill_down_month_invoice_line_source(browser, server):
    context, page = sign_in(browser, server, "finance")
    page.click("#nav-variance")
    page.wait_for_selector("#va-by-month .main-svg")
    page.wait_for_selector("#va-waterfall .main-svg")
    assert "causes add up" in page.inner_text("#va-waterfall")
    page.wait_for_selector("#va-by-month .bars .point path")
    page.wait_for_load_state("networkidle")
    box = page.locator("#va-by-month .bars .point path").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # plotly needs the hover before the click
    page.wait_for_timeout(500)
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => document.querySelector('#va-crumbs').innerText.match(/Month: \\d{4}-\\d{2}/)")
    month = page.inner_text("#va-crumbs").split("Month: ")[1][:7]
    invoice_months = grid_cells(page, "va-invoices", "variance_month")
    booking_months = grid_cells(page, "va-invoices", "booking_period")
    assert all(month in pair for pair in zip(invoice_months, booking_months))
    page.locator("#va-invoices .ag-row [col-id='variance_key']").first.click()
    page.wait_for_selector("#va-src-var")
    shot(page, "variance-drill-invoice")
    if grid_cells(page, "va-invoices", "invoice_number")[0]:
        page.wait_for_selector("#va-lines .ag-row [col-id='line_number']")
        grid_cells(page, "va-lines", "line_number")
        page.locator("#va-lines .ag-row [col-id='line_number']").first.click()
        page.wait_for_selector("#va-src-line")
        assert "line" in page.inner_text("#va-crumbs")
    shot(page, "variance-drill-line")
    context.close()


def test_finance_aging_page(browser, server):
    context, page = sign_in(browser, server, "finance")
    page.click("#nav-aging")
    page.wait_for_selector("#page-aging")
    page.wait_for_selector("#ag-buckets .main-svg")
    assert grid_cells(page, "ag-worklist", "invoice_number")
    page.click("text=Matter")
    page.wait_for_selector("#ag-buckets .main-svg")
    shot(page, "aging-finance")
    context.close()


def test_partner_sees_only_own_clients(browser, server):
    context, page = sign_in(browser, server, "partner.nyc")
    assert "NY-TK0001" in page.inner_text("#whoami")
    page.click("#nav-aging")
    partners = set(grid_cells(page, "ag-worklist", "billing_partner_timekeeper_id"))
    assert partners == {"NY-TK0001"}
    assert page.locator("#nav-evidence").count() == 0
    assert page.locator("#nav-health").count() == 0
    shot(page, "aging-partner")
    page.goto(server + "/evidence")
    page.wait_for_selector("text=not available to the partner role")
    context.close()


def test_auditor_evidence_page_and_pack(browser, server, facts):
    context, page = sign_in(browser, server, "auditor")
    page.click("#nav-evidence")
    page.wait_for_selector("#ev-table")
    month = facts.periods[-1]
    choose(page, "flt-period-from", month)
    choose(page, "flt-period-to", month)
    page.wait_for_function("(m) => document.querySelector('#ev-summary').innerText"
                           ".includes(m + ' – ' + m)", arg=month)
    assert page.get_attribute("#ev-pack-link", "href").endswith(
        f"period_from={month}&period_to={month}")
    assert "PASS" in page.inner_text("#ev-table")
    shot(page, "evidence-auditor")
    with page.expect_download(timeout=120_000) as dl:
        page.click("#ev-pack-link")
    with zipfile.ZipFile(dl.value.path()) as zf:
        assert any(n.startswith(f"evidence-{month}/") for n in zf.namelist())
    context.close()

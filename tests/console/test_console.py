"""The operator console in a real browser (Debian's chromium driven by Playwright) against the real
stack: the API serving the built console, the local worker and the provider sandbox on a database of
their own. What an operator does: sign in, watch a batch finish, find why a run failed, look at
entities, edit blueprints as an admin and see nothing editable as a member; every page checked by
axe-core at desktop and phone width, with no console errors.

`DEX_CONSOLE_SCREENSHOTS=docs/console` (`make console-screenshots`) also writes a screenshot of
each page there.
"""

import csv
import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from app.config import REPO_ROOT
from app.console import CONSOLE_DIST
from bench.console_paint import CHROMIUM_FLAGS
from tests.conftest import TEST_SECRETS
from tests.e2e.stack import data, running_stack, wait_until
from tests.sandbox_server import start_sandbox

# one stack and one browser for the whole module, on one xdist worker (Makefile: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("console")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = REPO_ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = os.environ.get("DEX_CONSOLE_SCREENSHOTS")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 780}
PASSWORD = "console-e2e " + uuid.uuid4().hex
COMPANY_STEPS = ["company.enrich.profile", "company.ads.search.google"]
DOMAINS = [f"found-console{i}.com" for i in range(5)] + ["error500-broken.com"]


@pytest.fixture(scope="module")
def stack(admin_dsn, worker_id_str):
    assert (CONSOLE_DIST / "index.html").is_file(), "build the console first: make console"
    sandbox = start_sandbox(overrides={"reoon": {"reoon_power_latency_ms": 0}})
    with running_stack(admin_dsn, f"dex_console_{worker_id_str}_{uuid.uuid4().hex[:8]}", sandbox) as running:
        yield running


@pytest.fixture(scope="module")
def tenant(stack) -> dict[str, Any]:
    """An org with a company, an org_admin and a member who sign in with a password, an org_admin
    API token for setting up data, and one blueprint."""
    su = httpx.Client(
        base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {TEST_SECRETS['super_admin_api_key']}"}
    )
    tag = uuid.uuid4().hex[:8]
    org = data(su.post("/api/super-admin/orgs/create", json={"name": "Console Co", "slug": f"console-{tag}"}))
    company = data(su.post("/api/super-admin/companies/create", json={"org_id": org["id"], "name": "Northwind"}))
    users = {}
    for role, company_id in (("org_admin", None), ("member", company["id"])):
        email = f"{role.replace('_', '-')}-{tag}@example.com"
        body = {"org_id": org["id"], "email": email, "role": role, "password": PASSWORD, "company_id": company_id}
        data(su.post("/api/super-admin/users/create", json=body))
        users[role] = email
    token = data(
        su.post("/api/super-admin/api-tokens/create", json={"org_id": org["id"], "name": "setup", "role": "org_admin"})
    )["token"]
    api = httpx.Client(base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {token}"})
    steps = [{"position": i + 1, "operation_id": op} for i, op in enumerate(COMPANY_STEPS)]
    blueprint = data(api.post("/api/blueprints/create", json={"name": "Company profile + ads", "steps": steps}))
    return {"api": api, "company_id": company["id"], "users": users, "blueprint_id": blueprint["id"]}


def submit(tenant: dict[str, Any], domains: list[str]) -> str:
    body = {
        "blueprint_id": tenant["blueprint_id"],
        "company_id": tenant["company_id"],
        "source": "console test",
        "entities": [{"entity_type": "company", "input": {"domain": d}} for d in domains],
    }
    return str(data(tenant["api"].post("/api/v1/batch/submit", json=body))["submission_id"])


def wait_finished(tenant: dict[str, Any], submission_id: str) -> None:
    def done() -> bool:
        status = data(tenant["api"].post("/api/v1/batch/status", json={"submission_id": submission_id, "limit": 1}))
        return status["submission"]["status"] in ("completed", "failed", "canceled")

    wait_until(done, 90, f"submission {submission_id} to finish")


@pytest.fixture(scope="module")
def finished(tenant) -> str:
    """A submission that has finished: five companies found, one failed by the provider (HTTP 500)."""
    submission_id = submit(tenant, DOMAINS)
    wait_finished(tenant, submission_id)
    return submission_id


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


class Console:
    """A browser tab on the console that remembers every console error and failed page script."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.expected_errors: list[re.Pattern[str]] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def goto(self, path: str) -> Page:
        self.page.goto(f"{self.base_url}/console{path}")
        return self.page

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected_errors)]

    def check_page(self, name: str) -> None:
        """axe-core finds no serious or critical violation; no console error so far; a screenshot
        when asked for."""
        page = self.page
        page.wait_for_load_state("networkidle")
        expect(page.locator("h1")).to_be_visible()
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})) }"
        )
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not serious, f"{name}: axe found\n" + json.dumps(serious, indent=1)
        assert not self.unexpected_errors(), f"{name}: console errors {self.unexpected_errors()}"
        width = page.viewport_size["width"] if page.viewport_size else 0
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1, f"{name}: the page is {overflow} px wide in a {width} px window"
        if SCREENSHOTS:
            out = REPO_ROOT / SCREENSHOTS
            out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out / f"{name}.png"), full_page=False)


def login_api(stack, email: str) -> tuple[str, int, dict[str, Any]]:
    answer = data(httpx.post(f"{stack.api_url}/api/auth/login", json={"email": email, "password": PASSWORD}))
    me = data(httpx.post(f"{stack.api_url}/api/auth/me", headers={"Authorization": f"Bearer {answer['access_token']}"}))
    return answer["access_token"], answer["expires_in"], me


@pytest.fixture
def open_console(stack, browser, tenant) -> Iterator[Any]:
    """`open_console(role=None, viewport=DESKTOP)`: a tab, signed in as that role's user (its JWT
    put where the console keeps it, as the login page does), or signed out."""
    contexts: list[BrowserContext] = []

    def make(role: str | None = None, viewport: dict[str, int] = DESKTOP) -> Console:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        if role is not None:
            token, expires_in, me = login_api(stack, tenant["users"][role])
            stored = {"token": token, "me": me}
            script = (
                f"const s = {json.dumps(stored)}; s.expiresAt = Date.now() + {expires_in * 1000};"
                " localStorage.setItem('dex.console.session', JSON.stringify(s));"
            )
            context.add_init_script(
                f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1'); {script} }}"
            )
        return Console(context, stack.api_url)

    yield make
    for c in contexts:
        c.close()


def test_sign_in_watch_a_batch_finish_and_sign_out(stack, tenant, open_console):
    tab = open_console()
    page = tab.goto("/")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    tab.check_page("login")
    page.get_by_label("Email", exact=True).fill(tenant["users"]["org_admin"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Submissions")).to_be_visible()

    submission_id = submit(tenant, [f"found-live{i}.com" for i in range(8)] + ["error500-live.com"])
    page.get_by_role("link", name=re.compile(r".")).filter(has=page.locator("time")).first.click()
    expect(page).to_have_url(re.compile(f"/console/submissions/{submission_id}$"))
    # the page follows the batch by itself, until the last run is done
    expect(page.get_by_role("heading", level=1)).to_contain_text("completed", timeout=60_000)
    expect(page.get_by_role("progressbar", name="Submission progress")).to_have_attribute(
        "aria-valuetext", "9 of 9 finished, 1 failed"
    )
    expect(page.get_by_role("row")).to_have_count(10)  # a header and nine runs
    tab.check_page("submission")

    page.get_by_role("link", name="Submissions").first.click()
    expect(page.get_by_role("progressbar").first).to_have_attribute("aria-valuetext", re.compile("finished"))
    tab.check_page("submissions")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.go_back()  # the console's pages need a session again
    expect(page).to_have_url(re.compile(r"/console/login$"))


def test_a_wrong_password_is_said_plainly(stack, tenant, open_console):
    tab = open_console()
    tab.expected_errors.append(re.compile("status of 401"))
    page = tab.goto("/login")
    page.get_by_label("Email", exact=True).fill(tenant["users"]["member"])
    page.get_by_label("Password", exact=True).fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match an account.")


def test_an_expired_session_goes_back_to_the_login_page_with_a_message(stack, tenant, open_console):
    tab = open_console("org_admin")
    tab.expected_errors.append(re.compile("status of 401"))
    page = tab.goto("/submissions")
    expect(page.get_by_role("heading", name="Submissions")).to_be_visible()
    # what the API says of a JWT past its expiry: 401, whatever the console thought of it
    page.evaluate(
        "() => { const s = JSON.parse(localStorage.getItem('dex.console.session'));"
        " s.token = s.token.slice(0, -4) + 'AAAA'; localStorage.setItem('dex.console.session', JSON.stringify(s)); }"
    )
    page.reload()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    expect(page.get_by_role("status")).to_contain_text("Your session has expired")


def test_open_a_failed_run_and_see_why(stack, tenant, finished, open_console):
    tab = open_console("org_admin")
    page = tab.goto(f"/submissions/{finished}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("completed")
    page.get_by_role("radio", name="failed").check()
    expect(page).to_have_url(re.compile(r"status=failed"))
    rows = page.get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the one failed run
    expect(rows.nth(1)).to_contain_text("step 1 (company.enrich.profile)")
    expect(rows.nth(1)).to_contain_text("skipped")
    rows.nth(1).get_by_role("link").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("failed")
    reason = page.get_by_role("note", name="Why the run failed")
    expect(reason).to_contain_text("step 1 (company.enrich.profile)")
    attempts = page.get_by_role("region", name=re.compile("Provider attempts of step 1"))
    expect(attempts).to_contain_text("prospeo")
    expect(attempts).to_contain_text("failed")
    tab.check_page("run-failed")

    # a run that succeeded: every step, its provider, and the raw answer as the API returns it
    page.go_back()
    page.get_by_role("radio", name="succeeded").check()
    # the filtered page replaces the rows on screen when it arrives: click one of its rows
    expect(page.get_by_role("row")).to_have_count(len(DOMAINS))  # the header and five succeeded
    page.get_by_role("row").nth(1).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("succeeded")
    expect(page.get_by_role("heading", level=3)).to_have_count(len(COMPANY_STEPS))
    page.get_by_text("Show", exact=True).first.click()
    expect(page.locator("details.json[open] pre").first).to_be_visible()
    tab.check_page("run")


def test_entities_search_versions_and_timeline(stack, tenant, finished, open_console):
    tab = open_console("member")
    page = tab.goto("/entities")
    search = page.get_by_label("Search companies")
    # an operator presses "/" once the page is on screen: wait for it, not for the load event
    expect(search).to_be_visible()
    expect(search).not_to_be_focused()
    page.keyboard.press("/")
    expect(search).to_be_focused()
    search.fill(DOMAINS[0])
    search.press("Enter")
    expect(page.get_by_text("Searching by domain.")).to_be_visible()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(2)
    tab.check_page("entities")
    rows.nth(1).get_by_role("link").click()
    expect(page.get_by_role("heading", name="Versions")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Version 1"))).to_be_visible()
    expect(page.get_by_role("region", name="Timeline")).to_contain_text("company.enrich.profile")
    tab.check_page("entity")


def test_a_member_sees_everything_in_scope_and_no_edit_controls(stack, tenant, finished, open_console):
    tab = open_console("member")
    page = tab.goto("/submissions")
    expect(page.get_by_role("progressbar").first).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Submissions", "Entities", "Blueprints", "Usage"])

    page.goto(f"{stack.api_url}/console/submissions/{finished}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Submission")
    expect(page.get_by_role("row")).to_have_count(len(DOMAINS) + 1)
    # downloading the results is a read; nothing else is a button
    expect(page.locator("main button:not(.pager button):not(.download)")).to_have_count(0)
    expect(page.get_by_role("button", name="Download results CSV")).to_be_visible()

    page.goto(f"{stack.api_url}/console/blueprints")
    expect(page.get_by_role("link", name="Company profile + ads")).to_be_visible()
    expect(page.get_by_role("link", name="New blueprint")).to_have_count(0)
    page.get_by_role("link", name="Company profile + ads").click()
    expect(page.get_by_role("heading", name="Steps")).to_be_visible()
    expect(page.get_by_role("link", name="Edit blueprint")).to_have_count(0)
    tab.check_page("blueprint")

    for path in ("/tokens", f"/blueprints/{tenant['blueprint_id']}/edit", "/blueprints/new"):
        page.goto(f"{stack.api_url}/console{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Not available to your role")
        expect(page.locator("input, textarea, select")).to_have_count(0)
    assert not tab.unexpected_errors()


def test_an_admin_edits_a_blueprint_and_sees_the_apis_errors_at_the_field(stack, tenant, open_console):
    tab = open_console("org_admin")
    page = tab.goto("/blueprints")
    tab.check_page("blueprints")
    page.get_by_role("link", name="New blueprint").click()
    expect(page.get_by_role("heading", name="New blueprint")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Ads only")
    page.get_by_label("Operation", exact=True).select_option("company.ads.search.meta")
    page.get_by_label("Condition (JSON; empty: always run)").fill('{"no_such_operator": ["domain"]}')
    page.get_by_label("Fan-out (JSON; search steps only)").fill(
        json.dumps({"blueprint_id": tenant["blueprint_id"], "max_children": 5})
    )
    tab.expected_errors.append(re.compile("status of 400"))
    page.get_by_role("button", name="Create blueprint").click()

    condition = page.get_by_label("Condition (JSON; empty: always run)")
    expect(condition).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-steps\\.0\\.condition")).to_contain_text("steps[0].condition")
    expect(condition).to_be_focused()
    tab.check_page("blueprint-errors")

    condition.fill("")
    page.get_by_role("button", name="Create blueprint").click()
    fan_out = page.get_by_label("Fan-out (JSON; search steps only)")
    expect(fan_out).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-steps\\.0\\.fan_out")).to_contain_text("returns no list to fan out")
    expect(condition).not_to_have_attribute("aria-invalid", "true")

    fan_out.fill("")
    page.get_by_role("button", name="Create blueprint").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ads only")
    page.get_by_role("link", name="Edit blueprint").click()
    page.get_by_label("Name", exact=True).fill("Ads only, renamed")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ads only, renamed")
    assert any(
        b["name"] == "Ads only, renamed" for b in data(tenant["api"].post("/api/blueprints/list", json={}))["items"]
    )


def test_an_admin_creates_and_revokes_an_api_token(stack, tenant, open_console):
    tab = open_console("org_admin")
    page = tab.goto("/tokens")
    tab.check_page("tokens")
    page.get_by_label("Name", exact=True).fill("crm sync")
    page.get_by_label("Company", exact=True).select_option(label="Northwind")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("New token").input_value()
    assert token.startswith("dex_")
    me = httpx.post(f"{stack.api_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["data"]["auth"]["role"] == "member"

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Revoke crm sync").click()
    expect(page.get_by_role("button", name="Revoke crm sync")).to_have_count(0)
    assert httpx.post(f"{stack.api_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_every_page_works_at_phone_width(stack, tenant, finished, open_console):
    tab = open_console("org_admin", viewport=PHONE)
    page = tab.goto(f"/submissions/{finished}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("completed")
    tab.check_page("phone-submission")
    for path, name in (("/submissions", "phone-submissions"), ("/entities", "phone-entities"), ("/blueprints", None)):
        page.goto(f"{stack.api_url}/console{path}")
        tab.check_page(name or "phone-blueprints")
    page.goto(f"{stack.api_url}/console/submissions/{finished}?status=failed")
    page.get_by_role("row").nth(1).get_by_role("link").click()
    expect(page.get_by_role("note", name="Why the run failed")).to_be_visible()
    tab.check_page("phone-run")


def test_the_console_ships_everything_it_needs(stack):
    """No CDN and no web font: every script, style and font the page names is under /console."""
    html = httpx.get(f"{stack.api_url}/console/").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(r.startswith("/console/") for r in refs), refs
    for path in Path(CONSOLE_DIST / "assets").iterdir():
        text = path.read_text(errors="replace")
        assert "@import" not in text and "@font-face" not in text and "url(http" not in text, path
        assert not re.search(r"(cdn|fonts)\.[a-z0-9.-]+\.(com|net|org)", text), path


def _csv_file(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def test_upload_a_csv_see_its_bad_rows_then_follow_it_and_download_the_results(stack, tenant, open_console):
    tab = open_console("org_admin")
    tab.expected_errors.append(re.compile("status of 400"))  # the dry run's answer to the bad file
    page = tab.goto("/csv")
    expect(page.get_by_role("heading", name="Upload a CSV")).to_be_visible()
    page.get_by_label("Blueprint").select_option(label="Company profile + ads (company)")
    tab.check_page("csv")

    # a bad row: shown with its number before anything is created, beside how the columns were read
    bad = "Domain,Company Name,Notes\nfound-csvbad.com,Acme,x\n,,only a note\n"
    page.get_by_label("CSV file").set_input_files(_csv_file("bad.csv", bad))
    expect(page.get_by_role("alert")).to_contain_text("1 row cannot be submitted")
    problems = page.get_by_role("region", name="Rows that cannot be submitted")
    expect(problems.get_by_role("row")).to_have_count(2)
    expect(problems.get_by_role("row").nth(1)).to_contain_text("no value in any column")
    expect(page.get_by_label("Field for column Domain")).to_have_value("domain")
    expect(page.get_by_label("Field for column Notes")).to_have_value("")
    expect(page.get_by_role("button", name=re.compile("^Upload"))).to_be_disabled()
    tab.check_page("csv-errors")

    # a good file: a column the API does not know is mapped by hand, and the preview follows
    good = "Domain,Firma\nfound-csv1.com,Acme\nfound-csv2.com,Beta\nerror500-csv.com,Broken\n"
    page.get_by_label("CSV file").set_input_files(_csv_file("accounts.csv", good))
    expect(page.get_by_text("3 rows ready, each a company.")).to_be_visible()
    expect(page.get_by_label("Field for column Firma")).to_have_value("")
    page.get_by_label("Field for column Firma").select_option("name")
    expect(page.get_by_text("edited")).to_be_visible()
    expect(page.get_by_text("3 rows ready, each a company.")).to_be_visible()
    tab.check_page("csv-preview")
    page.get_by_role("button", name="Upload 3 rows").click()

    expect(page.get_by_role("status").first).to_contain_text("3 rows submitted as submission")
    progress = page.get_by_role("progressbar", name="Upload progress")
    expect(progress).to_have_attribute("aria-valuetext", "3 of 3 finished, 1 failed", timeout=60_000)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download results CSV").click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["entity_index"], r["status"], r["domain"]) for r in rows] == [
        ("0", "succeeded", "found-csv1.com"),
        ("1", "succeeded", "found-csv2.com"),
        ("2", "failed", ""),  # a failed run has its error, not fields
    ]
    assert rows[2]["error_message"]
    submission_id = re.fullmatch(r"submission-(.+)\.csv", download.suggested_filename)
    assert submission_id
    status = data(tenant["api"].post("/api/v1/batch/status", json={"submission_id": submission_id[1], "limit": 1}))
    # the hand-made mapping went with the upload
    assert status["submission"]["metadata"]["csv"]["columns"] == {"Domain": "domain", "Firma": "name"}
    assert status["submission"]["source"] == "csv:accounts.csv"
    tab.check_page("csv-done")


def test_usage_chart_tables_and_the_budget_form(stack, tenant, finished, open_console):
    tab = open_console("org_admin")
    tab.expected_errors.append(re.compile("status of 422"))  # the refused limit below
    page = tab.goto("/usage")
    expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    expect(page.locator("figure.chart canvas")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Calls by UTC day"))).to_be_visible()
    providers = page.get_by_role("region", name="By provider")
    expect(providers).to_contain_text("prospeo")
    # Adyntel documents no price: its cost is unknown, not 0
    expect(providers.get_by_role("row", name=re.compile("adyntel"))).to_contain_text("unknown")
    expect(page.get_by_role("region", name="By operation")).to_contain_text("company.enrich.profile")
    expect(page.get_by_role("region", name="By company")).to_contain_text("Northwind")
    tab.check_page("usage")

    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("the organization")
    limit = page.get_by_label("Monthly limit (USD)")
    limit.fill("-5")
    page.get_by_role("button", name="Set limit").click()
    expect(limit).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#budget-limit-error")).to_be_visible()
    expect(limit).to_be_focused()
    page.get_by_label("Applies to").select_option(label="Northwind")
    expect(facts).to_contain_text("Northwind")
    limit.fill("250")
    page.get_by_role("button", name="Set limit").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(facts).to_contain_text("$250.00")
    budget = data(tenant["api"].post("/api/budgets/get", json={"company_id": tenant["company_id"]}))
    assert budget["limit_usd"] == 250

    # an empty range of days is still a chart, and a range the API refuses is said
    page.get_by_label("From", exact=True).fill("2020-01-01")
    page.get_by_label("To (inclusive)").fill("2020-01-07")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"from=2020-01-01"))
    expect(page.get_by_role("region", name="By provider")).to_have_count(0)
    expect(page.get_by_text("No calls in this range.").first).to_be_visible()
    expect(page.locator("figure.chart canvas")).to_be_visible()


def test_a_member_sees_usage_of_their_company_but_no_budget_form_and_no_upload(stack, tenant, finished, open_console):
    tab = open_console("member")
    page = tab.goto("/usage")
    expect(page.locator("figure.chart canvas")).to_be_visible()
    expect(page.get_by_text("Your company's calls.")).to_be_visible()
    expect(page.get_by_role("region", name="By provider")).to_contain_text("prospeo")
    expect(page.get_by_role("heading", name="Monthly budget")).to_have_count(0)
    expect(page.get_by_label("Monthly limit (USD)")).to_have_count(0)
    tab.check_page("member-usage")
    page.goto(f"{stack.api_url}/console/csv")
    expect(page.get_by_text("Your role can look at submissions but not start them")).to_be_visible()
    expect(page.locator("main input, main select")).to_have_count(0)
    assert not tab.unexpected_errors()


def test_the_new_pages_work_at_phone_width(stack, tenant, finished, open_console):
    tab = open_console("org_admin", viewport=PHONE)
    page = tab.goto("/usage")
    expect(page.locator("figure.chart canvas")).to_be_visible()
    tab.check_page("phone-usage")
    page.goto(f"{stack.api_url}/console/csv")
    page.get_by_label("CSV file").set_input_files(_csv_file("phone.csv", "Domain,Notes\nfound-phone.com,x\n"))
    expect(page.get_by_text("1 row ready, each a company.")).to_be_visible()
    tab.check_page("phone-csv")

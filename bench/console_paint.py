"""The console's first paint per page (issue 14: under 1 s on the demo data).

Against a running `make run` (after `make demo`): signs in with the demo login in Debian's
chromium, then loads each page cold and prints its first contentful paint and the time until
the network is idle (its data shown; Playwright waits 500 ms of quiet, included).

    .venv/bin/python -m bench.console_paint EMAIL PASSWORD [--base http://127.0.0.1:8000]
"""

import json
import time

import typer
from playwright.sync_api import sync_playwright

# Debian's chromium, headless and quiet: no network of its own, no first-run work (the browser
# tests in tests/console launch it with these too)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FCP = "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"


def main(email: str, password: str, base: str = "http://127.0.0.1:8000", chromium: str = "/usr/bin/chromium") -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
        page.goto(base + "/console/login")
        page.locator("#email").fill(email)
        page.locator("input[type=password]").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/submissions")
        page.wait_for_selector("table", timeout=15_000)
        submission = page.locator("table a").first.get_attribute("href")
        page.goto(base + str(submission))
        page.wait_for_selector("a[href*='/runs/']", timeout=15_000)
        run = page.locator("a[href*='/runs/']").first.get_attribute("href")
        paths = ["/console/submissions", submission, run, "/console/entities", "/console/blueprints"]
        paths += ["/console/csv", "/console/usage", "/console/tokens"]
        figures = {}
        for path in paths:
            started = time.monotonic()
            page.goto(base + str(path), wait_until="load")
            fcp = page.evaluate(FCP)
            page.wait_for_load_state("networkidle")
            idle = round((time.monotonic() - started) * 1000)
            figures[str(path)] = {"first_paint_ms": round(fcp) if fcp else None, "network_idle_ms": idle}
        browser.close()
    typer.echo(json.dumps(figures, indent=1))


if __name__ == "__main__":
    typer.run(main)

#!/usr/bin/env python3
"""Drives the Vessel web UI in Debian's Chromium through Playwright (issue 29).

Run by UIBrowserTests (Tests/VesselServerTests/UI/) against a live server it prepared: an admin
token, a model with a version, and a promotion request by alice that bob (a second maintainer)
may approve. Signs in, browses models -> model -> version, approves the request as bob, sees
the audit entry, rolls a deployment back when one exists, checks every page with axe-core
when axe-playwright-python is installed, and saves a screenshot of every page into --shots.

Prints one JSON line: {"ok": true, "pages": [...], "axe": {...}} or {"ok": false, "error": ...}.
Playwright cannot download its own browser here: the system chromium is given by
--chromium (executable_path).
"""
import argparse
import json
import os
import re
import sys
import time


def api_post(server, token, path, body):
    """A POST to the registry's API with a bearer token (not the browser's session)."""
    import urllib.request
    request = urllib.request.Request(server + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def deployment_rollback(browser, admin_page, args, visit, check, sign_in):
    """The deployment page in a browser: a viewer sees no Roll back button; a maintainer's page
    follows an advance made through the API (the long-poll and rollout.js), then the maintainer
    rolls back and the admin sees the audit entry."""
    owner, name, env = args.deployment.split("/")
    path = f"/ui/models/{owner}/{name}/deployments/{env}"

    viewer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(viewer, args.viewer_token)
    visit(viewer, "deployment-viewer", path)
    check(viewer.get_by_role("button", name="Roll back").count() == 0, "a viewer has no Roll back button")

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    sign_in(page, args.maintainer_token)
    visit(page, "deployment", path)
    before = int(page.locator("#live").get_attribute("data-revision"))
    # rollout.js runs (its status line says so) and follows the change an API advance makes.
    page.wait_for_function("document.getElementById('live-status').textContent.indexOf('Following changes') >= 0", timeout=30000)
    api_post(args.server, args.admin_token, f"/api/v1/models/{owner}/{name}/deployments/{env}/advance", {"expect_revision": before})
    page.wait_for_selector(f'#live[data-revision="{before + 1}"]', timeout=60000)
    check("the candidate at 10%" in page.content(), "the page shows the advance without a reload")
    visit(page, "deployment-advanced")

    page.get_by_label("Reason (kept in the audit log)").fill("browser test: p99 regression")
    page.get_by_role("button", name="Roll back").click()
    page.wait_for_load_state("domcontentloaded")
    check("rollback applied" in page.content(), "the rollback was applied")
    visit(page, "deployment-rolled-back")
    check(not script_errors, f"script errors: {script_errors}")

    admin_page.goto(args.server + "/ui/audit?action=deployment", wait_until="domcontentloaded")
    content = admin_page.content()
    check("deployment.rollback" in content and "browser test: p99 regression" in content, "the rollback's audit entry appears")
    visit(admin_page, "audit-rollback")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--bob-token", required=True)
    parser.add_argument("--viewer-token", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--request", required=True)
    parser.add_argument("--deployment", default="", help="OWNER/NAME/ENV of a deployment rolling out at its first step, to roll back")
    parser.add_argument("--maintainer-token", default="", help="a maintainer of the deployment's model, who rolls it back")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--shots", required=True)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    try:
        from axe_playwright_python.sync_playwright import Axe
        axe = Axe()
    except ImportError:
        axe = None

    os.makedirs(args.shots, exist_ok=True)
    pages = []
    axe_results = {}
    timings = {}

    def check(condition, message):
        if not condition:
            raise AssertionError(message)

    def visit(page, name, path=None):
        if path is not None:
            started = time.monotonic()
            response = page.goto(args.server + path, wait_until="domcontentloaded")
            timings[name] = round((time.monotonic() - started) * 1000, 1)
            check(response is not None and response.status == 200, f"{path}: status {response.status if response else None}")
        shot = os.path.join(args.shots, f"{len(pages) + 1:02d}-{name}.png")
        page.screenshot(path=shot, full_page=True)
        pages.append({"name": name, "url": page.url, "screenshot": shot})
        if axe is not None:
            results = axe.run(page)
            serious = [v for v in results.response.get("violations", []) if v.get("impact") in ("serious", "critical")]
            axe_results[name] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v.get("nodes", []))} for v in serious]

    def sign_in(page, token):
        page.goto(args.server + "/ui/login", wait_until="domcontentloaded")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("domcontentloaded")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            # No page but a deployment's runs script (rollout.js, an external asset): the others' CSP allows none.
            # Failed loads are judged by URL below (the browser's own /favicon.ico probe may 404).
            console_errors = []
            page.on("console", lambda msg: console_errors.append(msg.text)
                    if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
            failed_loads = []
            page.on("response", lambda r: failed_loads.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

            # Logged out: a page leads to the sign-in form.
            page.goto(args.server + "/ui/models", wait_until="domcontentloaded")
            check("/ui/login" in page.url, f"logged out, /ui/models led to {page.url}")
            visit(page, "login")

            sign_in(page, args.admin_token)
            check(page.url.endswith("/ui/models"), f"after sign-in: {page.url}")
            visit(page, "models")
            page.get_by_role("link", name=args.model).click()
            page.wait_for_load_state("domcontentloaded")
            check(page.url.endswith("/ui/models/" + args.model), f"model link led to {page.url}")
            visit(page, "model")
            page.get_by_role("link", name="1", exact=True).first.click()
            page.wait_for_load_state("domcontentloaded")
            check("/versions/1" in page.url, f"version link led to {page.url}")
            check(f"vessel pull {args.model}:1" in page.content(), "the version page shows the pull command")
            visit(page, "version")
            visit(page, "requests-admin", "/ui/requests")
            visit(page, "deployments", "/ui/deployments")
            visit(page, "audit", "/ui/audit")
            page.get_by_role("button", name="Verify the chain").click()
            page.wait_for_load_state("domcontentloaded")
            check("The chain verified" in page.content(), "verify shows its result")
            visit(page, "audit-verified")

            if args.deployment:
                deployment_rollback(browser, page, args, visit, check, sign_in)

            # A viewer sees the request but no Approve button.
            viewer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            sign_in(viewer, args.viewer_token)
            viewer.goto(args.server + "/ui/requests", wait_until="domcontentloaded")
            check(args.request in viewer.content(), "the viewer sees the request")
            check(viewer.get_by_role("button", name="Approve " + args.request).count() == 0, "a viewer has no Approve button")
            visit(viewer, "requests-viewer")

            # bob, a second maintainer, approves alice's request.
            bob = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            sign_in(bob, args.bob_token)
            bob.goto(args.server + "/ui/requests", wait_until="domcontentloaded")
            visit(bob, "requests-bob")
            bob.get_by_role("button", name="Approve " + args.request).click()
            bob.wait_for_load_state("domcontentloaded")
            check("approved" in bob.content(), "bob's approval was applied")
            visit(bob, "requests-approved")

            # The audit entry appears for the admin.
            page.goto(args.server + "/ui/audit?actor=bob", wait_until="domcontentloaded")
            check(re.search(r"promotion\.\w+|alias\.\w+", page.content()) is not None, "bob's promotion appears in the audit")
            visit(page, "audit-after-approval")
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_load_state("domcontentloaded")
            check("/ui/login" in page.url, f"signed out: {page.url}")
            check(not console_errors, f"console errors: {console_errors}")
            check(not failed_loads, f"failed loads: {failed_loads}")
        finally:
            browser.close()

    serious = {name: found for name, found in axe_results.items() if found}
    print(json.dumps({"ok": not serious, "pages": pages, "axe": axe_results if axe else None,
                      "axe_serious": serious, "dom_content_loaded_ms": timings}))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # reported as one JSON line for the Swift test
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
        sys.exit(1)

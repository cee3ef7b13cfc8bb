#!/usr/bin/env python3
"""Drives the web UI's webhooks, retention, alias history and version provenance pages in
Debian's Chromium through Playwright (issue 29; run by UIBrowserTests, file
Tests/VesselServerTests/UI/UIBrowserTests+Pages.swift).

The server was seeded with XSS payloads in every free-text field (UIAdminSeed). For each page:
the status is 200, no JavaScript dialog opens (alert() would), the payload text is visible as
text, a screenshot is saved into --shots and axe-core reports no serious or critical
violation. A maintainer of the model's owner sees its webhook; a viewer sees none.

Prints one JSON line: {"ok": true, "pages": [...], "axe_serious": {...}} or {"ok": false, "error": ...}.
"""
import argparse
import json
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--maintainer-token", required=True)
    parser.add_argument("--viewer-token", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--webhook", required=True, help="the id of a webhook on the model's owner")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--shots", required=True)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from axe_playwright_python.sync_playwright import Axe
    axe = Axe()

    os.makedirs(args.shots, exist_ok=True)
    pages = []
    axe_results = {}
    timings = {}
    dialogs = []

    def check(condition, message):
        if not condition:
            raise AssertionError(message)

    def visit(page, name, path):
        started = time.monotonic()
        response = page.goto(args.server + path, wait_until="load")
        timings[name] = round((time.monotonic() - started) * 1000, 1)
        check(response is not None and response.status == 200, f"{path}: status {response.status if response else None}")
        shot = os.path.join(args.shots, f"{len(pages) + 1:02d}-{name}.png")
        page.screenshot(path=shot, full_page=True)
        pages.append({"name": name, "url": page.url, "screenshot": shot})
        results = axe.run(page)
        serious = [v for v in results.response.get("violations", []) if v.get("impact") in ("serious", "critical")]
        axe_results[name] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v.get("nodes", []))} for v in serious]
        return page.inner_text("main")

    def new_page(browser, token):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        # An alert() from a payload would open a dialog: record it and dismiss it.
        page.on("dialog", lambda dialog: (dialogs.append(f"{dialog.type}: {dialog.message} on {page.url}"), dialog.dismiss()))
        page.goto(args.server + "/ui/login", wait_until="domcontentloaded")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("domcontentloaded")
        check(page.url.endswith("/ui/models"), f"after sign-in: {page.url}")
        return page

    script = "<script>alert(1)</script>"
    image = "\"><img src=x onerror=alert(1)>"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            admin = new_page(browser, args.admin_token)
            model = "/ui/models/" + args.model
            text = visit(admin, "models-with-payloads", "/ui/models")
            check(script in text, "the model description shows as text")
            text = visit(admin, "model-aliases-retention", model)
            check("Alias history" in text and "Retention" in text, "the model page has alias history and retention")
            check(image in text, "the tag and hold reason show as text")
            admin.get_by_role("link", name="Every alias move of " + args.model).click()
            admin.wait_for_load_state("domcontentloaded")
            check(admin.url.endswith(model + "/aliases"), f"alias history link led to {admin.url}")
            text = visit(admin, "alias-history", model + "/aliases")
            check("version 1 → version 2" in text, "the alias move shows")
            text = visit(admin, "version-provenance", model + "/versions/1")
            check(admin.locator("svg[role=img]").count() == 1, "the lineage graph is drawn")
            check(admin.locator("svg rect").count() == 4, "four lineage boxes")
            check("Checks and metrics" in text and "accuracy" in text, "checks and metrics show")
            check("transformers==4.35.0" in text, "the requirements show")
            check(script in text, "the run name shows as text")
            visit(admin, "version-empty-states", model + "/versions/2")
            admin.get_by_role("link", name="Webhooks", exact=True).click()
            admin.wait_for_load_state("domcontentloaded")
            check(admin.url.endswith("/ui/webhooks"), f"the nav link led to {admin.url}")
            text = visit(admin, "webhooks-admin", "/ui/webhooks")
            check("https://hooks.example/" + image in text, "the webhook URL shows as text")
            check(script in text, "the delivery error shows as text")
            text = visit(admin, "retention", "/ui/retention")
            check("acme/*" in text and image in text, "the policy and the hold reason show")
            visit(admin, "requests-with-payloads", "/ui/requests")

            maintainer = new_page(browser, args.maintainer_token)
            text = visit(maintainer, "webhooks-maintainer", "/ui/webhooks")
            check(args.webhook in text, "a maintainer of the owner sees its webhook")
            check("all.example" not in text, "but not the registry-wide one")

            viewer = new_page(browser, args.viewer_token)
            text = visit(viewer, "webhooks-viewer", "/ui/webhooks")
            check("No webhooks you manage" in text and args.webhook not in text, "a viewer sees none")
            response = viewer.goto(args.server + "/ui/retention", wait_until="domcontentloaded")
            check(response is not None and response.status == 403, "retention is registry-wide: the viewer is refused")
            check(not dialogs, f"a payload opened a dialog: {dialogs}")
        finally:
            browser.close()

    serious = {name: found for name, found in axe_results.items() if found}
    print(json.dumps({"ok": not serious and not dialogs, "pages": pages, "axe_serious": serious, "dialogs": dialogs,
                      "dom_content_loaded_ms": timings}))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # reported as one JSON line for the Swift test
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
        sys.exit(1)

/// `rollout.js`, the UI's one script (served as `/ui/assets/rollout.HASH.js`, decision 0032): it
/// keeps a deployment page current by long-polling `…/deployments/:env/watch` with the session
/// cookie and putting the HTML it answers in place of `#live`. Without it the page is complete
/// and a reload shows the latest state. No inline script: the CSP of that one page allows
/// `script-src 'self'` and `connect-src 'self'`.
enum UIScripts {
    static let rollout = """
    // Vessel web UI: keeps a deployment page current (docs/ui.md). Progressive: the page works without it.
    (function () {
      "use strict";
      var live = document.getElementById("live");
      var status = document.getElementById("live-status");
      if (!live || !window.fetch || !window.DOMParser) { return; }
      var failures = 0;
      var after = live.getAttribute("data-revision") || "0";
      function say(text) { if (status) { status.textContent = text; } }
      function retry() {
        failures += 1;
        say("Lost contact with the server; trying again. Reload the page if this lasts.");
        window.setTimeout(poll, Math.min(30000, 1000 * Math.pow(2, failures)));
      }
      function poll() {
        var url = live.getAttribute("data-watch") + "?after=" + encodeURIComponent(after) + "&wait=25";
        fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
          if (response.status !== 200 || response.redirected) {
            if (response.redirected || response.status === 403) { say("Your session ended: reload the page to sign in again."); return; }
            retry();
            return;
          }
          return response.text().then(function (html) {
            var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
            if (!next) { retry(); return; }
            var changed = next.getAttribute("data-revision") !== after;
            after = next.getAttribute("data-revision") || after;
            failures = 0;
            var typing = live.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
            if (typing) {
              // Never replace a form being filled in: its revision is kept, so a stale rollback is refused.
              say("Changed to revision " + after + " while you were typing: reload the page to see it.");
            } else {
              var fresh = document.importNode(next, true);
              live.replaceWith(fresh);
              live = fresh;
              say((changed ? "Changed to revision " : "Up to date at revision ") + after +
                  " (" + new Date().toLocaleTimeString() + "); following changes as they happen.");
            }
            window.setTimeout(poll, 0);
          });
        }).catch(retry);
      }
      say("Following changes as they happen (revision " + live.getAttribute("data-revision") + ").");
      poll();
    })();
    """
}

/* Shared by the gallery and sequence pages (site and admin): polling that pauses while the
 * tab is hidden and backs off after errors, and a JSON GET with the session's cookies.
 * Plain JS, no build step; exposes window.SoraLive. */
(function () {
  "use strict";

  function poller(fetchOnce, intervalMs) {
    var failures = 0, timer = null;
    function tick() {
      timer = null;
      if (document.hidden) { timer = setTimeout(tick, intervalMs); return; }
      fetchOnce().then(function (keepGoing) {
        failures = 0;
        if (keepGoing) timer = setTimeout(tick, intervalMs);
      }, function () {
        failures += 1;
        timer = setTimeout(tick, Math.min(30000, intervalMs * Math.pow(2, failures)));
      });
    }
    timer = setTimeout(tick, intervalMs);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer) { clearTimeout(timer); tick(); }
    });
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  window.SoraLive = { poller: poller, getJSON: getJSON };
})();

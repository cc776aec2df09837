/* The job page: poll <pk>/progress/ while the job moves, move the progress bar, and
 * swap in the new live block (player, files, history, buttons) when the state changes
 * (and drop the success messages, which told the state the page was loaded in).
 * No page reload. Polling slows down after errors and stops once the job is settled. */
(function () {
  "use strict";

  var FAST = 1000, SLOW = 10000;

  function live() { return document.getElementById("sora-live"); }

  function apply(el, data) {
    var bar = el.querySelector("[data-sora-progress]");
    if (bar) {
      bar.setAttribute("aria-valuenow", data.progress);
      bar.firstElementChild.style.width = data.progress + "%";
    }
    var percent = el.querySelector("[data-sora-percent]");
    if (percent) { percent.textContent = data.progress; }
    var label = el.querySelector("[data-sora-label]");
    if (label) { label.textContent = data.label; }
  }

  function poll(delay) {
    window.setTimeout(function () {
      var el = live();
      if (!el) { return; }
      var url = el.dataset.progressUrl + "?v=" + encodeURIComponent(el.dataset.version);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (data.html) {
            el.outerHTML = data.html;
            el = live();
            /* "Job #N is queued" described the state the page was loaded in: it is stale now */
            document.querySelectorAll(".messagelist li.success, .messagelist li.info").forEach(function (li) {
              li.remove();
            });
            document.dispatchEvent(new CustomEvent("sora:live-updated", { detail: data }));
          }
          apply(el, data);
          if (data.active) { poll(FAST); }
        })
        .catch(function () { poll(SLOW); });
    }, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = live();
    if (el && el.dataset.active === "true") { poll(FAST); }
  });
})();

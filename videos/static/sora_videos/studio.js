/* The gallery's make page, on top of generate.js (which narrows the choices and prices them):
 * counts the shots ("||" between prompts, or several images) so the estimate covers them all,
 * and disables the button, saying why, when the estimate is more than the budget left.
 * The server checks the budget again under its lock; this only says it before the click.
 */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("sora-generate");
    if (!form) { return; }
    var costEl = form.querySelector("[data-sora-cost]");
    var button = form.querySelector("[data-sora-submit]");
    var over = form.querySelector("[data-sora-over]");
    var prompt = form.querySelector("[data-sora-prompt]");
    var shots = form.querySelector("[data-sora-shots]");
    var spendable = form.dataset.spendable === "" ? null : parseFloat(form.dataset.spendable);

    function count() {
      var prompts = prompt ? prompt.value.split("||").length : 1;
      var files = shots && shots.files ? shots.files.length : 0;
      var n = Math.max(prompts, files, 1);
      if (costEl && String(n) !== costEl.dataset.soraCount) {
        costEl.dataset.soraCount = String(n);
        document.dispatchEvent(new CustomEvent("sora:count"));
      }
    }

    document.addEventListener("sora:cost", function (event) {
      var tooMuch = spendable !== null && event.detail.cost > spendable + 1e-9;
      if (button) { button.disabled = tooMuch; }
      if (over) { over.hidden = !tooMuch; }
      if (button) { button.textContent = costEl && parseInt(costEl.dataset.soraCount, 10) > 1 ? "Make sequence" : "Make video"; }
    });
    if (prompt) { prompt.addEventListener("input", count); }
    if (shots) { shots.addEventListener("change", count); }
    count();
  });
})();

/* The Generate sequence page: add shot rows, keep each shot's length choices to what the
 * chosen model offers, and add up the estimated cost of the shots written so far.
 * generate.js narrows provider, model, size and the default length (it fires
 * "sora:settings"); the server checks everything again. */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function money(amount) { return (Math.round(amount * 100) / 100).toFixed(2); }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("sora-generate-sequence");
    var tableEl = document.getElementById("sora-models");
    if (!form || !tableEl) { return; }
    var table = JSON.parse(tableEl.textContent);
    var rows = $("[data-sora-shots]", form);
    var template = document.getElementById("sora-shot-template");
    var total = $('input[name="shots-TOTAL_FORMS"]', form);
    var addButton = $("[data-sora-add-shot]", form);
    var max = parseInt(rows.dataset.max, 10) || 20;
    var costEl = $("[data-sora-seq-cost]", form);
    var detailEl = $("[data-sora-seq-detail]", form);

    function setting(name) { var el = $('[data-sora="' + name + '"]', form); return el ? el.value : ""; }
    function spec() {
      var p = table.providers[setting("provider")];
      return p ? p.models[setting("model")] : null;
    }

    function refillShotSeconds() {
      var s = spec();
      if (!s) { return; }
      $all("select[data-sora-shot-seconds]", form).forEach(function (select) {
        var current = select.value;
        select.innerHTML = "";
        [""].concat(s.seconds).forEach(function (value) {
          var option = document.createElement("option");
          option.value = value;
          option.textContent = value ? value + " s" : "Default";
          option.selected = value === current || (!value && s.seconds.indexOf(current) === -1);
          select.appendChild(option);
        });
      });
    }

    function updateCost() {
      var s = spec();
      var shots = $all("[data-sora-shot]", rows).filter(function (row) {
        var prompt = $("textarea", row);
        return prompt && prompt.value.trim();
      });
      if (!s) { costEl.textContent = "—"; return; }
      if (!shots.length) { costEl.textContent = "—"; detailEl.textContent = "Write the shots to see the cost."; return; }
      var price = parseFloat(s.prices[setting("size")] !== undefined ? s.prices[setting("size")] : (s.prices["*"] || "0"));
      var fallback = parseInt(setting("seconds"), 10) || 0;
      var seconds = 0;
      shots.forEach(function (row) {
        var own = $("select[data-sora-shot-seconds]", row);
        seconds += (own && parseInt(own.value, 10)) || fallback;
      });
      costEl.textContent = money(price * seconds);
      detailEl.textContent = shots.length + " shot" + (shots.length > 1 ? "s" : "") + " · " + seconds + " s in all" +
        (price > 0 ? " · " + money(price) + " " + table.currency + "/s" : " · this provider does not charge per second");
    }

    function renumber() {
      $all("[data-sora-shot]", rows).forEach(function (row, index) {
        var number = $("[data-sora-shot-number]", row);
        if (number) { number.textContent = String(index + 1); }
      });
      if (addButton) { addButton.disabled = parseInt(total.value, 10) >= max; }
    }

    if (addButton && template && total) {
      addButton.hidden = false;
      addButton.addEventListener("click", function () {
        var index = parseInt(total.value, 10) || 0;
        if (index >= max) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
        var row = holder.firstElementChild;
        rows.appendChild(row);
        total.value = String(index + 1);
        refillShotSeconds();
        renumber();
        var prompt = $("textarea", row);
        if (prompt) { prompt.focus(); }
      });
    }

    document.addEventListener("sora:settings", function () { refillShotSeconds(); updateCost(); });
    form.addEventListener("change", updateCost);
    form.addEventListener("input", updateCost);
    refillShotSeconds();
    renumber();
    updateCost();
  });
})();

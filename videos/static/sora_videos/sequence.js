/* Sequences: live progress of the shots and the stitch, in the gallery and in the admin.
 * Plain JS, no build step. The pages poll the sequence status JSON (paused while the tab is
 * hidden, slower after errors). Progress moves in place; when a shot finishes or fails, or
 * the stitch lands, the page is drawn again (the JSON's "version" changed). */
(function () {
  "use strict";

  var poller = window.SoraLive.poller, getJSON = window.SoraLive.getJSON;

  function setBar(root, barSel, percentSel, value) {
    var pct = Math.max(0, Math.min(100, value | 0));
    var bar = root.querySelector(barSel);
    if (bar) {
      bar.style.width = pct + "%";
      var track = bar.closest("[role=progressbar]");
      if (track) track.setAttribute("aria-valuenow", String(pct));
    }
    var percent = root.querySelectorAll(percentSel);
    for (var i = 0; i < percent.length; i++) percent[i].textContent = String(pct);
  }

  function setText(root, sel, text) {
    var els = root.querySelectorAll(sel);
    for (var i = 0; i < els.length; i++) els[i].textContent = text;
  }

  /* one sequence: the gallery's detail page and the admin's sequence page */
  function watchSequence() {
    var root = document.querySelector("[data-seq-status-url][data-active]");
    if (!root) return;
    var interval = parseInt(root.dataset.pollMs, 10) || 2000;
    poller(function () {
      return getJSON(root.dataset.seqStatusUrl).then(function (info) {
        if (info.version !== root.dataset.version || !info.watch) {
          window.location.reload();
          return false;
        }
        setBar(root, "[data-seq-bar]", "[data-seq-percent]", info.progress);
        setText(root, "[data-seq-label]", info.status_label);
        (info.shots || []).forEach(function (shot) {
          var row = root.querySelector('[data-shot="' + shot.position + '"]');
          if (!row) return;
          setBar(row, "[data-shot-bar]", "[data-shot-percent]", shot.progress);
          setText(row, "[data-shot-label]", shot.status_label);
        });
        return true;
      });
    }, interval);
  }

  /* the sequences grid: in-flight cards move, finished ones are swapped for their final card */
  function watchGrid() {
    var grid = document.querySelector(".grid[data-sequence-poll]");
    if (!grid || !grid.querySelector(".card[data-active][data-sequence]")) return;
    var interval = parseInt(grid.dataset.pollMs, 10) || 2000;
    poller(function () {
      var cards = grid.querySelectorAll(".card[data-active][data-sequence]");
      if (!cards.length) return Promise.resolve(false);
      var ids = [];
      for (var i = 0; i < cards.length; i++) ids.push(cards[i].dataset.sequence);
      var url = grid.dataset.sequencePoll + "?cards=1&ids=" + encodeURIComponent(ids.join(","));
      return getJSON(url).then(function (data) {
        var found = data.sequences || {};
        for (var j = 0; j < cards.length; j++) {
          var card = cards[j], info = found[card.dataset.sequence];
          if (!info) continue;
          if (info.active) {
            var bar = card.querySelector(".progress__fill");
            if (bar) {
              bar.style.width = Math.max(0, Math.min(100, info.progress | 0)) + "%";
              var track = bar.closest("[role=progressbar]");
              if (track) track.setAttribute("aria-valuenow", String(info.progress | 0));
            }
            setText(card, "[data-percent]", String(info.progress | 0));
            setText(card, "[data-status-label]", info.status_label);
            setText(card, "[data-working]", info.status === "stitching" ? "Stitching…" : "Rendering shots…");
            continue;
          }
          if (info.html) {
            var tpl = document.createElement("template");
            tpl.innerHTML = info.html.trim();
            var fresh = tpl.content.firstElementChild;
            if (fresh) {
              fresh.classList.add("is-done");
              card.replaceWith(fresh);
              if (window.SoraGallery && window.SoraGallery.setupScrub) window.SoraGallery.setupScrub(fresh);
            }
          } else {
            card.removeAttribute("data-active");
          }
        }
        return grid.querySelector(".card[data-active][data-sequence]") !== null;
      });
    }, interval);
  }

  function init() {
    watchSequence();
    watchGrid();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

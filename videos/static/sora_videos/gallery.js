/* Sora videos gallery: spritesheet scrubbing and live progress. Plain JS, no build step. */
(function () {
  "use strict";

  var poller = window.SoraLive.poller, getJSON = window.SoraLive.getJSON;

  /* ---- spritesheet scrubbing ---------------------------------------------------------
   * Our own spritesheets are a JPEG grid of 10 frames, 5 to a row (videos/media.py); a
   * provider's may differ, so the grid is read from the image's natural size: the tile
   * has the video's aspect ratio, and among the column counts whose rows come out whole,
   * the one whose frame count is nearest the hint wins. The hint is the fallback. */
  function detectGrid(img, aspect, hintCols, hintFrames) {
    var W = img.naturalWidth, H = img.naturalHeight;
    var fallback = { cols: hintCols, rows: Math.ceil(hintFrames / hintCols), frames: hintFrames };
    if (!W || !H || !aspect) return fallback;
    var best = null;
    for (var cols = 1; cols <= 30; cols++) {
      var tileH = W / cols / aspect;
      var rowsF = H / tileH;
      var rows = Math.round(rowsF);
      if (rows < 1 || Math.abs(rowsF - rows) > 0.04 * rows) continue;
      var total = cols * rows;
      var score = Math.abs(total - hintFrames) * 10 + Math.abs(cols - hintCols);
      if (!best || score < best.score) best = { cols: cols, rows: rows, score: score, total: total };
    }
    if (!best) return fallback;
    var frames = best.total >= hintFrames && best.total - hintFrames < best.cols ? hintFrames : best.total;
    return { cols: best.cols, rows: best.rows, frames: frames };
  }

  function setupScrub(card) {
    var scrub = card.querySelector(".scrub[data-sprite]");
    var media = card.querySelector(".card__media");
    if (!scrub || !media || card.dataset.scrubReady) return;
    card.dataset.scrubReady = "1";
    var grid = null, loading = false;
    var size = (card.dataset.size || scrub.dataset.size || "16x9").split("x");
    var aspect = parseInt(size[0], 10) / parseInt(size[1], 10);
    var hintCols = parseInt(scrub.dataset.cols, 10) || 5;
    var hintFrames = parseInt(scrub.dataset.frames, 10) || 10;
    var lastX = null;

    function load() {
      if (loading) return;
      loading = true;
      var img = new Image();
      img.decoding = "async";
      img.onload = function () {
        grid = detectGrid(img, aspect, hintCols, hintFrames);
        scrub.style.backgroundImage = "url(\"" + scrub.dataset.sprite + "\")";
        scrub.style.backgroundSize = (grid.cols * 100) + "% " + (grid.rows * 100) + "%";
        if (lastX !== null) show(lastX);
      };
      img.src = scrub.dataset.sprite;
    }

    function show(fraction) {
      lastX = fraction;
      if (!grid) return;
      var i = Math.min(grid.frames - 1, Math.max(0, Math.floor(fraction * grid.frames)));
      var col = i % grid.cols, row = Math.floor(i / grid.cols);
      var x = grid.cols > 1 ? (col / (grid.cols - 1)) * 100 : 0;
      var y = grid.rows > 1 ? (row / (grid.rows - 1)) * 100 : 0;
      scrub.style.backgroundPosition = x + "% " + y + "%";
      scrub.style.setProperty("--scrub", ((i + 1) / grid.frames * 100) + "%");
      card.classList.add("is-scrubbing");
      card.dataset.frame = String(i);
    }

    function onMove(event) {
      var rect = media.getBoundingClientRect();
      if (event.clientY < rect.top || event.clientY > rect.bottom || rect.width === 0) {
        stop();
        return;
      }
      load();
      show((event.clientX - rect.left) / rect.width);
    }

    function stop() {
      card.classList.remove("is-scrubbing");
      lastX = null;
    }

    card.addEventListener("pointermove", onMove);
    card.addEventListener("pointerenter", onMove);
    card.addEventListener("pointerleave", stop);
  }

  function setupAllScrubs(root) {
    var cards = (root || document).querySelectorAll(".card");
    for (var i = 0; i < cards.length; i++) setupScrub(cards[i]);
  }

  /* ---- live progress ---------------------------------------------------------------- */
  var live = null;
  function announce(text) {
    if (!live) {
      live = document.createElement("div");
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      live.setAttribute("role", "status");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function updateProgress(root, info) {
    var bar = root.querySelector("[data-progress]");
    if (!bar) return;
    var track = bar.querySelector("[role=progressbar]");
    var fill = bar.querySelector(".progress__fill");
    var pct = Math.max(0, Math.min(100, info.progress | 0));
    if (track) track.setAttribute("aria-valuenow", String(pct));
    if (fill) fill.style.width = pct + "%";
    var percent = bar.querySelector("[data-percent]");
    if (percent) percent.textContent = String(pct);
    var label = bar.querySelector("[data-status-label]");
    if (label) label.textContent = info.status_label;
    var note = bar.querySelector("[data-note]");
    if (note) {
      note.textContent = info.note || "";
      note.hidden = !info.note;
    }
    var working = root.querySelector("[data-working]");
    if (working) {
      working.textContent = { pending: "Submitting…", submitting: "Submitting…", queued: "Queued…",
        downloading: "Saving…" }[info.status] || "Generating…";
    }
  }

  function watchGallery() {
    var grid = document.querySelector(".grid[data-poll]");
    if (!grid || !grid.querySelector(".card[data-active]")) return;
    var url = grid.dataset.poll;
    var interval = parseInt(grid.dataset.pollMs, 10) || 2000;
    poller(function () {
      var cards = grid.querySelectorAll(".card[data-active]");
      if (!cards.length) return Promise.resolve(false);
      var ids = [];
      for (var i = 0; i < cards.length; i++) ids.push(cards[i].dataset.job);
      return getJSON(url + "?cards=1&ids=" + encodeURIComponent(ids.join(","))).then(function (data) {
        var jobs = data.jobs || {};
        for (var j = 0; j < cards.length; j++) {
          var card = cards[j], info = jobs[card.dataset.job];
          if (!info) continue;
          if (info.active) { updateProgress(card, info); continue; }
          if (info.html) {
            var tpl = document.createElement("template");
            tpl.innerHTML = info.html.trim();
            var fresh = tpl.content.firstElementChild;
            if (fresh) {
              fresh.classList.add("is-done");
              card.replaceWith(fresh);
              setupScrub(fresh);
              var title = fresh.querySelector(".card__title");
              announce((title ? title.textContent.trim() + ": " : "") + info.status_label);
            }
          } else {
            card.removeAttribute("data-active");
          }
        }
        return grid.querySelector(".card[data-active]") !== null;
      });
    }, interval);
  }

  function watchDetail() {
    var detail = document.querySelector(".detail[data-active][data-status-url]");
    if (!detail) return;
    var interval = parseInt(detail.dataset.pollMs, 10) || 2000;
    poller(function () {
      return getJSON(detail.dataset.statusUrl).then(function (info) {
        updateProgress(detail, info);
        if (info.done) { window.location.reload(); return false; }
        return true;
      });
    }, interval);
  }

  function init() {
    setupAllScrubs(document);
    watchGallery();
    watchDetail();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  window.SoraGallery = { detectGrid: detectGrid, setupScrub: setupScrub };
})();

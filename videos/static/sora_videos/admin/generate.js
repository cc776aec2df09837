/* The Generate page and the settings/extend confirmation pages of the videos admin.
 *
 * Narrows model, size and seconds to what the chosen provider's model allows, updates
 * the estimated cost from the same table (embedded by the server as #sora-models),
 * and previews how a reference image of another size is fitted. The server checks
 * everything again: this only saves the operator a round trip.
 */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function money(amount) { return (Math.round(amount * 100) / 100).toFixed(2); }

  function rowOf(el) { return el.closest(".form-row") || el; }

  function refill(select, values, labelFor, preferred) {
    var current = select.value;
    var keep = values.indexOf(current) !== -1 ? current : (values.indexOf(preferred) !== -1 ? preferred : values[0]);
    select.innerHTML = "";
    values.forEach(function (value) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = labelFor ? labelFor(value) : value;
      option.selected = value === keep;
      select.appendChild(option);
    });
  }

  function setupSettings(table) {
    var provider = $('[data-sora="provider"]');
    var model = $('[data-sora="model"]');
    var size = $('[data-sora="size"]');
    var seconds = $('[data-sora="seconds"]');
    if (!provider || !model || !size || !seconds) { return null; }
    var costEl = $("[data-sora-cost]");
    var detailEl = $("[data-sora-cost-detail]");

    function spec() {
      var p = table.providers[provider.value];
      return p ? p.models[model.value] : null;
    }

    function updateCost() {
      var s = spec();
      if (!costEl) { return; }
      if (!s) { costEl.textContent = "—"; return; }
      var count = costEl.dataset.soraCount ? parseInt(costEl.dataset.soraCount, 10) || 1 : 1;
      var price = parseFloat(s.prices[size.value] !== undefined ? s.prices[size.value] : (s.prices["*"] || "0"));
      var other = $('[data-sora-open="seconds"]');
      var secs = parseInt((other && other.value) || seconds.value, 10) || 0;
      costEl.textContent = money(price * secs * count);
      if (detailEl) {
        detailEl.textContent = price > 0
          ? money(price) + " " + table.currency + "/s × " + secs + " s" + (count > 1 ? " × " + count + " videos" : "")
          : "This provider does not charge per second.";
      }
      document.dispatchEvent(new CustomEvent("sora:cost", { detail: { cost: price * secs * count } }));
    }

    function onModel() {
      var s = spec();
      if (!s) { return; }
      refill(size, s.sizes, null, size.value);
      refill(seconds, s.seconds, function (v) { return v + " s"; }, seconds.value);
      $all("[data-sora-extra]").forEach(function (el) {
        rowOf(el).hidden = s.extra_params.indexOf(el.dataset.soraExtra) === -1;
      });
      $all("[data-sora-open]").forEach(function (el) {  // servers that take any size or length
        var open = el.dataset.soraOpen === "size" ? s.open_sizes : s.open_seconds;
        rowOf(el).hidden = !open;
        if (!open) { el.value = ""; }
      });
      updateCost();
      document.dispatchEvent(new CustomEvent("sora:settings"));
    }

    function onProvider() {
      var p = table.providers[provider.value];
      if (!p) { return; }
      refill(model, Object.keys(p.models), null, model.value in p.models ? model.value : p.default_model);
      $all("[data-sora-emulator-banner]").forEach(function (el) { el.hidden = !p.emulator; });
      onModel();
    }

    provider.addEventListener("change", onProvider);
    model.addEventListener("change", onModel);
    size.addEventListener("change", function () { updateCost(); document.dispatchEvent(new CustomEvent("sora:settings")); });
    seconds.addEventListener("change", updateCost);
    document.addEventListener("sora:count", updateCost);
    $all("[data-sora-open]").forEach(function (el) { el.addEventListener("input", updateCost); });
    onProvider();
    return { size: size };
  }

  function csrfToken(form) {
    var input = $('input[name="csrfmiddlewaretoken"]', form);
    return input ? input.value : "";
  }

  function setupReference(form, settings) {
    var fileInput = $('input[type="file"][name="reference_upload"]', form);
    var hidden = $('input[name="reference_image"]', form);
    var box = $("[data-sora-reference]", form);
    if (!fileInput || !hidden || !box) { return; }
    var note = $("[data-sora-reference-note]", box);
    var fitted = $("[data-sora-fitted]", box);
    var fittedCaption = $("[data-sora-fitted-caption]", box);
    var original = $("[data-sora-original]", box);
    var errorEl = $("[data-sora-upload-error]", form);
    var fitTemplate = form.dataset.fitUrl;

    function fitMode() {
      var checked = $('input[name="fit"]:checked', form);
      return checked ? checked.value : "crop";
    }

    function refresh() {
      var id = box.dataset.refId;
      if (!id || !settings) { return; }
      var size = settings.size.value;
      var mode = fitMode();
      var w = parseInt(box.dataset.refWidth, 10), h = parseInt(box.dataset.refHeight, 10);
      var same = (w + "x" + h) === size;
      fitted.src = fitTemplate.replace("999999999", id).replace("WxH", size).replace("MODE", mode);
      fittedCaption.textContent = same ? "Sent as is (" + size + ")" : "As it will be sent: " + size + ", " + mode;
      note.textContent = box.dataset.refName + ": " + w + "×" + h + ". " + (same
        ? "It matches the video size and is sent unchanged."
        : "The video is " + size.replace("x", "×") + ", so a " + (mode === "crop"
          ? "cropped copy that fills the frame" : "letterboxed copy (black bars)") + " is sent; the original is kept.");
    }

    function show(data) {
      box.dataset.refId = data.id;
      box.dataset.refWidth = data.width;
      box.dataset.refHeight = data.height;
      box.dataset.refName = data.name;
      hidden.value = data.id;
      if (data.url) { $("img", original).src = data.url; original.hidden = false; } else { original.hidden = true; }
      box.hidden = false;
      rowOf(fileInput).hidden = true;  /* stored: no "No file chosen" above its preview */
      refresh();
    }

    fileInput.addEventListener("change", function () {
      if (!fileInput.files.length) { return; }
      errorEl.hidden = true;
      var body = new FormData();
      body.append("image", fileInput.files[0]);
      note.textContent = "Checking the image…";
      box.hidden = false;
      fetch(form.dataset.uploadUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(form), "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        if (!result.ok) { throw new Error(result.data.error || "The image was refused."); }
        fileInput.value = "";  /* stored: the form sends its id, not the file again */
        show(result.data);
      }).catch(function (error) {
        box.hidden = !box.dataset.refId;
        errorEl.textContent = error.message;
        errorEl.hidden = false;
      });
    });

    $all('input[name="fit"]', form).forEach(function (el) { el.addEventListener("change", refresh); });
    document.addEventListener("sora:settings", refresh);
    var clear = $("[data-sora-clear-reference]", form);
    if (clear) {
      clear.addEventListener("click", function () {
        hidden.value = "";
        delete box.dataset.refId;
        box.hidden = true;
        rowOf(fileInput).hidden = false;
      });
    }
    if (box.dataset.refId) {
      rowOf(fileInput).hidden = true;
      box.dataset.refName = (note.textContent.split(":")[0] || "Image").trim();
      refresh();
    }
  }

  function setupPromptChoice(form) {
    var select = $('select[name="saved_prompt"]', form);
    var written = $("[data-sora-written]", form);
    if (!select || !written) { return; }
    function sync() {
      var chosen = !!select.value;
      written.classList.toggle("sora-dimmed", chosen);
      $all("input, textarea", written).forEach(function (el) { el.readOnly = chosen; });
    }
    if (window.django && window.django.jQuery) { window.django.jQuery(select).on("change", sync); }
    select.addEventListener("change", sync);
    sync();
  }

  function setupRate() {
    /* Extend confirmation: cost = price per second of the selected videos × added seconds. */
    var costEl = $("[data-sora-rate]");
    var seconds = $('select[name="seconds"]');
    if (!costEl || !seconds) { return; }
    var rate = parseFloat(costEl.dataset.soraRate);
    function update() { costEl.textContent = money(rate * (parseInt(seconds.value, 10) || 0)); }
    seconds.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var tableEl = document.getElementById("sora-models");
    var settings = null;
    if (tableEl) { settings = setupSettings(JSON.parse(tableEl.textContent)); }
    var form = document.getElementById("sora-generate");
    if (form) {
      setupReference(form, settings);
      setupPromptChoice(form);
    }
    setupRate();
  });
})();

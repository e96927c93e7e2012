// The dashboard's only script (the CSP forbids inline scripts). Loaded with `defer` after htmx.
(function () {
  "use strict";
  if (!window.htmx) return;

  htmx.config.includeIndicatorStyles = false; // no inline <style> (CSP)
  htmx.config.allowEval = false;
  htmx.config.historyCacheSize = 20;
  // Swap error responses too: the dashboard answers failures (502/504/429) with a fragment for the
  // target that says what went wrong; htmx 2 would otherwise leave the old table in place silently.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true },
  ];

  document.body.addEventListener("htmx:configRequest", function (event) {
    // CSRF token on every HTMX request, from <body data-csrf-token>.
    var token = document.body.dataset.csrfToken;
    if (token) event.detail.headers["X-CSRFToken"] = token;
    // Keep pushed URLs short and shareable: drop empty filter fields from GET queries.
    var data = event.detail.formData;
    if (event.detail.verb === "get" && data) {
      var empty = [];
      data.forEach(function (value, key) { if (value === "") empty.push(key); });
      empty.forEach(function (key) { data.delete(key); });
    }
  });

  // Mark the region being refreshed as busy for assistive technology.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target) target.setAttribute("aria-busy", "true");
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = document.getElementById(event.detail.target && event.detail.target.id);
    if (target) target.removeAttribute("aria-busy");
    // Announce the outcome of a swap in the persistent live region (the swapped region is new DOM,
    // which screen readers do not announce by itself).
    var status = document.getElementById("results-status");
    if (status && target) {
      var count = target.querySelector("#result-count");
      var alert = target.matches("[role=alert]") ? target : target.querySelector("[role=alert]");
      status.textContent = alert ? alert.textContent.trim() : count ? count.textContent.trim() : "";
    }
  });

  // Phones: fold the long date/status filters unless one of them is in use.
  if (window.matchMedia("(max-width: 760px)").matches) {
    document.querySelectorAll("details.more-filters:not([data-active])").forEach(function (d) {
      d.removeAttribute("open");
    });
  }

  // Network failure (server gone): say so instead of doing nothing.
  document.body.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target;
    if (!target) return;
    var box = document.createElement("div");
    box.className = "alert alert-error";
    box.setAttribute("role", "alert");
    box.textContent = "The dashboard could not be reached. Check your connection and try again.";
    target.prepend(box);
  });
})();

// Order action dialogs (templates/dashboard/orders/actions/). A link with aria-haspopup="dialog" loads the
// action's form into <dialog id="action-dialog"> (hx-get + hx-target); this opens it modally, moves focus
// to the first field (or the first error), and on close — Escape, a Close control, or the server's
// `action-succeeded` event after a successful submit — empties it and returns focus to the opener.
(function () {
  "use strict";
  if (!window.htmx) return;
  var openerId = null;

  function focusInto(dialog) {
    var target = dialog.querySelector('[aria-invalid="true"]');
    if (!target && dialog.querySelector(".form-errors .alert")) target = dialog.querySelector(".form-errors");
    if (!target) target = dialog.querySelector(".action-form input:not([type=hidden]), .action-form select, .action-form textarea");
    if (!target) target = dialog.querySelector("[data-close-dialog]");
    if (target) target.focus();
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.getAttribute && elt.getAttribute("aria-haspopup") === "dialog") openerId = elt.id || null;
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.detail.target;
    if (!dialog || dialog.tagName !== "DIALOG") return;
    // The confirmation after a success has neither: the `action-succeeded` event closes the dialog.
    if (!dialog.querySelector(".action-form, [data-close-dialog]")) return;
    if (!dialog.open) dialog.showModal();
    focusInto(dialog);
  });

  document.body.addEventListener("click", function (event) {
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    var dialog = closer && closer.closest("dialog");
    if (!dialog) return; // on the action's own page (no JavaScript path) it is a real link back
    event.preventDefault();
    dialog.close();
  });

  document.body.addEventListener("action-succeeded", function () {
    var dialog = document.getElementById("action-dialog");
    if (dialog && dialog.open) dialog.close();
  });

  // `close` does not bubble: listen in the capture phase.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!dialog || dialog.id !== "action-dialog") return;
    dialog.replaceChildren(); // reopening always loads a fresh form, with a fresh Idempotency-Key
    // The opener may have been replaced by the refreshed actions (or be gone: "Mark shipped" after shipping).
    var opener = openerId && document.getElementById(openerId);
    if (!opener) opener = document.querySelector("#order-actions a, #order-actions button") || document.getElementById("main");
    if (opener) opener.focus();
  }, true);
})();

// The status dialog asks for carrier and tracking number only for a move that ships the order: the
// server renders the fieldset for the preselected status and lists the shipping statuses on it.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches(".action-form select[name=status]")) return;
  var fields = select.form && select.form.querySelector(".tracking-fields");
  if (!fields) return;
  var ships = (fields.dataset.shippingStatuses || "").split(" ").indexOf(select.value) !== -1;
  fields.hidden = !ships;
  fields.disabled = !ships; // disabled controls are not sent: nothing typed before stays behind
});

// Copy buttons (the customer's email and phone on the order page): shown only with JavaScript and a
// clipboard; the text itself stays a mailto:/tel: link to select by hand.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy-from]").forEach(function (button) { button.hidden = false; });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-from]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copyFrom);
    if (!source) return;
    var label = button.firstChild;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.setAttribute("aria-live", "polite");
      label.textContent = "Copied";
      // Back to "Copy" once the person moves on, so the next copy is confirmed again.
      button.addEventListener("blur", function () { label.textContent = "Copy"; }, { once: true });
    });
  });
})();

// The dashboard's only script (the CSP forbids inline scripts). Loaded with `defer` after htmx.
(function () {
  "use strict";
  if (!window.htmx) return;

  htmx.config.includeIndicatorStyles = false; // no inline <style> (CSP)
  htmx.config.allowEval = false;
  // No snapshots of the page in sessionStorage: a snapshot keeps the DOM as it was mid-request (the
  // table dimmed and aria-busy) and the form's attributes, not what was typed or ticked, so Back showed
  // filters that disagree with the URL. Back/Forward over pushed URLs reloads the page from the server
  // instead (the list views render the full page, filters from the URL).
  htmx.config.historyCacheSize = 0;
  htmx.config.refreshOnHistoryMiss = true;
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

  // Text filters (search, actor) ask once the person pauses typing or pasting: their form listens for
  // `filter-input` (hx-trigger), fired here 300 ms after the last `input` event. Their `change` (on
  // blur) must not send the form again, and any request the form sends (a tick, Enter) drops a
  // pending one, so each change makes one request and one history entry.
  var pendingInput = null;
  document.body.addEventListener("input", function (event) {
    var field = event.target.closest && event.target.closest("[data-filter-input]");
    if (!field || !field.form) return;
    clearTimeout(pendingInput);
    pendingInput = setTimeout(function () { htmx.trigger(field.form, "filter-input"); }, 300);
  });
  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("[data-filter-input]")) event.stopPropagation();
  }, true);
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var form = elt && (elt.tagName === "FORM" ? elt : elt.form); // the sort select is form="filters"
    if (form && form.querySelector("[data-filter-input]")) clearTimeout(pendingInput);
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

  // "Add row" in a key/value rows table: a copy of the last new-key row, empty, numbered next. Without
  // JavaScript the button submits and the server sends the form back with one more row.
  document.body.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-add-row]");
    var form = button && button.form;
    var total = form && form.querySelector('input[name$="-TOTAL_FORMS"]');
    var rows = form && form.querySelectorAll(".rows-table tbody tr:not(.row-error)");
    var last = rows && rows[rows.length - 1];
    if (!total || !last || !last.querySelector('input[name$="-original_key"][value=""], input[name$="-original_key"]:not([value])')) return;
    event.preventDefault();
    var prefix = total.name.replace(/-TOTAL_FORMS$/, "");
    var index = parseInt(total.value, 10);
    var row = last.cloneNode(true);
    var pattern = new RegExp(prefix + "-\\d+-");
    row.querySelectorAll("input, label, p").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(pattern, prefix + "-" + index + "-"));
      });
      if (el.tagName === "INPUT") { el.value = ""; el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); }
      if (el.tagName === "P") el.remove(); // the copied row's error
      if (el.tagName === "LABEL") el.textContent = el.textContent.replace(/\d+$/, String(index + 1));
    });
    last.after(row);
    total.value = String(index + 1);
    row.querySelector('input[name$="-key"]').focus();
  });

  // A session that expired while a dialog was open: the server sends the window to the sign-in page
  // (HX-Redirect) and back to this order afterwards. Keep what was typed until then (this tab only),
  // reopen the same dialog on return and put it back; nothing was sent, so sending it again acts once.
  var UNSENT = "dashboard-unsent-dialog";
  document.body.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    var form = event.detail.elt;
    if (!xhr || !xhr.getResponseHeader("HX-Redirect") || !form.matches || !form.matches("dialog form.action-form")) return;
    var values = [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "hidden" || field.type === "submit") return;
      if ((field.type === "checkbox" || field.type === "radio") && !field.checked) return;
      values.push([field.name, field.value]);
    });
    sessionStorage.setItem(UNSENT, JSON.stringify({ page: location.pathname, action: form.getAttribute("action"), values: values, at: Date.now() }));
  });
  document.addEventListener("DOMContentLoaded", function () {
    var unsent = JSON.parse(sessionStorage.getItem(UNSENT) || "null");
    if (!unsent || unsent.page !== location.pathname) return;
    sessionStorage.removeItem(UNSENT);
    if (Date.now() - unsent.at > 30 * 60 * 1000) return; // a sign-in takes minutes, not an afternoon
    var opener = Array.prototype.find.call(document.querySelectorAll('#order-actions a[aria-haspopup="dialog"]'), function (a) {
      return a.getAttribute("href").split("?")[0] === unsent.action;
    });
    if (!opener) return; // the action no longer applies to the order
    document.body.addEventListener("htmx:afterSwap", function refill(event) {
      var form = event.detail.target.querySelector && event.detail.target.querySelector("form.action-form");
      if (!form) return;
      document.body.removeEventListener("htmx:afterSwap", refill);
      unsent.values.forEach(function (pair) {
        Array.prototype.forEach.call(form.querySelectorAll('[name="' + CSS.escape(pair[0]) + '"]'), function (field) {
          if (field.type === "checkbox" || field.type === "radio") field.checked = field.value === pair[1];
          else if (field.type !== "hidden") field.value = pair[1];
        });
      });
    });
    opener.click();
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

// Keyboard shortcuts on the orders list (the dialog: templates/dashboard/orders/_shortcuts_dialog.html):
// `/` focuses search, `j`/`k` move through the rows (focus on the row's order link, so Enter opens it as
// any focused link does), `?` shows the shortcuts; Escape closes the dialog (a native <dialog>). Keys are
// ignored while typing in a field, with a modifier held, or while a dialog is open.
(function () {
  "use strict";
  var dialog = document.getElementById("shortcuts-dialog");
  if (!dialog) return;
  var opener = null;

  document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { openHelp(button); });
  });

  function openHelp(from) {
    if (dialog.open) return;
    opener = from || document.activeElement;
    dialog.showModal();
    var close = dialog.querySelector("[data-close-dialog]");
    if (close) close.focus();
  }

  // `close` does not bubble: listen on the dialog itself. Focus goes back where it was (a row stays selected).
  dialog.addEventListener("close", function () {
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  });

  // Text fields, text areas and selects (which type-ahead) keep their keys; a ticked checkbox does not,
  // so `j` works right after filtering by status.
  var NOT_TYPING = ["checkbox", "radio", "button", "submit", "reset", "image", "file", "color", "range"];
  function isTyping(target) {
    if (!target || !target.closest) return false;
    if (target.tagName === "INPUT") return NOT_TYPING.indexOf(target.type) === -1;
    return Boolean(target.closest("textarea, select, [contenteditable]:not([contenteditable=false])"));
  }

  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#orders-table tbody a.order-link"));
  }

  function moveRow(step) {
    var links = rowLinks();
    if (!links.length) return;
    var current = links.indexOf(document.activeElement);
    if (current === -1) {
      var marked = document.querySelector("#orders-table tbody tr.row-current a.order-link");
      current = links.indexOf(marked);
    }
    var next = current === -1 ? (step > 0 ? 0 : links.length - 1) : Math.min(Math.max(current + step, 0), links.length - 1);
    document.querySelectorAll("#orders-table tbody tr.row-current").forEach(function (row) {
      row.classList.remove("row-current");
    });
    var link = links[next];
    link.closest("tr").classList.add("row-current");
    link.focus();
    link.scrollIntoView({ block: "nearest" });
    // Chromium (156) may hand the focus back, after this key's handlers, to the opener of a dialog closed
    // just before (the shortcuts' button): the row would be marked but the focus (and Enter) elsewhere.
    setTimeout(function () {
      if (document.activeElement !== link && link.isConnected && link.closest("tr.row-current")) link.focus();
    }, 0);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || document.querySelector("dialog[open]")) return;
    if (event.key === "?") {
      event.preventDefault();
      openHelp(document.activeElement);
    } else if (event.key === "/") {
      var search = document.querySelector("#filters input[type=search]");
      if (!search) return;
      event.preventDefault(); // or the "/" would be typed into the box
      search.focus();
      search.select();
    } else if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      moveRow(event.key === "j" ? 1 : -1);
    } else if (event.key === "Enter") {
      // Enter on a focused link opens it natively; this covers a row marked by j/k whose focus moved away.
      var marked = document.querySelector("#orders-table tbody tr.row-current a.order-link");
      if (marked && (document.activeElement === document.body || document.activeElement === document.getElementById("main"))) {
        event.preventDefault();
        marked.click();
      }
    }
  });
})();

// Bulk selection on the orders list (templates/dashboard/jobs/_selection_bar.html). What is ticked lives in
// sessionStorage, keyed by store and filter (paging and sort do not change the set): it survives paging
// and the Back button without a server round trip per click, ends with the tab, and a changed filter
// starts a new selection. "Select all N matching" stores the filter itself, not ids: the job resolves
// it when it starts (up to the documented limit).
(function () {
  "use strict";
  var NOT_SELECTION = ["page", "page_size", "sort"];

  function bar() { return document.getElementById("bulk-bar"); }
  function keyFor(form) {
    var params = new URLSearchParams(form.dataset.query || "");
    NOT_SELECTION.forEach(function (name) { params.delete(name); });
    var empty = [];
    params.forEach(function (value, name) { if (value === "") empty.push(name); });
    empty.forEach(function (name) { params.delete(name); });
    params.sort();
    return "bulk-selection:" + form.dataset.store + ":" + params.toString();
  }
  function load(form) {
    try {
      var state = JSON.parse(window.sessionStorage.getItem(keyFor(form)) || "null");
      if (state && typeof state.ids === "object") return state;
    } catch (e) { /* unreadable: start again */ }
    return { all: false, ids: {} };
  }
  function save(form, state) {
    var key = keyFor(form);
    if (!state.all && Object.keys(state.ids).length === 0) window.sessionStorage.removeItem(key);
    else window.sessionStorage.setItem(key, JSON.stringify(state));
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("input[data-bulk-row]")); }

  function render() {
    var form = bar();
    if (!form) return;
    var state = load(form);
    var boxes = rows();
    var pageAll = boxes.length > 0;
    boxes.forEach(function (box) {
      box.checked = state.all || Object.prototype.hasOwnProperty.call(state.ids, box.value);
      box.disabled = state.all;
      if (!box.checked) pageAll = false;
    });
    var head = document.querySelector("input[data-bulk-page]");
    if (head) { head.checked = pageAll; head.disabled = state.all; }
    var count = state.all ? Number(form.dataset.total) : Object.keys(state.ids).length;
    form.hidden = count === 0;
    form.querySelector("[data-bulk-count]").textContent = state.all ? form.dataset.totalDisplay : String(count);
    form.querySelector("[data-bulk-scope]").textContent = state.all ? " · all orders matching these filters" : "";
    var all = form.querySelector("[data-bulk-all]");
    all.hidden = state.all || !pageAll || form.dataset.capped === "1" || Number(form.dataset.total) <= boxes.length;
  }

  document.body.addEventListener("change", function (event) {
    var target = event.target;
    var form = bar();
    if (!form || !target.matches) return;
    var state;
    if (target.matches("input[data-bulk-row]")) {
      state = load(form);
      if (target.checked) state.ids[target.value] = target.dataset.number || "";
      else delete state.ids[target.value];
    } else if (target.matches("input[data-bulk-page]")) {
      state = load(form);
      rows().forEach(function (box) {
        if (target.checked) state.ids[box.value] = box.dataset.number || "";
        else delete state.ids[box.value];
      });
    } else {
      return;
    }
    save(form, state);
    render();
  });

  document.body.addEventListener("click", function (event) {
    var form = bar();
    if (!form || !event.target.closest) return;
    if (event.target.closest("[data-bulk-all]")) {
      save(form, { all: true, ids: {} });
      render();
    } else if (event.target.closest("[data-bulk-clear]")) {
      save(form, { all: false, ids: {} });
      render();
    }
  });

  document.body.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "bulk-bar") return;
    var state = load(form);
    form.elements.scope.value = state.all ? "filter" : "ids";
    form.elements.query.value = form.dataset.query || "";
    form.elements.targets.value = state.all ? "" : JSON.stringify(Object.keys(state.ids).map(function (id) {
      return { id: id, number: state.ids[id] };
    }));
  });

  document.addEventListener("DOMContentLoaded", render);
  render();
  document.body.addEventListener("htmx:afterSettle", render);
  // Back/forward restores a cached page (the browser's or htmx's history): tick what the selection says now.
  window.addEventListener("pageshow", render);
  document.body.addEventListener("htmx:historyRestore", render);
})();

// Bulk job page (templates/dashboard/jobs/job_detail.html): the progress region polls itself while the
// job runs; when the server says `job-finished`, say so once in the page's live region.
(function () {
  "use strict";
  document.body.addEventListener("job-finished", function () {
    var announce = document.getElementById("job-announce");
    var progress = document.getElementById("job-progress");
    if (!announce || !progress) return;
    var done = progress.querySelector("#job-succeeded");
    var failed = progress.querySelector("#job-failed");
    announce.textContent = "Job " + progress.dataset.status + ": " + (done ? done.textContent : "0") +
      " done, " + (failed ? failed.textContent : "0") + " failed.";
  });
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

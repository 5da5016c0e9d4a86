// Latchkey's own script: small conveniences on top of htmx. Every flow works
// without it. Values reach it through data-* attributes (the CSP forbids
// inline script).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-dialog]");
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var notice = dismiss.closest(".notice");
      if (notice) notice.remove();
      return;
    }
    var cancel = event.target.closest("dialog [data-dialog-close]");
    if (cancel) {
      // In a dialog, Cancel closes it; the link is for pages without script.
      event.preventDefault();
      cancel.closest("dialog").close();
      return;
    }
    var toggle = event.target.closest("[data-menu-toggle]");
    if (toggle) {
      var open = document.body.classList.toggle("menu-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) copyText(copy);
  });

  // Copy buttons carry their text in data-copy and name a status element
  // that says how it went (read out by screen readers).
  function copyText(button) {
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    var say = function (text) { if (status) status.textContent = text; };
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say("Copied to the clipboard."); },
        function () { say("Could not copy: select the codes and copy them yourself."); }
      );
    } else {
      say("Could not copy: select the codes and copy them yourself.");
    }
  }

  // Switches that stand for a page (the Profile's 2FA switch) are disabled
  // in the markup, because without JavaScript they can't do anything;
  // here they come alive and turning one opens its page.
  function enableSwitches(root) {
    root.querySelectorAll("input[data-switch-href]").forEach(function (input) {
      input.disabled = false;
    });
  }
  enableSwitches(document);
  // Coming back (the browser's Back button) shows the state as it is, not
  // as it was turned on the way out.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("input[data-switch-href]").forEach(function (input) {
      input.checked = input.defaultChecked;
    });
  });
  document.addEventListener("change", function (event) {
    var input = event.target.closest("input[data-switch-href]");
    if (input) window.location.assign(input.getAttribute("data-switch-href"));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains("menu-open")) {
      document.body.classList.remove("menu-open");
      var toggle = document.querySelector("[data-menu-toggle]");
      if (toggle) {
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    }
  });

  // After htmx swaps a form in, put the cursor in its first field (or the
  // first field with an error); after it swaps details back, return focus to
  // the edit button, so keyboard users keep their place.
  document.addEventListener("htmx:afterSettle", function (event) {
    // With outerHTML swaps the event's target is the element replaced: find
    // its successor by id.
    var target = event.detail.target;
    var root = target && target.id ? document.getElementById(target.id) : target;
    if (!root) return;
    var field = root.querySelector("[aria-invalid=true]") ||
      root.querySelector("input:not([type=hidden]):not([readonly])");
    if (root.tagName === "FORM" && field) {
      field.focus();
      return;
    }
    if (root.classList.contains("details-panel")) {
      var edit = root.querySelector(".icon-button.edit");
      if (edit) edit.focus();
      return;
    }
    openDialogs();
    // A dialog's save replaced a list: its notice says what changed.
    var saved = root.querySelector(".notice-success");
    if (saved && !document.querySelector("dialog[open]")) {
      saved.setAttribute("tabindex", "-1");
      saved.focus();
    }
  });

  // A dialog htmx swapped in opens as a modal (focus moves into it and
  // stays there); closing it (Cancel, Escape) removes it, and focus returns
  // to the control that opened it, or to the notice of what just changed.
  var opener = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!event.detail.elt.closest("dialog")) opener = event.detail.elt;
  });
  function openDialogs() {
    document.querySelectorAll("dialog[data-modal]:not([open])").forEach(function (dialog) {
      dialog.addEventListener("close", function () {
        dialog.remove();
        if (opener && document.body.contains(opener)) opener.focus();
      });
      dialog.showModal();
      // Browsers differ on what showModal focuses: choose the first field.
      var first = dialog.querySelector("[autofocus], [aria-invalid=true]") ||
        dialog.querySelector("input:not([type=hidden]):not([readonly]), button");
      if (first) first.focus();
    });
  }
})();

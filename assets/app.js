// Latchkey's own script: small conveniences on top of htmx. Every flow works
// without it. Values reach it through data-* attributes (the CSP forbids
// inline script).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) return;
    var form = all.closest("form");
    if (!form) return;
    Array.prototype.forEach.call(form.querySelectorAll("input[type=checkbox][name=id]"), function (box) {
      box.checked = all.checked;
    });
  });

  document.addEventListener("click", function (event) {
    // In a dialog, Cancel, No and the close button close it; the same
    // links lead back on the plain page without script.
    var close = event.target.closest("[data-close-dialog]");
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog) {
        event.preventDefault();
        dialog.close();
        return;
      }
    }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var notice = dismiss.closest(".notice");
      if (notice) notice.remove();
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
    openDialogs();
    // With outerHTML swaps the event's target is the element replaced: find
    // its successor by id.
    var target = event.detail.target;
    var root = target && target.id ? document.getElementById(target.id) : target;
    if (!root) return;
    // A new dialog placed its own focus (openDialogs); someone typing (a
    // search box) keeps their cursor.
    if (root.querySelector("dialog")) return;
    var active = document.activeElement;
    if (active && active.matches("input, select, textarea") && !root.contains(active)) return;
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
    // A dialog's save replaced a list: its notice says what changed.
    var saved = root.querySelector(".notice-success");
    if (saved && !document.querySelector("dialog[open]")) {
      saved.setAttribute("tabindex", "-1");
      saved.focus();
    }
  });

  // Dialogs (see views/components/dialog.rs): one htmx swapped into the
  // dialog slot opens as a modal (focus moves into it and stays there);
  // closing it (its close button, Cancel or No, Escape) removes it, and
  // focus returns to the control that opened it, or to the notice of what
  // just changed.
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
      // Browsers differ on what showModal focuses: a field with an error,
      // a chosen control, the first field, or a question's safe answer.
      var first = dialog.querySelector("[aria-invalid=true]") ||
        dialog.querySelector("[autofocus]") ||
        dialog.querySelector(".modal-body input:not([type=hidden]):not([readonly]):not([type=checkbox]), .modal-body select, .modal-body textarea") ||
        dialog.querySelector(".form-actions [data-close-dialog]") ||
        dialog.querySelector(".modal-body button, .modal-body a[href]");
      if (first) first.focus();
    });
  }
})();

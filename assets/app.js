// Latchkey's own script: small conveniences on top of htmx. Every flow works
// without it. Values reach it through data-* attributes (the CSP forbids
// inline script).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Dialogs swapped into the page open as modals; closing one removes it,
  // so the slot is empty for the next.
  function openDialogs(root) {
    var dialogs = (root || document).querySelectorAll("dialog[data-open]:not([open])");
    Array.prototype.forEach.call(dialogs, function (dialog) {
      dialog.addEventListener("close", function () { dialog.remove(); });
      dialog.showModal();
      var field = dialog.querySelector("[aria-invalid=true]") ||
        dialog.querySelector("input:not([type=hidden]):not([readonly]), select");
      if (field) field.focus();
    });
  }
  document.addEventListener("htmx:afterSettle", function () { openDialogs(document); });

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
    }
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
    // Someone typing (a search box) keeps their cursor; a new dialog
    // focuses itself (openDialogs).
    var active = document.activeElement;
    if (active && active.matches("input, select, textarea") && !root.contains(active)) return;
    if (root.querySelector("dialog")) return;
    var field = root.querySelector("[aria-invalid=true]") ||
      root.querySelector("input:not([type=hidden]):not([readonly])");
    if (root.tagName === "FORM" && field) {
      field.focus();
      return;
    }
    var edit = root.querySelector(".icon-button.edit");
    if (edit) edit.focus();
  });
})();

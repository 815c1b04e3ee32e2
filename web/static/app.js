// Bellhop's pages work as plain forms; this script only adds what a manager expects on top:
// switches and filters that submit at once, dropdowns that save at once, a confirm dialog
// before activating over unsaved changes, and a live template preview.
(function () {
  "use strict";
  var csrf = document.body.dataset.csrf || "";

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin"
    }).then(function (res) {
      return res.json().then(function (body) { body.ok = res.ok; return body; });
    });
  }

  // Switches and filters submit their form when they change.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () {
      if (el.dataset.confirmDirty) { return; }
      el.form.submit();
    });
  });

  // A form's unsaved changes: its values differ from what the page was loaded with.
  function snapshot(form) {
    var parts = [];
    new FormData(form).forEach(function (v, k) {
      if (k !== "csrf" && k !== "then") { parts.push(k + "=" + v); }
    });
    return parts.join("&");
  }
  document.querySelectorAll("form[data-watch-changes]").forEach(function (form) {
    form.dataset.initial = snapshot(form);
    var note = form.querySelector(".dirty-note");
    var update = function () { if (note) { note.hidden = snapshot(form) === form.dataset.initial; } };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
  });
  function dirty(form) { return form && snapshot(form) !== form.dataset.initial; }

  // The activation switch: over unsaved changes it asks first, then saves and switches.
  var dialog = document.getElementById("confirm-dialog");
  document.querySelectorAll("input[data-confirm-dirty]").forEach(function (sw) {
    sw.addEventListener("change", function () {
      var form = document.getElementById(sw.dataset.confirmDirty);
      var want = sw.checked ? "activate" : "deactivate";
      if (!dirty(form) || !dialog || !dialog.showModal) {
        sw.form.submit();
        return;
      }
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue !== "ok") {
          sw.checked = !sw.checked;
          return;
        }
        form.querySelector("[data-then]").value = want;
        form.requestSubmit(form.querySelector("button[value=save]"));
      });
    });
  });

  // Operator dropdowns save at once.
  document.querySelectorAll("form[data-autosave] select").forEach(function (sel) {
    sel.addEventListener("change", function () {
      var form = sel.form;
      var mark = form.querySelector(".saved");
      mark.textContent = "…";
      mark.className = "saved";
      post(form.action, new FormData(form)).then(function (body) {
        mark.textContent = body.message || "";
        mark.className = body.ok ? "saved saved-ok" : "saved saved-error";
        var soft = document.getElementById("unmapped-" + form.closest("tr").dataset.staff);
        if (soft && body.ok) { soft.hidden = sel.value !== ""; }
      }).catch(function () {
        mark.textContent = "✗";
        mark.className = "saved saved-error";
      });
    });
  });

  // Live preview of a template, rendered by the server with sample booking data.
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var box = document.getElementById(area.dataset.preview);
    var timer = null;
    var refresh = function () {
      post(area.dataset.previewUrl, { lang: area.dataset.lang, text: area.value, csrf: csrf }).then(function (body) {
        box.querySelector(".preview-text").textContent = body.text || "";
        box.querySelector(".preview-error").textContent = body.error || "";
      });
    };
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
    area.addEventListener("focus", function () { area.form.dataset.lastArea = area.id; });
  });

  // Placeholder buttons insert themselves into the template last focused in their form.
  document.querySelectorAll("button[data-insert]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var form = btn.form;
      var area = document.getElementById(form.dataset.lastArea || "") || form.querySelector("textarea");
      if (!area) { return; }
      var s = area.selectionStart, e = area.selectionEnd, v = area.value;
      area.value = v.slice(0, s) + btn.dataset.insert + v.slice(e);
      area.focus();
      area.selectionStart = area.selectionEnd = s + btn.dataset.insert.length;
      area.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  // Read-only values to paste elsewhere (a callback URL, a verify token) select themselves.
  document.querySelectorAll("input[data-select-all]").forEach(function (el) {
    el.addEventListener("focus", function () { el.select(); });
  });

  // The channel order: ↑ and ↓ swap a place's choice with its neighbour's.
  document.querySelectorAll("ol.methods button[data-move]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var li = btn.closest("li");
      var other = btn.dataset.move === "up" ? li.previousElementSibling : li.nextElementSibling;
      if (!other) { return; }
      var a = li.querySelector("select"), b = other.querySelector("select");
      var v = a.value;
      a.value = b.value;
      b.value = v;
      a.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });

  // Live preview of a WhatsApp template with its parameters filled for a sample booking.
  document.querySelectorAll("[data-wa-preview]").forEach(function (box) {
    var out = document.getElementById(box.dataset.waPreview);
    var sel = box.querySelector("select[data-wa-template]");
    var params = box.querySelector("textarea[data-wa-params]");
    var timer = null;
    var refresh = function () {
      post(box.dataset.previewUrl, { lang: box.dataset.lang, channel: box.dataset.channel, template: sel.value,
        params: params.value, csrf: csrf }).then(function (body) {
        out.querySelector(".preview-text").textContent = body.text || "";
        out.querySelector(".preview-error").textContent = body.error || "";
      });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    sel.addEventListener("change", refresh);
    params.addEventListener("input", later);
  });
})();

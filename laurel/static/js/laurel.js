// Laurel's few behaviours, in one file so the Content-Security-Policy allows no inline script.
// Every page works without them; each hooks on data-* attributes, by delegation, so markup
// swapped in by htmx behaves the same.
(function () {
  "use strict";

  // <input type="checkbox" data-select-all>: ticks every name=credit box of its form.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-select-all]")) return;
    var form = box.closest("form");
    if (!form) return;
    form.querySelectorAll("input[name=credit]").forEach(function (other) {
      other.checked = box.checked;
    });
  });

  // <button data-print>: prints the page.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });

  // <div data-dropzone data-input="id_file">: a file dropped on it fills the ordinary input.
  function zoneOf(event) {
    return event.target.closest ? event.target.closest("[data-dropzone]") : null;
  }
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = zoneOf(event);
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = zoneOf(event);
      if (!zone) return;
      event.preventDefault();
      zone.classList.remove("over");
      if (name !== "drop") return;
      var input = document.getElementById(zone.getAttribute("data-input") || "id_file");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (input && files && files.length) {
        input.files = files;
        var label = zone.querySelector("p");
        if (label) label.textContent = "Chosen: " + files[0].name;
      }
    });
  });

  // <div class="table-wrap" tabindex="0" role="region">: a wide table scrolls inside it, so
  // the keyboard must reach it (axe: scrollable-region-focusable). A table that fits needs no
  // tab stop: drop it then, and give it back when the window narrows.
  function fitTables() {
    document.querySelectorAll(".table-wrap[role=region]").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) wrap.setAttribute("tabindex", "0");
      else wrap.removeAttribute("tabindex");
    });
  }

  // <button data-nav-toggle aria-controls="site-menu">: on a narrow screen the menu starts
  // folded and the button unfolds it. Without JavaScript the button stays hidden and the
  // menu open.
  function setupNav() {
    var button = document.querySelector("[data-nav-toggle]");
    if (!button) return;
    var header = button.closest(".site-header");
    button.hidden = false;
    button.setAttribute("aria-expanded", "false");
    header.classList.add("nav-folded");
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("nav-folded", !open);
    });
  }

  function ready() {
    setupNav();
    fitTables();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
  window.addEventListener("resize", fitTables);
  document.addEventListener("htmx:afterSettle", fitTables);

  // <button data-copy="text">: copies the text (a certificate's share link) and says so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var status = document.getElementById(button.getAttribute("aria-describedby") || "");
    function done(message) {
      if (status) status.textContent = message;
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(
        function () { done("Link copied."); },
        function () { done("Copy this link: " + text); }
      );
    } else {
      done("Copy this link: " + text);
    }
  });

  // The browser's time zone: fills the sign-up form's hidden field, and offers itself on the
  // profile page when the holder has not chosen one.
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }
  function fillTimeZone() {
    var zone = browserZone();
    if (!zone) return;
    document.querySelectorAll("input[type=hidden][name=time_zone]").forEach(function (input) {
      if (!input.value) input.value = zone;
    });
    var select = document.querySelector("#profile-form select[name=time_zone]");
    var hint = document.querySelector("[data-browser-tz-hint]");
    if (select && hint && select.value !== zone) {
      hint.querySelector("[data-browser-tz]").textContent = zone;
      hint.hidden = false;
    }
  }
  document.addEventListener("click", function (event) {
    if (!(event.target.closest && event.target.closest("[data-use-browser-tz]"))) return;
    var select = document.querySelector("#profile-form select[name=time_zone]");
    if (select) select.value = browserZone();
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fillTimeZone);
  } else {
    fillTimeZone();
  }
})();

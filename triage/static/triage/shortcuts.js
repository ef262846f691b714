/* Keyboard shortcuts of the ticket list and the ticket page (issue 15 item 10).
   Served as a static file: the Content-Security-Policy allows no inline script.
   List: j/k move a visible focus between rows, Enter or o opens the row's ticket.
   Ticket: r goes to the reply box, a assigns the ticket to me. Everywhere: ? shows
   the list of shortcuts, Escape closes it. Nothing fires while typing. */
(function () {
  "use strict";

  var LIST = [
    ["j", "next ticket"],
    ["k", "previous ticket"],
    ["Enter / o", "open the ticket"],
    ["?", "show or hide this help"]
  ];
  var TICKET = [
    ["r", "write the reply"],
    ["a", "assign the ticket to me"],
    ["?", "show or hide this help"]
  ];
  var TEXT_INPUTS = /^(text|search|email|url|tel|password|number|date|time|datetime-local|month|week)$/;

  function typing(target) {
    if (!target || target.nodeType !== 1) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && TEXT_INPUTS.test(target.type || "text");
  }

  function rows() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#result_list tbody tr")
    );
  }

  var current = -1;

  function moveTo(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row) {
      row.classList.remove("tr-row-current");
      row.removeAttribute("aria-current");
    });
    var row = all[index];
    row.classList.add("tr-row-current");
    row.setAttribute("aria-current", "true");
    row.focus();
    current = index;
  }

  function openCurrent() {
    var row = rows()[current];
    var link = row && (row.querySelector("th a") || row.querySelector("a"));
    if (link) window.location.assign(link.href);
  }

  var help = null;
  var before = null;

  function buildHelp(entries) {
    var box = document.createElement("div");
    box.id = "tr-shortcuts";
    box.className = "tr-shortcuts";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-labelledby", "tr-shortcuts-title");
    box.tabIndex = -1;
    box.hidden = true;
    var title = document.createElement("h2");
    title.id = "tr-shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    box.appendChild(title);
    var list = document.createElement("dl");
    entries.forEach(function (entry) {
      var dt = document.createElement("dt");
      entry[0].split(" / ").forEach(function (key, i) {
        if (i) dt.appendChild(document.createTextNode(" or "));
        var kbd = document.createElement("kbd");
        kbd.textContent = key;
        dt.appendChild(kbd);
      });
      var dd = document.createElement("dd");
      dd.textContent = entry[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    box.appendChild(list);
    var note = document.createElement("p");
    note.className = "triage-meta";
    note.textContent = "Shortcuts are off while you type in a field.";
    box.appendChild(note);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "tr-btn";
    close.textContent = "Close";
    close.addEventListener("click", hideHelp);
    box.appendChild(close);
    document.body.appendChild(box);
    return box;
  }

  function showHelp(entries) {
    if (!help) help = buildHelp(entries);
    before = document.activeElement;
    help.hidden = false;
    help.focus();
  }

  function hideHelp() {
    if (!help || help.hidden) return;
    help.hidden = true;
    if (before && before.focus) before.focus();
  }

  function replyBox() {
    return (
      document.querySelector("#draft-new textarea") ||
      document.querySelector(".tr-draft-form textarea")
    );
  }

  function onKey(event, page) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") return hideHelp();
    if (typing(event.target)) return;
    var key = event.key;
    if (key === "?") {
      event.preventDefault();
      return help && !help.hidden ? hideHelp() : showHelp(page === "list" ? LIST : TICKET);
    }
    if (page === "list") {
      if (key === "j" || key === "k") {
        event.preventDefault();
        moveTo(current < 0 ? 0 : current + (key === "j" ? 1 : -1));
      } else if (current >= 0 && (key === "o" || (key === "Enter" && event.target.tagName === "TR"))) {
        event.preventDefault();
        openCurrent();
      }
    } else if (key === "r") {
      var box = replyBox();
      if (box) {
        // preventDefault: the "r" itself must not land in the box.
        event.preventDefault();
        box.scrollIntoView({ block: "center" });
        box.focus();
      }
    } else if (key === "a") {
      var assign = document.getElementById("assign-me");
      if (assign) {
        event.preventDefault();
        assign.click();
      }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body.classList;
    var page = body.contains("tr-list-page") ? "list" : body.contains("tr-ticket-page") ? "ticket" : "";
    if (!page) return;
    if (page === "list") {
      // Focusable by script only: the rows add no Tab stop.
      rows().forEach(function (row) { row.tabIndex = -1; });
      var table = document.getElementById("result_list");
      if (table) table.setAttribute("aria-keyshortcuts", "j k o Enter");
    }
    document.addEventListener("keydown", function (event) { onKey(event, page); });
  });
})();

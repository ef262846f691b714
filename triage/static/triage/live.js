/* The ticket page's live updates (issue 15 item 10); a static file, as the CSP
   requires. Every few seconds the page posts a heartbeat ("viewing", or
   "replying" while this agent types a reply) to the ticket's live URL and gets
   back the ticket's numbers and who else has it open. It then says:
   - "Triage finished — reload" when a message drawn untriaged is analysed,
   - "Reply sent — reload" when a send finished, "New message — reload" when the
     customer wrote again,
   - "Alice is viewing / Bob is replying" for colleagues on the same ticket,
   and the reply forms ask for a second press when a colleague is replying or a
   reply went out since the page was drawn (no double replies). */
(function () {
  "use strict";

  var REPLYING_FOR_MS = 20000;

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("tr-live");
    if (!root || !window.fetch) return;
    var data = root.dataset;
    var drawn = {
      inbound: +data.inbound,
      pending: +data.pending,
      triaged: +data.triaged,
      sent: +data.sent
    };
    var every = Math.max(0.2, parseFloat(data.pollSeconds) || 5) * 1000;
    var tokenInput = document.querySelector("input[name=csrfmiddlewaretoken]");
    var token = tokenInput ? tokenInput.value : "";
    var presence = document.getElementById("tr-presence");
    var banner = document.getElementById("tr-live-banner");
    var conflict = document.getElementById("reply-conflict");
    var typedAt = 0;
    var others = [];
    var sentSinceDrawn = false;
    var lastState = "viewing";
    var timer = null;

    function state() {
      var active = document.activeElement;
      var inReply = active && active.tagName === "TEXTAREA" && active.closest("#drafts");
      return inReply || Date.now() - typedAt < REPLYING_FOR_MS ? "replying" : "viewing";
    }

    function say(text) {
      while (banner.firstChild) banner.removeChild(banner.firstChild);
      banner.appendChild(document.createTextNode(text + " — "));
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.id = "tr-live-reload";
      link.textContent = "reload";
      banner.appendChild(link);
      banner.hidden = false;
    }

    function replyingColleagues() {
      return others.filter(function (o) { return o.state === "replying"; });
    }

    function conflictText() {
      var replying = replyingColleagues();
      if (replying.length) {
        return replying.map(function (o) { return o.name; }).join(", ") +
          (replying.length > 1 ? " are" : " is") + " replying to this ticket too.";
      }
      if (sentSinceDrawn) return "A reply was sent since you opened this page.";
      return "";
    }

    // While a reply form is held, every redraw of the warning (a beat's answer
    // among them) keeps the hint: the form's own mark says so, no copy of it.
    function heldHint() {
      return document.querySelector("form[data-confirmed=yes]") ?
        " Press the button again to go ahead anyway." : "";
    }

    function showConflict() {
      if (!conflict) return;
      var text = conflictText();
      conflict.textContent = text ? text + heldHint() : "";
      conflict.hidden = !text;
    }

    function show(news) {
      others = news.presence || [];
      presence.textContent = others.map(function (o) {
        return o.name + " is " + o.state;
      }).join(" · ");
      if (news.sent > drawn.sent) {
        sentSinceDrawn = true;
        say("Reply sent");
      } else if (news.inbound > drawn.inbound) {
        say("New message from the customer");
      } else if (news.triaged > drawn.triaged || (drawn.pending > 0 && news.pending === 0)) {
        say("Triage finished");
      }
      showConflict();
    }

    function beat() {
      lastState = state();
      var body = new URLSearchParams();
      body.set("state", lastState);
      return fetch(data.liveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Accept": "application/json" },
        body: body
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (news) {
        if (news) show(news);
      }).catch(function () { /* offline for a moment: the next beat tries again */ });
    }

    function loop() {
      beat().then(function () { timer = window.setTimeout(loop, every); });
    }

    document.addEventListener("input", function (event) {
      if (!event.target.closest || !event.target.closest("#drafts")) return;
      typedAt = Date.now();
      // Colleagues learn at once that someone started typing.
      if (lastState !== "replying") {
        window.clearTimeout(timer);
        loop();
      }
    });

    document.querySelectorAll("#draft-new, .tr-draft-form, .tr-approve-form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!conflictText() || form.dataset.confirmed === "yes") return;
        event.preventDefault();
        form.dataset.confirmed = "yes";
        showConflict();
        conflict.focus();
      });
    });
    if (conflict) conflict.tabIndex = -1;

    loop();
  });
})();

/* Staff console: the live chat's moving parts (console/live/views.py).
 *
 * On every console page: refresh the "Live chat (n)" count in the navigation every few seconds; the
 * same request tells the server this staff member's console is still open (their availability).
 * On a chat page: fetch new turns every second and send replies without reloading the page.
 * Text from visitors and staff is only ever set as textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  var SUMMARY_EVERY_MS = 5000;
  var EVENTS_EVERY_MS = 1000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body && body.error ? body.error : "HTTP " + r.status); }
        return body;
      });
    });
  }

  // -- the queue count in the navigation ------------------------------------------------------
  var nav = document.getElementById("live-nav");
  if (nav) {
    var count = nav.querySelector("[data-live-count]");
    var refreshSummary = function () {
      getJson(nav.getAttribute("data-summary-url")).then(function (summary) {
        count.textContent = "(" + summary.queued + ")";
      }).catch(function () { /* keep the last count; the next round tries again */ });
    };
    refreshSummary();
    window.setInterval(refreshSummary, SUMMARY_EVERY_MS);
  }

  // -- the chat page -------------------------------------------------------------------------
  var chat = document.getElementById("live-chat");
  if (!chat) { return; }
  var list = chat.querySelector("ol.chat");
  var after = parseInt(chat.getAttribute("data-after"), 10) || 0;
  var form = document.getElementById("live-send");
  var busy = false;

  function addTurn(turn) {
    if (document.getElementById("e" + turn.id)) { return; }
    var empty = list.querySelector("li.empty");
    if (empty) { empty.remove(); }
    var item = document.createElement("li");
    item.id = "e" + turn.id;
    if (turn.kind === "note") {
      item.className = "note";
      item.textContent = turn.who + ": " + turn.text + " · " + turn.time;
    } else {
      item.className = "turn " + (turn.kind === "visitor" ? "visitor" : turn.kind === "staff" ? "bot staff" : "bot");
      var who = document.createElement("div");
      who.className = "who";
      who.textContent = turn.who + " · " + turn.time;
      var bubble = document.createElement("div");
      bubble.className = "bubble";
      var text = document.createElement("div");
      text.className = "text";
      text.textContent = turn.text;
      bubble.appendChild(text);
      item.appendChild(who);
      item.appendChild(bubble);
    }
    list.appendChild(item);
  }

  function poll() {
    if (busy) { return; }
    busy = true;
    getJson(chat.getAttribute("data-events-url") + "?after=" + after).then(function (answer) {
      answer.turns.forEach(addTurn);
      after = answer.last_id;
      if (form && !answer.mine) {
        form.querySelector("textarea").disabled = true;
        form.querySelector("button").disabled = true;
        showError("This chat is no longer yours to answer (it was handed back, closed or ended by the visitor).");
      }
    }).catch(function () { /* the next round tries again */ }).then(function () { busy = false; });
  }

  function showError(message) {
    var box = form && form.querySelector(".live-error");
    if (!box) { return; }
    box.textContent = message;
    box.hidden = !message;
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var textarea = form.querySelector("textarea");
      var text = textarea.value;
      if (!text.trim()) { return; }
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(chat.getAttribute("data-send-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ text: text }),
      }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body && body.error ? body.error : "HTTP " + r.status); }
          textarea.value = "";
          showError("");
          poll();
        });
      }).catch(function (error) {
        showError("Not sent: " + error.message);
      }).then(function () {
        button.disabled = false;
        textarea.focus();
      });
    });
  }
  window.setInterval(poll, EVENTS_EVERY_MS);
})();

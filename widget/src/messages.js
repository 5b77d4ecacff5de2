/** Messages: rendering them, quick replies, feedback, sending in order, receiving replies. */

import { cleanButtons, feedbackPayload, newConversationId } from "./storage.js";
import { el, renderRichText } from "./render.js";
import { fetchWithTimeout, refusal } from "./transport.js";
import { fill } from "./strings.js";

export function addMessages(Widget) {
  Widget.prototype.renderAll = function () {
    var log = this.nodes.log;
    while (log.firstChild) log.removeChild(log.firstChild);
    var self = this;
    this.state.messages.forEach(function (m) {
      log.appendChild(self.renderMessage(m));
    });
    this.refreshQuickReplies();
  };

  Widget.prototype.renderMessage = function (m) {
    if (m.from === "staff") return this.renderStaffMessage(m);
    var who = m.from === "user" ? this.opts.strings.you : this.opts.title;
    var bubble = el("div", { className: "hc-bubble" });
    if (m.from === "user") bubble.textContent = m.text;
    else bubble.appendChild(renderRichText(m.text, this.ids.newTab));
    var node = el("div", { className: "hc-msg hc-msg--" + m.from, "data-msg-id": m.id }, [
      el("span", { className: "hc-sr-only", text: who + ": " }),
      bubble,
    ]);
    if (m.from === "user" && m.status === "failed") node.appendChild(this.renderFailed(m));
    if (m.from === "bot" && m.feedback) node.appendChild(this.renderFeedback(m));
    return node;
  };

  /** An admissions officer's message (named), or an announcement of a hand-off change. */
  Widget.prototype.renderStaffMessage = function (m) {
    var t = this.opts.strings;
    var name = m.name ? fill(t.staffLabel, { name: m.name }) : t.staffFallback;
    var bubble = el("div", { className: "hc-bubble" });
    bubble.appendChild(renderRichText(m.text, this.ids.newTab));
    if (m.kind !== "message") {
      return el("div", { className: "hc-msg hc-msg--announce", "data-msg-id": m.id }, [bubble]);
    }
    return el("div", { className: "hc-msg hc-msg--staff", "data-msg-id": m.id }, [
      el("span", { className: "hc-sr-only", text: name + ": " }),
      el("div", { className: "hc-staff-name", "aria-hidden": "true", text: name }),
      bubble,
    ]);
  };

  /**
   * "Helpful / Not helpful" under an answer: real buttons with full names. After a click both stay
   * visible but disabled, the chosen one pressed, with a thank-you; the state is kept in history.
   */
  Widget.prototype.renderFeedback = function (m) {
    var self = this;
    var t = this.opts.strings;
    var done = m.feedback === "yes" || m.feedback === "no";
    var group = el("div", { className: "hc-feedback", role: "group", "aria-label": t.feedbackQuestion });
    [
      ["yes", t.helpful, t.helpfulLabel],
      ["no", t.notHelpful, t.notHelpfulLabel],
    ].forEach(function (choice) {
      var btn = el("button", {
        type: "button",
        className: "hc-feedback-btn",
        text: choice[1],
        "aria-label": choice[2],
        "aria-pressed": done ? String(m.feedback === choice[0]) : null,
        disabled: done,
      });
      btn.addEventListener("click", function () {
        self.sendFeedback(m, choice[0]);
      });
      group.appendChild(btn);
    });
    if (done) group.appendChild(el("span", { className: "hc-feedback-thanks", text: t.feedbackThanks }));
    return group;
  };

  /** Show `m`'s feedback controls as its state now says (or remove them). */
  Widget.prototype.updateFeedback = function (m) {
    var node = this.nodes.log.querySelector('[data-msg-id="' + m.id + '"]');
    if (!node) return;
    var old = node.querySelector(".hc-feedback");
    var next = m.feedback ? this.renderFeedback(m) : null;
    if (old && next) node.replaceChild(next, old);
    else if (old) node.removeChild(old);
    else if (next) node.insertBefore(next, node.querySelector(".hc-quick"));
  };

  /**
   * Record a click: the conversation gets /feedback{"helpful":…} right after the answer (no visitor
   * bubble: the pressed button is the visible record), and the assistant's reply is shown as usual.
   */
  Widget.prototype.sendFeedback = function (m, value) {
    var self = this;
    if (m.feedback !== "ask") return;
    var generation = this.generation;
    m.feedback = value;
    this.save();
    this.updateFeedback(m);
    this.nodes.input.focus(); // the pressed button is now disabled
    this.enqueue(feedbackPayload(value), generation).then(
      function (replies) {
        if (generation !== self.generation) return;
        if (self.offline) self.backOnline();
        self.receive(replies);
      },
      function (err) {
        if (generation !== self.generation || (err && err.message === "stale")) return;
        m.feedback = "ask"; // not recorded: offer it again
        self.save();
        self.updateFeedback(m);
        self.goOffline();
      }
    );
  };

  Widget.prototype.renderFailed = function (m) {
    var self = this;
    var t = this.opts.strings;
    var retry = el("button", { type: "button", className: "hc-retry", text: t.retry });
    var short = m.text.length > 60 ? m.text.slice(0, 57) + "…" : m.text;
    retry.setAttribute("aria-label", fill(t.retryLabel, { text: short }));
    retry.addEventListener("click", function () {
      self.retry(m.id);
    });
    return el("div", { className: "hc-failed" }, [el("span", { text: t.notSent }), retry]);
  };

  /** System notices (connection problems, reconnected): shown in the log, not stored. */
  Widget.prototype.notice = function (kind, build) {
    var node = el("div", { className: "hc-msg hc-msg--system hc-notice--" + kind });
    var bubble = el("div", { className: "hc-bubble" });
    build(bubble);
    node.appendChild(bubble);
    this.nodes.log.appendChild(node);
    this.scrollToEnd();
    return node;
  };

  /** Quick replies are offered only under the last bot message(s) after the visitor's last turn. */
  Widget.prototype.refreshQuickReplies = function () {
    var self = this;
    var old = this.nodes.log.querySelectorAll(".hc-quick");
    Array.prototype.forEach.call(old, function (q) {
      q.parentNode.removeChild(q);
    });
    var msgs = this.state.messages;
    var last = msgs[msgs.length - 1];
    if (!last || last.from !== "bot") return;
    for (var i = msgs.length - 1; i >= 0 && msgs[i].from === "bot"; i--) {
      var m = msgs[i];
      if (!m.buttons || !m.buttons.length) continue;
      var host = this.nodes.log.querySelector('[data-msg-id="' + m.id + '"]');
      if (host) host.appendChild(self.renderQuickReplies(m.buttons));
    }
  };

  Widget.prototype.renderQuickReplies = function (buttons) {
    var self = this;
    var group = el("div", { className: "hc-quick", role: "group", "aria-label": this.opts.strings.suggestedReplies });
    buttons.forEach(function (b) {
      var btn = el("button", { type: "button", className: "hc-quick-btn", text: b.title });
      btn.addEventListener("click", function () {
        self.send(b.title, b.payload);
        self.nodes.input.focus(); // the clicked button disappears; keep focus somewhere useful
      });
      group.appendChild(btn);
    });
    return group;
  };

  /** Add one turn (the visitor's message, or all replies to it): stored once, shown, scrolled to. */
  Widget.prototype.appendMessages = function (list) {
    var self = this;
    var msgs = this.state.messages;
    var first = null;
    list.forEach(function (m) {
      if (m.from === "user") {
        // Quick replies only matter until the visitor answers; don't keep stale ones in storage.
        // Unused feedback buttons go too: a click must follow the answer it rates.
        msgs.forEach(function (old) {
          delete old.buttons;
          if (old.feedback === "ask") {
            delete old.feedback;
            self.updateFeedback(old);
          }
        });
      }
      msgs.push(m);
      var node = self.renderMessage(m);
      self.nodes.log.appendChild(node);
      first = first || node;
    });
    this.save();
    this.refreshQuickReplies();
    // A long answer is read from its start, so don't scroll past its first line.
    this.scrollToEnd(list.length && list[0].from === "bot" ? first : null);
  };

  /** Scroll the log to its end, but never so far that the top of `startNode` (if given) is hidden. */
  Widget.prototype.scrollToEnd = function (startNode) {
    var body = this.nodes.body;
    body.scrollTop = body.scrollHeight;
    if (!startNode) return;
    var hidden = body.getBoundingClientRect().top - startNode.getBoundingClientRect().top;
    if (hidden > 0) body.scrollTop -= hidden + 8; // 8px: a little air above the answer
  };

  Widget.prototype.setTyping = function (delta) {
    this.inFlight = Math.max(0, this.inFlight + delta);
    this.nodes.typing.hidden = this.inFlight === 0;
    this.scrollToEnd();
  };

  Widget.prototype.updateCounter = function () {
    var n = this.nodes;
    var len = n.input.value.length;
    n.counter.textContent = len + "/" + this.opts.maxLength;
    n.counter.classList.toggle("hc-counter--full", len >= this.opts.maxLength);
    if (len < this.opts.maxLength) this.setCut(""); // shortened, or sent: the notice no longer holds
  };

  /**
   * `text` is about to go into the message box (`how`: "paste", "drop" or "typed"). If it does not
   * fit in the room left, the box's maxlength will cut it without a word: say so under the box, and
   * to screen readers, until the text is shortened or sent.
   */
  Widget.prototype.noteInsert = function (text, how) {
    var input = this.nodes.input;
    var max = this.opts.maxLength;
    // The box stores a line break as "\n" however the clipboard holds it ("\r\n" from Windows).
    var added = String(text || "").replace(/\r\n?/g, "\n").length;
    // A drop goes in where it is dropped; a paste or a key replaces the selection.
    var replaced = how === "drop" ? 0 : Math.max(0, (input.selectionEnd || 0) - (input.selectionStart || 0));
    if (!added || added <= max - (input.value.length - replaced)) return;
    var t = this.opts.strings;
    // A key pressed in a box already full after a cut paste: the paste's notice says more.
    if (how === "typed" && this.nodes.cut.textContent) return;
    this.setCut(fill(how === "typed" ? t.typedFull : t.pasteCut, { max: max }));
  };

  /** The notice under the box ("" = none). Unchanged text is not set again, so not announced again. */
  Widget.prototype.setCut = function (text) {
    var cut = this.nodes.cut;
    if (cut.textContent !== text) cut.textContent = text;
  };

  Widget.prototype.autosize = function () {
    var input = this.nodes.input;
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  };

  /* ---- sending ---- */

  Widget.prototype.submitInput = function () {
    var n = this.nodes;
    var text = n.input.value.trim().slice(0, this.opts.maxLength);
    if (!text) return;
    n.input.value = "";
    this.updateCounter();
    this.autosize();
    this.send(text, text);
  };

  /** Show `display` as the visitor's bubble and send `payload` (a quick reply's payload, or the text). */
  Widget.prototype.send = function (display, payload) {
    var m = { id: newConversationId(), from: "user", text: String(display), status: "pending" };
    if (payload != null && payload !== display) m.payload = String(payload);
    this.appendMessages([m]);
    this.deliver(m);
  };

  Widget.prototype.retry = function (id) {
    var msgs = this.state.messages;
    for (var i = 0; i < msgs.length; i++) {
      if (msgs[i].id !== id) continue;
      var m = msgs.splice(i, 1)[0];
      var node = this.nodes.log.querySelector('[data-msg-id="' + id + '"]');
      if (node) node.parentNode.removeChild(node);
      this.nodes.input.focus();
      this.send(m.text, m.payload != null ? m.payload : m.text);
      return;
    }
  };

  Widget.prototype.greet = function () {
    var self = this;
    var generation = this.generation;
    this.greetingInFlight = true;
    this.enqueue(this.opts.greetingPayload, generation).then(
      function (replies) {
        self.greetingInFlight = false;
        if (generation === self.generation) self.receive(replies);
      },
      function () {
        self.greetingInFlight = false;
        if (generation === self.generation) self.goOffline();
      }
    );
  };

  /** Post one message after the previous one finished; resolves with Rasa's reply list. */
  Widget.prototype.enqueue = function (message, generation) {
    var self = this;
    var sender = this.state.id;
    var run = function () {
      if (generation !== self.generation) return Promise.reject(new Error("stale"));
      self.setTyping(+1);
      return self.post(sender, message).then(
        function (replies) {
          self.setTyping(-1);
          return replies;
        },
        function (err) {
          self.setTyping(-1);
          throw err;
        }
      );
    };
    var result = this.queue.then(run, run);
    this.queue = result.catch(function () {});
    return result;
  };

  /**
   * What Rasa's REST channel passes on to the tracker with each message: the program this page is
   * about (so the first answer needs no "which program?") and the page the visitor is on.
   */
  Widget.prototype.metadata = function () {
    var meta = {};
    if (this.opts.program) meta.program = this.opts.program;
    meta.page_url = window.location.href;
    if (this.keyHash) meta.handoff_key = this.keyHash;
    return meta;
  };

  Widget.prototype.post = function (sender, message) {
    var self = this;
    return this.keyReady.then(function () {
      return self.postNow(sender, message);
    });
  };

  Widget.prototype.postNow = function (sender, message) {
    return fetchWithTimeout(
      this.serverUrl + "/webhooks/rest/webhook",
      {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ sender: sender, message: message, metadata: this.metadata() }),
      },
      this.opts.timeoutMs,
      function (res) {
        if (!res.ok) return res.json().then(refusal(res.status), refusal(res.status, true));
        return res.json().then(function (data) {
          if (!Array.isArray(data)) throw new Error("unexpected reply");
          return data;
        });
      }
    );
  };

  Widget.prototype.deliver = function (m) {
    var self = this;
    var generation = this.generation;
    this.enqueue(m.payload != null ? m.payload : m.text, generation).then(
      function (replies) {
        if (generation !== self.generation) return;
        self.setStatus(m, null);
        if (self.offline) self.backOnline();
        self.receive(replies, m);
      },
      function (err) {
        if (generation !== self.generation || (err && err.message === "stale")) return;
        self.setStatus(m, "failed");
        // The server answered but could not keep the message: say why; it is not "offline".
        if (err && err.serverMessage) self.notSaved(err.serverMessage);
        else self.goOffline();
      }
    );
  };

  Widget.prototype.setStatus = function (m, status) {
    if (status) m.status = status;
    else delete m.status;
    this.save();
    var node = this.nodes.log.querySelector('[data-msg-id="' + m.id + '"]');
    if (!node) return;
    var failed = node.querySelector(".hc-failed");
    if (failed) node.removeChild(failed);
    if (status === "failed") node.appendChild(this.renderFailed(m));
  };

  /**
   * Show the replies to `question` (the visitor's message they answer; none for the greeting). An
   * answer is rated only while its question is the visitor's latest: a click on an answer that
   * arrives after the visitor has asked again would follow the newer question in the conversation
   * and be credited to the wrong answer.
   */
  Widget.prototype.receive = function (replies, question) {
    var shown = [];
    var queued = false;
    var rateable = !question || this.latestQuestion() === question;
    (Array.isArray(replies) ? replies : []).forEach(function (r) {
      if (!r || typeof r !== "object") return;
      var text = typeof r.text === "string" ? r.text : "";
      var buttons = cleanButtons(r.buttons);
      if (r.custom && r.custom.handoff && r.custom.handoff.state === "queued") {
        queued = true; // the assistant put us in the officers' queue
        return;
      }
      if (r.custom && r.custom.feedback === true) {
        if (rateable && shown.length) shown[shown.length - 1].feedback = "ask"; // it follows its answer
        return;
      }
      if (!text && !buttons.length) return; // images, other custom payloads: not supported here
      var m = { id: newConversationId(), from: "bot", text: text };
      if (buttons.length) m.buttons = buttons;
      shown.push(m);
    });
    if (shown.length) this.appendMessages(shown);
    if (queued) this.startHandoff();
    // While an officer has the conversation the assistant stays quiet on purpose.
    else if (!shown.length && !this.state.handoff) this.noAnswer();
  };

  /** The visitor's most recent message, sent or still waiting. */
  Widget.prototype.latestQuestion = function () {
    var msgs = this.state.messages;
    for (var i = msgs.length - 1; i >= 0; i -= 1) if (msgs[i].from === "user") return msgs[i];
    return null;
  };

  /* ---- live chat with an admissions officer ---- */

}

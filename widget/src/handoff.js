/** Live chat with an admissions officer: polling the web server for the officer's messages. */

import { HANDOFF_STATES } from "./storage.js";
import { el } from "./render.js";
import { fetchWithTimeout } from "./transport.js";
import { fill } from "./strings.js";

// Staff events that end a live chat (core/handoff.py ENDING_KINDS), and how many more polls to
// wait for one once the server says the chat is over.
export var ENDING_KINDS = { handed_back: true, closed: true, ended_by_visitor: true, expired: true };
export var ENDING_GRACE_POLLS = 3;

export function addHandoff(Widget) {
  Widget.prototype.startHandoff = function () {
    var h = this.state.handoff;
    this.state.handoff = { state: h ? h.state : "queued", after: h ? h.after : 0, staff: h ? h.staff : null };
    this.save();
    this.syncHandoff();
  };

  /** Show the hand-off bar and poll for the officer's messages exactly while a hand-off is on. */
  Widget.prototype.syncHandoff = function () {
    var h = this.state.handoff;
    var n = this.nodes;
    var t = this.opts.strings;
    if (!n.handoffBar) return;
    n.handoffBar.hidden = !h;
    if (h) {
      n.handoffStatus.textContent =
        h.state === "live" ? fill(t.handoffLive, { name: h.staff || t.staffFallback }) : t.handoffWaiting;
      if (!this.pollTimer) this.schedulePoll(0);
    } else if (this.pollTimer) {
      window.clearTimeout(this.pollTimer);
      this.pollTimer = null;
    }
  };

  Widget.prototype.schedulePoll = function (delay) {
    var self = this;
    if (this.pollTimer) window.clearTimeout(this.pollTimer);
    this.pollTimer = window.setTimeout(function () {
      self.pollTimer = null;
      self.poll();
    }, delay);
  };

  Widget.prototype.handoffRequest = function (method, path) {
    return fetchWithTimeout(
      this.handoffUrl + "/handoff/" + encodeURIComponent(this.state.id) + path,
      {
        method: method,
        cache: "no-store",
        headers: { "X-Handoff-Secret": this.state.secret || "", Accept: "application/json" },
      },
      this.opts.timeoutMs,
      function (res) {
        if (res.status === 403 || res.status === 404) return { state: "none", events: [], lost: true };
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      }
    );
  };

  /** Ask for the officer's new messages and the hand-off's state; show them; poll again. */
  Widget.prototype.poll = function () {
    var self = this;
    var h = this.state.handoff;
    if (!h) return;
    var id = this.state.id;
    this.handoffRequest("GET", "/events?after=" + h.after).then(
      function (data) {
        if (self.state.id !== id || !self.state.handoff) return;
        self.applyHandoff(data);
        if (self.state.handoff) self.schedulePoll(self.opts.handoffPollMs);
      },
      function () {
        if (self.state.id === id && self.state.handoff) self.schedulePoll(Math.max(3000, self.opts.handoffPollMs));
      }
    );
  };

  Widget.prototype.applyHandoff = function (data) {
    var h = this.state.handoff;
    var known = {};
    this.state.messages.forEach(function (m) {
      known[m.id] = true;
    });
    var fresh = [];
    (Array.isArray(data && data.events) ? data.events : []).forEach(function (e) {
      if (!e || typeof e.text !== "string" || !(e.id > 0)) return;
      h.after = Math.max(h.after, Math.floor(e.id));
      var id = "staff-" + Math.floor(e.id);
      if (known[id] || !e.text.trim()) return;
      fresh.push({
        id: id,
        from: "staff",
        kind: e.kind === "message" ? "message" : "notice",
        name: typeof e.staff === "string" ? e.staff.slice(0, 100) : undefined,
        text: e.text,
      });
    });
    if (data && data.last_id > h.after) h.after = Math.floor(data.last_id);
    if (fresh.length) this.appendMessages(fresh);
    var ending = (Array.isArray(data && data.events) ? data.events : []).some(function (e) {
      return e && ENDING_KINDS[e.kind] === true;
    });
    if (data && HANDOFF_STATES[data.state] === true) {
      h.state = data.state;
      h.staff = typeof data.staff === "string" ? data.staff : h.staff;
      delete h.grace;
    } else if (!ending && !(data && data.lost) && !(h.grace <= 0)) {
      // Ended, but its announcement ("… handed the chat back") may still be on its way to the
      // conversation: look a few more times before leaving live-chat mode.
      h.grace = h.grace > 0 ? h.grace - 1 : ENDING_GRACE_POLLS;
    } else {
      this.state.handoff = null;
      if (data && data.lost && !fresh.length) {
        var t = this.opts.strings;
        this.notice("ok", function (bubble) {
          bubble.appendChild(el("p", { className: "hc-p", text: t.handoffLost }));
        });
      }
    }
    this.save();
    this.syncHandoff();
  };

  /** "End chat": the visitor leaves the officer; the assistant answers again. */
  Widget.prototype.endHandoff = function () {
    var self = this;
    if (!this.state.handoff) return;
    var id = this.state.id;
    this.nodes.handoffEnd.disabled = true;
    var done = function () {
      self.nodes.handoffEnd.disabled = false;
      if (self.state.id === id && self.state.handoff) self.poll(); // picks up the announcement
    };
    this.handoffRequest("POST", "/end").then(done, done);
  };

  /* ---- connection problems ---- */

}

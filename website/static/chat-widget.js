/*!
 * Heinz Admissions Assistant — chat widget for Rasa's REST channel.
 * No dependencies, no framework. Embed with one script tag:
 *
 *   <script src="/static/chat-widget.js" data-server-url="http://localhost:5005"
 *           data-title="Heinz Admissions Assistant" data-greeting-payload="/greet"
 *           data-program="mism"
 *           data-contact-office="Heinz College Office of Admissions"
 *           data-contact-email="hnzadmit@andrew.cmu.edu" data-contact-phone="412-268-2164" defer></script>
 *
 * or load the script with data-auto-init="false" and call window.HeinzChat.init({ serverUrl: "…" }).
 * See docs/widget.md for every option. The contact comes from the page (the demo site renders it
 * from the knowledge file); every sentence the widget shows is in STRINGS below.
 *
 * Built from widget/src/ by widget/build.mjs (`make widget`); edit the sources, not this file.
 *
 * Safety rule: message text is never parsed as HTML. Everything the bot or the visitor
 * wrote is put into the page with textContent / createTextNode; links are built as <a> elements
 * whose href passed a protocol check (http, https, mailto only).
 */
"use strict";
(() => {
  // src/strings.js
  var VERSION = "1.3.0";
  var STRINGS = {
    title: "Heinz Admissions Assistant",
    subtitle: "Questions about MISM and MSIT",
    launcherLabel: "Chat with us",
    privacyNotice: "Conversations are stored to improve this service. Please don't share personal details.",
    region: "Chat: {title}",
    log: "Conversation with {title}",
    you: "You",
    startOver: "Start over",
    close: "Close chat",
    inputLabel: "Your message",
    placeholder: "Type your question…",
    send: "Send",
    hint: "Press Enter to send, Shift+Enter for a new line. Up to {max} characters.",
    // Under the message box when text would not fit in it (its maxlength cuts it silently otherwise):
    pasteCut: "Only the first {max} characters fit: the end of what you pasted was left out.",
    typedFull: "That's the limit: a message can be up to {max} characters.",
    newTab: "opens in a new tab",
    suggestedReplies: "Suggested replies",
    notSent: "Not sent. ",
    retry: "Retry",
    retryLabel: "Retry sending: {text}",
    unreachable: "Sorry, the assistant can't be reached right now. Your message is kept, so you can retry it in a moment.",
    unreachableContact: "Need an answer now? Contact {contact}.",
    noAnswer: "Sorry, I couldn't answer that just now. Please try again in a moment.",
    noAnswerContact: "Or contact {contact}.",
    reconnected: "Reconnected. You can continue the conversation.",
    reconnectedRetry: "Reconnected. Use Retry to send your message again.",
    // Under each answer (once per answer; withdrawn when the visitor writes again).
    feedbackQuestion: "Was this answer helpful?",
    helpful: "Helpful",
    notHelpful: "Not helpful",
    helpfulLabel: "This answer was helpful",
    notHelpfulLabel: "This answer was not helpful",
    feedbackThanks: "Thanks for your feedback",
    // Live chat with an admissions officer (docs/handoff.md).
    handoffWaiting: "Waiting for an admissions officer…",
    handoffLive: "Chatting with {name}, admissions officer",
    handoffEnd: "End chat",
    handoffEndLabel: "End chat with the admissions officer",
    staffLabel: "{name} (admissions officer)",
    staffFallback: "Admissions officer",
    handoffLost: "The live chat has ended. The assistant is answering again.",
    // {contact}, depending on what the page gave (data-contact-office / -email / -phone):
    contactFull: "{office} at {email} or {phone}",
    contactEmail: "{office} at {email}",
    contactPhone: "{office} at {phone}",
    contactOffice: "{office}",
    officeFallback: "the admissions office"
  };
  var DEFAULTS = {
    serverUrl: "http://localhost:5005",
    title: STRINGS.title,
    subtitle: STRINGS.subtitle,
    launcherLabel: STRINGS.launcherLabel,
    greetingPayload: "/greet",
    program: null,
    // the program this page is about ("mism", "msit"): sent with every message
    storageKey: "heinz-chat",
    timeoutMs: 1e4,
    // a reply slower than this counts as "server unreachable"
    healthIntervalMs: 5e3,
    // how often to probe GET {serverUrl}/ while unreachable
    maxLength: 1e3,
    maxHistory: 200,
    restoreOpen: true,
    // reopen the panel after a reload if it was open
    // The human contact offered whenever the assistant can't answer; the page provides it.
    contactOffice: null,
    contactEmail: null,
    contactPhone: null,
    privacyNotice: STRINGS.privacyNotice,
    strings: null,
    // overrides for STRINGS
    stylesheet: null,
    // URL of chat-widget.css; default: next to this script; false = don't load
    container: null,
    // element to mount into; default: document.body
    // Where the web server's hand-off endpoints are (GET /handoff/<id>/events …); default: the
    // origin this script was loaded from.
    handoffUrl: null,
    handoffPollMs: 1e3
    // how often to ask for the officer's messages during a live chat
  };
  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function(all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  // src/script.js
  var SCRIPT = document.currentScript;
  function defaultHandoffUrl() {
    try {
      if (SCRIPT && SCRIPT.src) return new URL(SCRIPT.src).origin;
    } catch (e) {
    }
    return window.location.origin;
  }
  function defaultStylesheet() {
    if (!SCRIPT || !SCRIPT.src) return null;
    try {
      return new URL("chat-widget.css", SCRIPT.src).href;
    } catch (e) {
      return null;
    }
  }

  // src/render.js
  var LIST_ITEM = /^\s*(?:\u2022|-)\s+/;
  var INLINE_TOKEN = /\[([^\]\n]{1,300})\]\(((?:https?:\/\/|mailto:)[^\s()]+)\)|(https?:\/\/[^\s<>"'`]+)|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;
  var EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var uid = 0;
  function nextId(prefix) {
    uid += 1;
    return "hc-" + prefix + "-" + uid;
  }
  function fillNodes(template, values) {
    var frag = document.createDocumentFragment();
    String(template).split(/(\{\w+\})/).forEach(function(part) {
      var name = /^\{(\w+)\}$/.exec(part);
      var value = name && Object.prototype.hasOwnProperty.call(values, name[1]) ? values[name[1]] : part;
      if (value == null || value === "") return;
      frag.appendChild(typeof value === "string" ? document.createTextNode(value) : value);
    });
    return frag;
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    var key;
    attrs = attrs || {};
    for (key in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key) || attrs[key] == null) continue;
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (attrs[key] === true) node.setAttribute(key, "");
      else if (attrs[key] !== false) node.setAttribute(key, String(attrs[key]));
    }
    (children || []).forEach(function(child) {
      if (child != null) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function icon(pathData) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "20");
    svg.setAttribute("height", "20");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "hc-icon");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }
  var ICON_CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zM12 8a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z";
  var ICON_CLOSE = "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z";
  var ICON_RESTART = "M12 5V2L7 6l5 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z";
  function safeWebHref(raw) {
    try {
      var url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }
  function safeLinkHref(raw) {
    if (/^mailto:/i.test(raw)) {
      var address = raw.slice("mailto:".length);
      return EMAIL.test(address) ? "mailto:" + address : null;
    }
    return safeWebHref(raw);
  }
  function splitTrailing(url) {
    var trail = "";
    for (; ; ) {
      var last = url.charAt(url.length - 1);
      var opens = url.split("(").length - 1;
      var closes = url.split(")").length - 1;
      if (`.,;:!?'"*`.indexOf(last) !== -1 || last === ")" && closes > opens || last === "]") {
        trail = last + trail;
        url = url.slice(0, -1);
      } else {
        return [url, trail];
      }
    }
  }
  function link(href, label, newTabHintId) {
    var a = el("a", { href, target: "_blank", rel: "noopener noreferrer", className: "hc-link" });
    a.textContent = label;
    if (newTabHintId && href.indexOf("mailto:") !== 0) a.setAttribute("aria-describedby", newTabHintId);
    return a;
  }
  function appendInline(parent, text, newTabHintId) {
    var last = 0;
    var match;
    INLINE_TOKEN.lastIndex = 0;
    while ((match = INLINE_TOKEN.exec(text)) !== null) {
      var before = text.slice(last, match.index);
      var node = null;
      var trail = "";
      if (match[1] !== void 0) {
        var mdHref = safeLinkHref(match[2]);
        if (mdHref) node = link(mdHref, match[1], newTabHintId);
      } else if (match[3] !== void 0) {
        var parts = splitTrailing(match[3]);
        var href = safeWebHref(parts[0]);
        if (href) {
          node = link(href, parts[0], newTabHintId);
          trail = parts[1];
        }
      } else if (match[4] !== void 0) {
        var address = match[4].replace(/\.+$/, "");
        trail = match[4].slice(address.length);
        node = link("mailto:" + address, address, newTabHintId);
      }
      if (!node) continue;
      if (before) parent.appendChild(document.createTextNode(before));
      parent.appendChild(node);
      if (trail) parent.appendChild(document.createTextNode(trail));
      last = match.index + match[0].length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function renderRichText(text, newTabHintId) {
    var frag = document.createDocumentFragment();
    var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    var para = null;
    var list = null;
    lines.forEach(function(line) {
      var bullet = LIST_ITEM.exec(line);
      if (bullet) {
        para = null;
        if (!list) {
          list = el("ul", { className: "hc-list" });
          frag.appendChild(list);
        }
        var li = el("li");
        appendInline(li, line.slice(bullet[0].length), newTabHintId);
        list.appendChild(li);
        return;
      }
      list = null;
      if (!line.trim()) {
        para = null;
        return;
      }
      if (para) para.appendChild(el("br"));
      else {
        para = el("p", { className: "hc-p" });
        frag.appendChild(para);
      }
      appendInline(para, line, newTabHintId);
    });
    return frag;
  }

  // src/storage.js
  var FEEDBACK_VALUES = { ask: true, yes: true, no: true };
  function feedbackPayload(value) {
    return '/feedback{"helpful":"' + value + '"}';
  }
  function newConversationId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try {
        return c.randomUUID();
      } catch (e) {
      }
    }
    var bytes = new Array(16);
    if (c && typeof c.getRandomValues === "function") {
      var buf = new Uint8Array(16);
      c.getRandomValues(buf);
      for (var i = 0; i < 16; i++) bytes[i] = buf[i];
    } else {
      for (var j = 0; j < 16; j++) bytes[j] = Math.floor(Math.random() * 256);
    }
    bytes[6] = bytes[6] & 15 | 64;
    bytes[8] = bytes[8] & 63 | 128;
    var hex = bytes.map(function(b) {
      return (b + 256).toString(16).slice(1);
    });
    return hex.slice(0, 4).join("") + "-" + hex.slice(4, 6).join("") + "-" + hex.slice(6, 8).join("") + "-" + hex.slice(8, 10).join("") + "-" + hex.slice(10, 16).join("");
  }
  function newSecret() {
    var c = window.crypto;
    if (!c || typeof c.getRandomValues !== "function") return null;
    var buf = new Uint8Array(32);
    c.getRandomValues(buf);
    return Array.prototype.map.call(buf, function(b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }
  var HANDOFF_STATES = { queued: true, live: true };
  function Store(key) {
    this.key = key;
    this.memory = null;
  }
  Store.prototype.load = function() {
    try {
      var raw = window.localStorage.getItem(this.key);
      if (raw) return JSON.parse(raw);
    } catch (e) {
    }
    return this.memory;
  };
  Store.prototype.save = function(state) {
    this.memory = state;
    try {
      window.localStorage.setItem(this.key, JSON.stringify(state));
    } catch (e) {
    }
  };
  function cleanButtons(buttons) {
    if (!Array.isArray(buttons)) return [];
    return buttons.filter(function(b) {
      return b && typeof b.title === "string" && b.title.trim() && typeof b.payload === "string";
    }).map(function(b) {
      return { title: b.title, payload: b.payload };
    });
  }
  function cleanState(raw) {
    if (!raw || typeof raw !== "object" || typeof raw.id !== "string" || !raw.id) return null;
    var messages = Array.isArray(raw.messages) ? raw.messages : [];
    var h = raw.handoff;
    return {
      v: 1,
      id: raw.id,
      open: raw.open === true,
      secret: typeof raw.secret === "string" && /^[0-9a-f]{64}$/.test(raw.secret) ? raw.secret : newSecret(),
      handoff: h && HANDOFF_STATES[h.state] === true ? { state: h.state, after: h.after > 0 ? Math.floor(h.after) : 0, staff: typeof h.staff === "string" ? h.staff : null } : null,
      messages: messages.filter(function(m) {
        return m && (m.from === "user" || m.from === "bot" || m.from === "staff") && typeof m.text === "string";
      }).map(function(m) {
        var id = typeof m.id === "string" && /^[A-Za-z0-9-]{1,64}$/.test(m.id) ? m.id : newConversationId();
        var msg = { id, from: m.from, text: m.text };
        if (m.from === "staff") {
          msg.kind = m.kind === "message" ? "message" : "notice";
          if (typeof m.name === "string") msg.name = m.name.slice(0, 100);
        } else if (m.from === "user") {
          if (typeof m.payload === "string" && m.payload !== m.text) msg.payload = m.payload;
          if (m.status === "failed" || m.status === "pending") msg.status = "failed";
        } else {
          var buttons = cleanButtons(m.buttons);
          if (buttons.length) msg.buttons = buttons;
          if (FEEDBACK_VALUES[m.feedback] === true) msg.feedback = m.feedback;
        }
        return msg;
      })
    };
  }

  // src/transport.js
  function sha256Hex(text) {
    var subtle = window.crypto && window.crypto.subtle;
    if (!text || !subtle || typeof window.TextEncoder !== "function") return Promise.resolve(null);
    return subtle.digest("SHA-256", new window.TextEncoder().encode(text)).then(
      function(digest) {
        return Array.prototype.map.call(new Uint8Array(digest), function(b) {
          return (b + 256).toString(16).slice(1);
        }).join("");
      },
      function() {
        return null;
      }
    );
  }
  function trimSlash(url) {
    return String(url || "").replace(/\/+$/, "");
  }
  function fetchWithTimeout(url, init, timeoutMs, read) {
    var controller = typeof window.AbortController === "function" ? new window.AbortController() : null;
    if (controller) init.signal = controller.signal;
    var timer;
    var timeout = new Promise(function(resolve, reject) {
      timer = window.setTimeout(function() {
        if (controller) controller.abort();
        reject(new Error("timeout"));
      }, timeoutMs);
    });
    var exchange = window.fetch(url, init).then(read);
    return Promise.race([exchange, timeout]).then(
      function(result) {
        window.clearTimeout(timer);
        return result;
      },
      function(err) {
        window.clearTimeout(timer);
        throw err;
      }
    );
  }
  function refusal(status, unreadable) {
    return function(body) {
      var error = new Error("HTTP " + status);
      if (!unreadable && status === 503 && body && typeof body.error === "string" && body.error.trim()) {
        error.serverMessage = body.error.trim().slice(0, 300);
      }
      throw error;
    };
  }

  // src/connection.js
  function contactParagraph(o, sentence) {
    var t = o.strings;
    var email = o.contactEmail;
    if (email && EMAIL.test(email)) email = link("mailto:" + email, email, null);
    var phone = o.contactPhone;
    var digits = phone ? phone.replace(/[^0-9]/g, "") : "";
    if (digits.length >= 7) {
      var tel = el("a", { className: "hc-link", href: (/^\s*\+/.test(phone) ? "tel:+" : "tel:+1") + digits });
      tel.textContent = phone;
      phone = tel;
    }
    var template = email && phone ? t.contactFull : email ? t.contactEmail : phone ? t.contactPhone : t.contactOffice;
    var contact = fillNodes(template, { office: o.contactOffice || t.officeFallback, email, phone });
    return el("p", { className: "hc-p" }, [fillNodes(sentence, { contact })]);
  }
  function addConnection(Widget2) {
    Widget2.prototype.goOffline = function() {
      var o = this.opts;
      var t = o.strings;
      var wasOffline = this.offline;
      this.offline = true;
      this.nodes.root.classList.add("hc-is-offline");
      this.startHealthCheck();
      if (wasOffline) return;
      this.notice("error", function(bubble) {
        bubble.appendChild(el("p", { className: "hc-p", text: t.unreachable }));
        bubble.appendChild(contactParagraph(o, t.unreachableContact));
      });
    };
    Widget2.prototype.notSaved = function(reason) {
      var o = this.opts;
      this.notice("error", function(bubble) {
        bubble.appendChild(el("p", { className: "hc-p", text: reason }));
        bubble.appendChild(contactParagraph(o, o.strings.noAnswerContact));
      });
    };
    Widget2.prototype.noAnswer = function() {
      var o = this.opts;
      this.notice("error", function(bubble) {
        bubble.appendChild(el("p", { className: "hc-p", text: o.strings.noAnswer }));
        bubble.appendChild(contactParagraph(o, o.strings.noAnswerContact));
      });
    };
    Widget2.prototype.backOnline = function() {
      if (!this.offline) return;
      this.offline = false;
      this.stopHealthCheck();
      this.nodes.root.classList.remove("hc-is-offline");
      var hasFailed = this.state.messages.some(function(m) {
        return m.status === "failed";
      });
      var t = this.opts.strings;
      this.notice("ok", function(bubble) {
        bubble.appendChild(el("p", { className: "hc-p", text: hasFailed ? t.reconnectedRetry : t.reconnected }));
      });
      if (!this.state.messages.length && this.isOpen() && !this.greetingInFlight && this.opts.greetingPayload) this.greet();
    };
    Widget2.prototype.startHealthCheck = function() {
      var self = this;
      if (this.healthTimer) return;
      var tick = function() {
        self.healthTimer = window.setTimeout(function() {
          self.ping().then(function(up) {
            if (!self.healthTimer) return;
            self.healthTimer = null;
            if (up) self.backOnline();
            else tick();
          });
        }, self.opts.healthIntervalMs);
      };
      tick();
    };
    Widget2.prototype.stopHealthCheck = function() {
      if (this.healthTimer) window.clearTimeout(this.healthTimer);
      this.healthTimer = null;
    };
    Widget2.prototype.ping = function() {
      var isOk = function(res) {
        return res.ok;
      };
      return fetchWithTimeout(this.serverUrl + "/", { method: "GET", cache: "no-store" }, this.opts.timeoutMs, isOk).catch(
        function() {
          return false;
        }
      );
    };
    Widget2.prototype.onOnline = function() {
      var self = this;
      if (!this.offline) return;
      this.ping().then(function(up) {
        if (up) self.backOnline();
      });
    };
  }

  // src/handoff.js
  var ENDING_KINDS = { handed_back: true, closed: true, ended_by_visitor: true, expired: true };
  var ENDING_GRACE_POLLS = 3;
  function addHandoff(Widget2) {
    Widget2.prototype.startHandoff = function() {
      var h = this.state.handoff;
      this.state.handoff = { state: h ? h.state : "queued", after: h ? h.after : 0, staff: h ? h.staff : null };
      this.save();
      this.syncHandoff();
    };
    Widget2.prototype.syncHandoff = function() {
      var h = this.state.handoff;
      var n = this.nodes;
      var t = this.opts.strings;
      if (!n.handoffBar) return;
      n.handoffBar.hidden = !h;
      if (h) {
        n.handoffStatus.textContent = h.state === "live" ? fill(t.handoffLive, { name: h.staff || t.staffFallback }) : t.handoffWaiting;
        if (!this.pollTimer) this.schedulePoll(0);
      } else if (this.pollTimer) {
        window.clearTimeout(this.pollTimer);
        this.pollTimer = null;
      }
    };
    Widget2.prototype.schedulePoll = function(delay) {
      var self = this;
      if (this.pollTimer) window.clearTimeout(this.pollTimer);
      this.pollTimer = window.setTimeout(function() {
        self.pollTimer = null;
        self.poll();
      }, delay);
    };
    Widget2.prototype.handoffRequest = function(method, path) {
      return fetchWithTimeout(
        this.handoffUrl + "/handoff/" + encodeURIComponent(this.state.id) + path,
        {
          method,
          cache: "no-store",
          headers: { "X-Handoff-Secret": this.state.secret || "", Accept: "application/json" }
        },
        this.opts.timeoutMs,
        function(res) {
          if (res.status === 403 || res.status === 404) return { state: "none", events: [], lost: true };
          if (!res.ok) throw new Error("HTTP " + res.status);
          return res.json();
        }
      );
    };
    Widget2.prototype.poll = function() {
      var self = this;
      var h = this.state.handoff;
      if (!h) return;
      var id = this.state.id;
      this.handoffRequest("GET", "/events?after=" + h.after).then(
        function(data) {
          if (self.state.id !== id || !self.state.handoff) return;
          self.applyHandoff(data);
          if (self.state.handoff) self.schedulePoll(self.opts.handoffPollMs);
        },
        function() {
          if (self.state.id === id && self.state.handoff) self.schedulePoll(Math.max(3e3, self.opts.handoffPollMs));
        }
      );
    };
    Widget2.prototype.applyHandoff = function(data) {
      var h = this.state.handoff;
      var known = {};
      this.state.messages.forEach(function(m) {
        known[m.id] = true;
      });
      var fresh = [];
      (Array.isArray(data && data.events) ? data.events : []).forEach(function(e) {
        if (!e || typeof e.text !== "string" || !(e.id > 0)) return;
        h.after = Math.max(h.after, Math.floor(e.id));
        var id = "staff-" + Math.floor(e.id);
        if (known[id] || !e.text.trim()) return;
        fresh.push({
          id,
          from: "staff",
          kind: e.kind === "message" ? "message" : "notice",
          name: typeof e.staff === "string" ? e.staff.slice(0, 100) : void 0,
          text: e.text
        });
      });
      if (data && data.last_id > h.after) h.after = Math.floor(data.last_id);
      if (fresh.length) this.appendMessages(fresh);
      var ending = (Array.isArray(data && data.events) ? data.events : []).some(function(e) {
        return e && ENDING_KINDS[e.kind] === true;
      });
      if (data && HANDOFF_STATES[data.state] === true) {
        h.state = data.state;
        h.staff = typeof data.staff === "string" ? data.staff : h.staff;
        delete h.grace;
      } else if (!ending && !(data && data.lost) && !(h.grace <= 0)) {
        h.grace = h.grace > 0 ? h.grace - 1 : ENDING_GRACE_POLLS;
      } else {
        this.state.handoff = null;
        if (data && data.lost && !fresh.length) {
          var t = this.opts.strings;
          this.notice("ok", function(bubble) {
            bubble.appendChild(el("p", { className: "hc-p", text: t.handoffLost }));
          });
        }
      }
      this.save();
      this.syncHandoff();
    };
    Widget2.prototype.endHandoff = function() {
      var self = this;
      if (!this.state.handoff) return;
      var id = this.state.id;
      this.nodes.handoffEnd.disabled = true;
      var done = function() {
        self.nodes.handoffEnd.disabled = false;
        if (self.state.id === id && self.state.handoff) self.poll();
      };
      this.handoffRequest("POST", "/end").then(done, done);
    };
  }

  // src/messages.js
  function addMessages(Widget2) {
    Widget2.prototype.renderAll = function() {
      var log = this.nodes.log;
      while (log.firstChild) log.removeChild(log.firstChild);
      var self = this;
      this.state.messages.forEach(function(m) {
        log.appendChild(self.renderMessage(m));
      });
      this.refreshQuickReplies();
    };
    Widget2.prototype.renderMessage = function(m) {
      if (m.from === "staff") return this.renderStaffMessage(m);
      var who = m.from === "user" ? this.opts.strings.you : this.opts.title;
      var bubble = el("div", { className: "hc-bubble" });
      if (m.from === "user") bubble.textContent = m.text;
      else bubble.appendChild(renderRichText(m.text, this.ids.newTab));
      var node = el("div", { className: "hc-msg hc-msg--" + m.from, "data-msg-id": m.id }, [
        el("span", { className: "hc-sr-only", text: who + ": " }),
        bubble
      ]);
      if (m.from === "user" && m.status === "failed") node.appendChild(this.renderFailed(m));
      if (m.from === "bot" && m.feedback) node.appendChild(this.renderFeedback(m));
      return node;
    };
    Widget2.prototype.renderStaffMessage = function(m) {
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
        bubble
      ]);
    };
    Widget2.prototype.renderFeedback = function(m) {
      var self = this;
      var t = this.opts.strings;
      var done = m.feedback === "yes" || m.feedback === "no";
      var group = el("div", { className: "hc-feedback", role: "group", "aria-label": t.feedbackQuestion });
      [
        ["yes", t.helpful, t.helpfulLabel],
        ["no", t.notHelpful, t.notHelpfulLabel]
      ].forEach(function(choice) {
        var btn = el("button", {
          type: "button",
          className: "hc-feedback-btn",
          text: choice[1],
          "aria-label": choice[2],
          "aria-pressed": done ? String(m.feedback === choice[0]) : null,
          disabled: done
        });
        btn.addEventListener("click", function() {
          self.sendFeedback(m, choice[0]);
        });
        group.appendChild(btn);
      });
      if (done) group.appendChild(el("span", { className: "hc-feedback-thanks", text: t.feedbackThanks }));
      return group;
    };
    Widget2.prototype.updateFeedback = function(m) {
      var node = this.nodes.log.querySelector('[data-msg-id="' + m.id + '"]');
      if (!node) return;
      var old = node.querySelector(".hc-feedback");
      var next = m.feedback ? this.renderFeedback(m) : null;
      if (old && next) node.replaceChild(next, old);
      else if (old) node.removeChild(old);
      else if (next) node.insertBefore(next, node.querySelector(".hc-quick"));
    };
    Widget2.prototype.sendFeedback = function(m, value) {
      var self = this;
      if (m.feedback !== "ask") return;
      var generation = this.generation;
      m.feedback = value;
      this.save();
      this.updateFeedback(m);
      this.nodes.input.focus();
      this.enqueue(feedbackPayload(value), generation).then(
        function(replies) {
          if (generation !== self.generation) return;
          if (self.offline) self.backOnline();
          self.receive(replies);
        },
        function(err) {
          if (generation !== self.generation || err && err.message === "stale") return;
          m.feedback = "ask";
          self.save();
          self.updateFeedback(m);
          self.goOffline();
        }
      );
    };
    Widget2.prototype.renderFailed = function(m) {
      var self = this;
      var t = this.opts.strings;
      var retry = el("button", { type: "button", className: "hc-retry", text: t.retry });
      var short = m.text.length > 60 ? m.text.slice(0, 57) + "…" : m.text;
      retry.setAttribute("aria-label", fill(t.retryLabel, { text: short }));
      retry.addEventListener("click", function() {
        self.retry(m.id);
      });
      return el("div", { className: "hc-failed" }, [el("span", { text: t.notSent }), retry]);
    };
    Widget2.prototype.notice = function(kind, build) {
      var node = el("div", { className: "hc-msg hc-msg--system hc-notice--" + kind });
      var bubble = el("div", { className: "hc-bubble" });
      build(bubble);
      node.appendChild(bubble);
      this.nodes.log.appendChild(node);
      this.scrollToEnd();
      return node;
    };
    Widget2.prototype.refreshQuickReplies = function() {
      var self = this;
      var old = this.nodes.log.querySelectorAll(".hc-quick");
      Array.prototype.forEach.call(old, function(q) {
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
    Widget2.prototype.renderQuickReplies = function(buttons) {
      var self = this;
      var group = el("div", { className: "hc-quick", role: "group", "aria-label": this.opts.strings.suggestedReplies });
      buttons.forEach(function(b) {
        var btn = el("button", { type: "button", className: "hc-quick-btn", text: b.title });
        btn.addEventListener("click", function() {
          self.send(b.title, b.payload);
          self.nodes.input.focus();
        });
        group.appendChild(btn);
      });
      return group;
    };
    Widget2.prototype.appendMessages = function(list) {
      var self = this;
      var msgs = this.state.messages;
      var first = null;
      list.forEach(function(m) {
        if (m.from === "user") {
          msgs.forEach(function(old) {
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
      this.scrollToEnd(list.length && list[0].from === "bot" ? first : null);
    };
    Widget2.prototype.scrollToEnd = function(startNode) {
      var body = this.nodes.body;
      body.scrollTop = body.scrollHeight;
      if (!startNode) return;
      var hidden = body.getBoundingClientRect().top - startNode.getBoundingClientRect().top;
      if (hidden > 0) body.scrollTop -= hidden + 8;
    };
    Widget2.prototype.setTyping = function(delta) {
      this.inFlight = Math.max(0, this.inFlight + delta);
      this.nodes.typing.hidden = this.inFlight === 0;
      this.scrollToEnd();
    };
    Widget2.prototype.updateCounter = function() {
      var n = this.nodes;
      var len = n.input.value.length;
      n.counter.textContent = len + "/" + this.opts.maxLength;
      n.counter.classList.toggle("hc-counter--full", len >= this.opts.maxLength);
      if (len < this.opts.maxLength) this.setCut("");
    };
    Widget2.prototype.noteInsert = function(text, how) {
      var input = this.nodes.input;
      var max = this.opts.maxLength;
      var added = String(text || "").replace(/\r\n?/g, "\n").length;
      var replaced = how === "drop" ? 0 : Math.max(0, (input.selectionEnd || 0) - (input.selectionStart || 0));
      if (!added || added <= max - (input.value.length - replaced)) return;
      var t = this.opts.strings;
      if (how === "typed" && this.nodes.cut.textContent) return;
      this.setCut(fill(how === "typed" ? t.typedFull : t.pasteCut, { max }));
    };
    Widget2.prototype.setCut = function(text) {
      var cut = this.nodes.cut;
      if (cut.textContent !== text) cut.textContent = text;
    };
    Widget2.prototype.autosize = function() {
      var input = this.nodes.input;
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 120) + "px";
    };
    Widget2.prototype.submitInput = function() {
      var n = this.nodes;
      var text = n.input.value.trim().slice(0, this.opts.maxLength);
      if (!text) return;
      n.input.value = "";
      this.updateCounter();
      this.autosize();
      this.send(text, text);
    };
    Widget2.prototype.send = function(display, payload) {
      var m = { id: newConversationId(), from: "user", text: String(display), status: "pending" };
      if (payload != null && payload !== display) m.payload = String(payload);
      this.appendMessages([m]);
      this.deliver(m);
    };
    Widget2.prototype.retry = function(id) {
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
    Widget2.prototype.greet = function() {
      var self = this;
      var generation = this.generation;
      this.greetingInFlight = true;
      this.enqueue(this.opts.greetingPayload, generation).then(
        function(replies) {
          self.greetingInFlight = false;
          if (generation === self.generation) self.receive(replies);
        },
        function() {
          self.greetingInFlight = false;
          if (generation === self.generation) self.goOffline();
        }
      );
    };
    Widget2.prototype.enqueue = function(message, generation) {
      var self = this;
      var sender = this.state.id;
      var run = function() {
        if (generation !== self.generation) return Promise.reject(new Error("stale"));
        self.setTyping(1);
        return self.post(sender, message).then(
          function(replies) {
            self.setTyping(-1);
            return replies;
          },
          function(err) {
            self.setTyping(-1);
            throw err;
          }
        );
      };
      var result = this.queue.then(run, run);
      this.queue = result.catch(function() {
      });
      return result;
    };
    Widget2.prototype.metadata = function() {
      var meta = {};
      if (this.opts.program) meta.program = this.opts.program;
      meta.page_url = window.location.href;
      if (this.keyHash) meta.handoff_key = this.keyHash;
      return meta;
    };
    Widget2.prototype.post = function(sender, message) {
      var self = this;
      return this.keyReady.then(function() {
        return self.postNow(sender, message);
      });
    };
    Widget2.prototype.postNow = function(sender, message) {
      return fetchWithTimeout(
        this.serverUrl + "/webhooks/rest/webhook",
        {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ sender, message, metadata: this.metadata() })
        },
        this.opts.timeoutMs,
        function(res) {
          if (!res.ok) return res.json().then(refusal(res.status), refusal(res.status, true));
          return res.json().then(function(data) {
            if (!Array.isArray(data)) throw new Error("unexpected reply");
            return data;
          });
        }
      );
    };
    Widget2.prototype.deliver = function(m) {
      var self = this;
      var generation = this.generation;
      this.enqueue(m.payload != null ? m.payload : m.text, generation).then(
        function(replies) {
          if (generation !== self.generation) return;
          self.setStatus(m, null);
          if (self.offline) self.backOnline();
          self.receive(replies, m);
        },
        function(err) {
          if (generation !== self.generation || err && err.message === "stale") return;
          self.setStatus(m, "failed");
          if (err && err.serverMessage) self.notSaved(err.serverMessage);
          else self.goOffline();
        }
      );
    };
    Widget2.prototype.setStatus = function(m, status) {
      if (status) m.status = status;
      else delete m.status;
      this.save();
      var node = this.nodes.log.querySelector('[data-msg-id="' + m.id + '"]');
      if (!node) return;
      var failed = node.querySelector(".hc-failed");
      if (failed) node.removeChild(failed);
      if (status === "failed") node.appendChild(this.renderFailed(m));
    };
    Widget2.prototype.receive = function(replies, question) {
      var shown = [];
      var queued = false;
      var rateable = !question || this.latestQuestion() === question;
      (Array.isArray(replies) ? replies : []).forEach(function(r) {
        if (!r || typeof r !== "object") return;
        var text = typeof r.text === "string" ? r.text : "";
        var buttons = cleanButtons(r.buttons);
        if (r.custom && r.custom.handoff && r.custom.handoff.state === "queued") {
          queued = true;
          return;
        }
        if (r.custom && r.custom.feedback === true) {
          if (rateable && shown.length) shown[shown.length - 1].feedback = "ask";
          return;
        }
        if (!text && !buttons.length) return;
        var m = { id: newConversationId(), from: "bot", text };
        if (buttons.length) m.buttons = buttons;
        shown.push(m);
      });
      if (shown.length) this.appendMessages(shown);
      if (queued) this.startHandoff();
      else if (!shown.length && !this.state.handoff) this.noAnswer();
    };
    Widget2.prototype.latestQuestion = function() {
      var msgs = this.state.messages;
      for (var i = msgs.length - 1; i >= 0; i -= 1) if (msgs[i].from === "user") return msgs[i];
      return null;
    };
  }

  // src/widget.js
  function Widget(options) {
    this.opts = options;
    this.serverUrl = trimSlash(options.serverUrl);
    this.store = new Store(options.storageKey + ":v1");
    this.state = cleanState(this.store.load()) || this.freshState();
    this.offline = false;
    this.healthTimer = null;
    this.generation = 0;
    this.queue = Promise.resolve();
    this.inFlight = 0;
    this.greetingInFlight = false;
    this.focusWhenShown = false;
    this.nodes = {};
    this.onStorage = this.onStorage.bind(this);
    this.onOnline = this.onOnline.bind(this);
    this.onOpenTrigger = this.onOpenTrigger.bind(this);
    this.handoffUrl = trimSlash(options.handoffUrl || defaultHandoffUrl());
    this.pollTimer = null;
    this.keyHash = null;
    this.keyReady = this.hashKey();
  }
  Widget.prototype.freshState = function() {
    return { v: 1, id: newConversationId(), open: false, secret: newSecret(), handoff: null, messages: [] };
  };
  Widget.prototype.hashKey = function() {
    var self = this;
    var secret = this.state.secret;
    return sha256Hex(secret).then(function(hex) {
      if (self.state.secret === secret) self.keyHash = hex;
    });
  };
  Widget.prototype.save = function() {
    var s = this.state;
    if (s.messages.length > this.opts.maxHistory) s.messages = s.messages.slice(-this.opts.maxHistory);
    this.store.save(s);
  };
  Widget.prototype.mount = function() {
    var o = this.opts;
    var t = o.strings;
    var ids = {
      panel: nextId("panel"),
      title: nextId("title"),
      input: nextId("input"),
      hint: nextId("hint"),
      newTab: nextId("newtab")
    };
    this.ids = ids;
    var launcher = el("button", {
      type: "button",
      className: "hc-launcher",
      "aria-expanded": "false",
      "aria-controls": ids.panel
    }, [icon(ICON_CHAT), el("span", { className: "hc-launcher-label", text: o.launcherLabel })]);
    var restart = el("button", { type: "button", className: "hc-hbtn hc-restart" }, [
      icon(ICON_RESTART),
      el("span", { text: t.startOver })
    ]);
    var close = el("button", { type: "button", className: "hc-hbtn hc-close", "aria-label": t.close }, [
      icon(ICON_CLOSE)
    ]);
    var header = el("div", { className: "hc-header" }, [
      el("div", { className: "hc-heading" }, [
        el("div", { className: "hc-title", id: ids.title, text: o.title }),
        o.subtitle ? el("div", { className: "hc-subtitle", text: o.subtitle }) : null
      ]),
      el("div", { className: "hc-actions" }, [restart, close])
    ]);
    var log = el("div", {
      className: "hc-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": fill(t.log, { title: o.title })
    });
    var typing = el("div", { className: "hc-typing", "aria-hidden": "true", hidden: true }, [
      el("span", { className: "hc-dot" }),
      el("span", { className: "hc-dot" }),
      el("span", { className: "hc-dot" })
    ]);
    var body = el("div", { className: "hc-body", tabindex: "0" }, [log, typing]);
    var handoffStatus = el("span", { className: "hc-handoff-status" });
    var handoffEnd = el("button", {
      type: "button",
      className: "hc-handoff-end",
      text: t.handoffEnd,
      "aria-label": t.handoffEndLabel
    });
    var handoffBar = el("div", { className: "hc-handoff", hidden: true }, [handoffStatus, handoffEnd]);
    var input = el("textarea", {
      id: ids.input,
      className: "hc-input",
      rows: "1",
      maxlength: String(o.maxLength),
      placeholder: t.placeholder,
      autocomplete: "off",
      "aria-describedby": ids.hint
    });
    var counter = el("span", { className: "hc-counter", "aria-hidden": "true", text: "0/" + o.maxLength });
    var send = el("button", { type: "submit", className: "hc-send" }, [el("span", { text: t.send })]);
    var form = el("form", { className: "hc-form", novalidate: true }, [
      el("label", { className: "hc-sr-only", for: ids.input, text: t.inputLabel }),
      el("div", { className: "hc-field" }, [input, counter]),
      send
    ]);
    var hint = el("div", {
      id: ids.hint,
      hidden: true,
      text: fill(t.hint, { max: o.maxLength })
    });
    var newTab = el("div", { id: ids.newTab, hidden: true, text: t.newTab });
    var cut = el("div", { className: "hc-cut", role: "status", "aria-live": "polite" });
    var panel = el("section", {
      id: ids.panel,
      className: "hc-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": ids.title,
      hidden: true
    }, [
      header,
      el("p", { className: "hc-privacy", text: o.privacyNotice }),
      handoffBar,
      body,
      form,
      cut,
      hint,
      newTab
    ]);
    var rootAttrs = { className: "hc-root", "aria-label": fill(t.region, { title: o.title }), "data-hc-version": VERSION };
    var root = el("aside", rootAttrs, [
      launcher,
      panel
    ]);
    this.nodes = {
      root,
      launcher,
      panel,
      log,
      body,
      typing,
      input,
      send,
      form,
      counter,
      cut,
      restart,
      close,
      handoffBar,
      handoffStatus,
      handoffEnd
    };
    this.bindEvents();
    this.hideUntilStyled(o.pendingStylesheet);
    (o.container || document.body).appendChild(root);
    this.renderAll();
    if (o.restoreOpen && this.state.open) this.open({ focus: false });
    this.syncHandoff();
    return this;
  };
  Widget.prototype.hideUntilStyled = function(link2) {
    var self = this;
    if (!link2 || link2.sheet) return;
    this.nodes.root.style.display = "none";
    var reveal = function() {
      link2.removeEventListener("load", reveal);
      link2.removeEventListener("error", reveal);
      self.nodes.root.style.display = "";
      if (self.focusWhenShown && self.isOpen()) self.nodes.input.focus();
      self.focusWhenShown = false;
      self.scrollToEnd();
    };
    link2.addEventListener("load", reveal);
    link2.addEventListener("error", reveal);
  };
  Widget.prototype.bindEvents = function() {
    var self = this;
    var n = this.nodes;
    n.handoffEnd.addEventListener("click", function() {
      self.endHandoff();
    });
    n.launcher.addEventListener("click", function() {
      if (self.isOpen()) self.close({ returnFocus: true });
      else self.open({ focus: true });
    });
    n.close.addEventListener("click", function() {
      self.close({ returnFocus: true });
    });
    n.restart.addEventListener("click", function() {
      self.startOver();
    });
    n.root.addEventListener("keydown", function(event) {
      if ((event.key === "Escape" || event.key === "Esc") && self.isOpen()) {
        event.preventDefault();
        self.close({ returnFocus: true });
      }
    });
    n.form.addEventListener("submit", function(event) {
      event.preventDefault();
      self.submitInput();
    });
    n.input.addEventListener("keydown", function(event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        self.submitInput();
      }
    });
    n.input.addEventListener("input", function() {
      self.updateCounter();
      self.autosize();
    });
    n.input.addEventListener("paste", function(event) {
      var data = event.clipboardData || window.clipboardData;
      self.noteInsert(data && data.getData ? data.getData("text") : "", "paste");
    });
    n.input.addEventListener("beforeinput", function(event) {
      var type = event.inputType || "";
      if (!/^insert/.test(type) || type === "insertCompositionText") return;
      var text = event.data;
      if (text == null && event.dataTransfer) text = event.dataTransfer.getData("text/plain");
      if (text == null) text = /LineBreak|Paragraph/.test(type) ? "\n" : "";
      var how = type === "insertFromDrop" ? "drop" : /^insertFromPaste/.test(type) ? "paste" : "typed";
      self.noteInsert(text, how);
    });
    window.addEventListener("storage", this.onStorage);
    window.addEventListener("online", this.onOnline);
    document.addEventListener("click", this.onOpenTrigger);
  };
  Widget.prototype.onOpenTrigger = function(event) {
    var target = event.target;
    var trigger = target && target.closest ? target.closest("[data-heinz-chat-open]") : null;
    if (!trigger || this.nodes.root.contains(trigger)) return;
    event.preventDefault();
    this.open({ focus: true });
  };
  Widget.prototype.destroy = function() {
    this.generation += 1;
    this.stopHealthCheck();
    if (this.pollTimer) window.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    window.removeEventListener("storage", this.onStorage);
    window.removeEventListener("online", this.onOnline);
    document.removeEventListener("click", this.onOpenTrigger);
    if (this.nodes.root && this.nodes.root.parentNode) this.nodes.root.parentNode.removeChild(this.nodes.root);
  };
  Widget.prototype.isOpen = function() {
    return !this.nodes.panel.hidden;
  };
  Widget.prototype.open = function(how) {
    var n = this.nodes;
    n.panel.hidden = false;
    n.root.classList.add("hc-is-open");
    n.launcher.setAttribute("aria-expanded", "true");
    if (!this.state.open) {
      this.state.open = true;
      this.save();
    }
    this.scrollToEnd();
    if (!how || how.focus !== false) {
      n.input.focus();
      this.focusWhenShown = document.activeElement !== n.input;
    }
    if (!this.state.messages.length && !this.greetingInFlight && this.opts.greetingPayload) this.greet();
  };
  Widget.prototype.close = function(how) {
    var n = this.nodes;
    n.panel.hidden = true;
    n.root.classList.remove("hc-is-open");
    n.launcher.setAttribute("aria-expanded", "false");
    this.state.open = false;
    this.save();
    if (!how || how.returnFocus !== false) n.launcher.focus();
  };
  Widget.prototype.startOver = function() {
    if (this.state.handoff) this.handoffRequest("POST", "/end").catch(function() {
    });
    this.generation += 1;
    this.greetingInFlight = false;
    this.inFlight = 0;
    this.nodes.typing.hidden = true;
    var wasOpen = this.isOpen();
    this.state = this.freshState();
    this.state.open = wasOpen;
    this.save();
    this.keyHash = null;
    this.keyReady = this.hashKey();
    this.syncHandoff();
    this.renderAll();
    this.nodes.input.focus();
    if (this.opts.greetingPayload) this.greet();
  };
  Widget.prototype.onStorage = function(event) {
    if (event.key !== this.store.key) return;
    var next = cleanState(this.store.load());
    if (!next) return;
    var prev = this.state;
    next.open = this.isOpen();
    this.state = next;
    if (next.secret !== prev.secret) this.keyReady = this.hashKey();
    this.syncHandoff();
    if (next.id !== prev.id) {
      this.generation += 1;
      this.renderAll();
      return;
    }
    var known = {};
    prev.messages.forEach(function(m) {
      known[m.id] = true;
    });
    var samePrefix = prev.messages.every(function(m, i) {
      return next.messages[i] && next.messages[i].id === m.id && next.messages[i].feedback === m.feedback;
    });
    if (!samePrefix) {
      this.renderAll();
      return;
    }
    var self = this;
    next.messages.forEach(function(m) {
      if (!known[m.id]) self.nodes.log.appendChild(self.renderMessage(m));
    });
    this.refreshQuickReplies();
    this.scrollToEnd();
  };
  addMessages(Widget);
  addHandoff(Widget);
  addConnection(Widget);

  // src/boot.js
  function ensureStylesheet(href) {
    if (!href) return null;
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    for (var i = 0; i < links.length; i++) if (links[i].href === href) return null;
    var sheet = el("link", { rel: "stylesheet", href });
    document.head.appendChild(sheet);
    return sheet;
  }
  function optionsFromScript(script) {
    var d = script && script.dataset || {};
    var o = {};
    if (d.serverUrl) o.serverUrl = d.serverUrl;
    if (d.title) o.title = d.title;
    if (d.subtitle !== void 0) o.subtitle = d.subtitle;
    if (d.launcherLabel) o.launcherLabel = d.launcherLabel;
    if (d.greetingPayload !== void 0) o.greetingPayload = d.greetingPayload;
    if (d.program !== void 0) o.program = d.program;
    if (d.contactOffice !== void 0) o.contactOffice = d.contactOffice;
    if (d.contactEmail !== void 0) o.contactEmail = d.contactEmail;
    if (d.contactPhone !== void 0) o.contactPhone = d.contactPhone;
    if (d.storageKey) o.storageKey = d.storageKey;
    if (d.handoffUrl) o.handoffUrl = d.handoffUrl;
    if (d.timeoutMs) o.timeoutMs = parseInt(d.timeoutMs, 10);
    if (d.healthIntervalMs) o.healthIntervalMs = parseInt(d.healthIntervalMs, 10);
    if (d.maxLength) o.maxLength = parseInt(d.maxLength, 10);
    if (d.restoreOpen) o.restoreOpen = d.restoreOpen !== "false";
    if (d.stylesheet) o.stylesheet = d.stylesheet === "none" ? false : d.stylesheet;
    return o;
  }
  function merge(base, extra) {
    var out = {};
    var k;
    for (k in base) if (Object.prototype.hasOwnProperty.call(base, k)) out[k] = base[k];
    for (k in extra) if (Object.prototype.hasOwnProperty.call(extra, k) && extra[k] !== void 0) out[k] = extra[k];
    ["timeoutMs", "healthIntervalMs", "maxLength", "maxHistory", "handoffPollMs"].forEach(function(key) {
      if (!(out[key] > 0)) out[key] = base[key];
    });
    ["program", "contactOffice", "contactEmail", "contactPhone"].forEach(function(key) {
      out[key] = typeof out[key] === "string" && out[key].trim() ? out[key].trim().slice(0, 200) : null;
    });
    out.strings = {};
    for (k in STRINGS) if (Object.prototype.hasOwnProperty.call(STRINGS, k)) out.strings[k] = STRINGS[k];
    var custom = extra && extra.strings;
    if (custom && typeof custom === "object") {
      for (k in custom) {
        if (Object.prototype.hasOwnProperty.call(custom, k) && typeof custom[k] === "string") out.strings[k] = custom[k];
      }
    }
    return out;
  }
  var instance = null;
  var HeinzChat = {
    version: VERSION,
    /** Create the widget (once per page). Options: see DEFAULTS / docs/widget.md. */
    init: function(options) {
      if (instance) return instance;
      var opts = merge(DEFAULTS, options || {});
      if (opts.stylesheet !== false) opts.pendingStylesheet = ensureStylesheet(opts.stylesheet || defaultStylesheet());
      var start = function() {
        instance = instance || new Widget(opts).mount();
        return instance;
      };
      if (document.body) return start();
      document.addEventListener("DOMContentLoaded", start);
      return null;
    },
    get instance() {
      return instance;
    },
    open: function() {
      if (instance) instance.open({ focus: true });
    },
    close: function() {
      if (instance) instance.close({ returnFocus: true });
    },
    /** Remove the widget from the page (history stays in localStorage). */
    destroy: function() {
      if (instance) instance.destroy();
      instance = null;
    }
  };
  window.HeinzChat = HeinzChat;
  if (SCRIPT && SCRIPT.dataset && SCRIPT.dataset.autoInit !== "false" && SCRIPT.dataset.serverUrl) {
    auto = function() {
      HeinzChat.init(optionsFromScript(SCRIPT));
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", auto);
    else auto();
  }
  var auto;
})();

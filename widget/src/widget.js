/** The widget: its state, the panel it mounts, opening and closing, starting over, other tabs. */

import { ICON_CHAT, ICON_CLOSE, ICON_RESTART, el, icon, link, nextId } from "./render.js";
import { Store, cleanState, newConversationId, newSecret } from "./storage.js";
import { VERSION, fill } from "./strings.js";
import { addConnection } from "./connection.js";
import { addHandoff } from "./handoff.js";
import { addMessages } from "./messages.js";
import { defaultHandoffUrl } from "./script.js";
import { sha256Hex, trimSlash } from "./transport.js";

export function Widget(options) {
  this.opts = options;
  this.serverUrl = trimSlash(options.serverUrl);
  this.store = new Store(options.storageKey + ":v1");
  this.state = cleanState(this.store.load()) || this.freshState();
  this.offline = false;
  this.healthTimer = null;
  this.generation = 0; // bumped by "Start over" and destroy(): late replies of before are dropped
  this.queue = Promise.resolve(); // messages go to Rasa one after another
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

Widget.prototype.freshState = function () {
  return { v: 1, id: newConversationId(), open: false, secret: newSecret(), handoff: null, messages: [] };
};

/** The SHA-256 of this conversation's secret, sent with every message (docs/handoff.md). */
Widget.prototype.hashKey = function () {
  var self = this;
  var secret = this.state.secret;
  return sha256Hex(secret).then(function (hex) {
    if (self.state.secret === secret) self.keyHash = hex;
  });
};

Widget.prototype.save = function () {
  var s = this.state;
  if (s.messages.length > this.opts.maxHistory) s.messages = s.messages.slice(-this.opts.maxHistory);
  this.store.save(s);
};

/* ---- building the DOM ---- */

Widget.prototype.mount = function () {
  var o = this.opts;
  var t = o.strings;
  var ids = {
    panel: nextId("panel"),
    title: nextId("title"),
    input: nextId("input"),
    hint: nextId("hint"),
    newTab: nextId("newtab"),
  };
  this.ids = ids;

  var launcher = el("button", {
    type: "button",
    className: "hc-launcher",
    "aria-expanded": "false",
    "aria-controls": ids.panel,
  }, [icon(ICON_CHAT), el("span", { className: "hc-launcher-label", text: o.launcherLabel })]);

  var restart = el("button", { type: "button", className: "hc-hbtn hc-restart" }, [
    icon(ICON_RESTART),
    el("span", { text: t.startOver }),
  ]);
  var close = el("button", { type: "button", className: "hc-hbtn hc-close", "aria-label": t.close }, [
    icon(ICON_CLOSE),
  ]);
  var header = el("div", { className: "hc-header" }, [
    el("div", { className: "hc-heading" }, [
      el("div", { className: "hc-title", id: ids.title, text: o.title }),
      o.subtitle ? el("div", { className: "hc-subtitle", text: o.subtitle }) : null,
    ]),
    el("div", { className: "hc-actions" }, [restart, close]),
  ]);

  var log = el("div", {
    className: "hc-log",
    role: "log",
    "aria-live": "polite",
    "aria-label": fill(t.log, { title: o.title }),
  });
  var typing = el("div", { className: "hc-typing", "aria-hidden": "true", hidden: true }, [
    el("span", { className: "hc-dot" }),
    el("span", { className: "hc-dot" }),
    el("span", { className: "hc-dot" }),
  ]);
  // Focusable, so keyboard users can scroll a conversation that has no links or buttons in it
  // (a live chat with an officer, say).
  var body = el("div", { className: "hc-body", tabindex: "0" }, [log, typing]);
  // While an admissions officer has the conversation: who it is, and a way to end the chat.
  var handoffStatus = el("span", { className: "hc-handoff-status" });
  var handoffEnd = el("button", {
    type: "button",
    className: "hc-handoff-end",
    text: t.handoffEnd,
    "aria-label": t.handoffEndLabel,
  });
  var handoffBar = el("div", { className: "hc-handoff", hidden: true }, [handoffStatus, handoffEnd]);

  var input = el("textarea", {
    id: ids.input,
    className: "hc-input",
    rows: "1",
    maxlength: String(o.maxLength),
    placeholder: t.placeholder,
    autocomplete: "off",
    "aria-describedby": ids.hint,
  });
  var counter = el("span", { className: "hc-counter", "aria-hidden": "true", text: "0/" + o.maxLength });
  var send = el("button", { type: "submit", className: "hc-send" }, [el("span", { text: t.send })]);
  var form = el("form", { className: "hc-form", novalidate: true }, [
    el("label", { className: "hc-sr-only", for: ids.input, text: t.inputLabel }),
    el("div", { className: "hc-field" }, [input, counter]),
    send,
  ]);
  var hint = el("div", {
    id: ids.hint,
    hidden: true,
    text: fill(t.hint, { max: o.maxLength }),
  });
  var newTab = el("div", { id: ids.newTab, hidden: true, text: t.newTab });
  // Said when text did not fit in the message box (its maxlength cuts it silently otherwise). A live
  // region is only announced if it is already on the page when its text changes: so it is never
  // hidden, only empty (and then takes no room).
  var cut = el("div", { className: "hc-cut", role: "status", "aria-live": "polite" });

  var panel = el("section", {
    id: ids.panel,
    className: "hc-panel",
    role: "dialog",
    "aria-modal": "false",
    "aria-labelledby": ids.title,
    hidden: true,
  }, [
    header,
    el("p", { className: "hc-privacy", text: o.privacyNotice }),
    handoffBar,
    body,
    form,
    cut,
    hint,
    newTab,
  ]);

  // A landmark, so the launcher and panel are not "content outside any region" on the host page.
  var rootAttrs = { className: "hc-root", "aria-label": fill(t.region, { title: o.title }), "data-hc-version": VERSION };
  var root = el("aside", rootAttrs, [
    launcher,
    panel,
  ]);
  this.nodes = {
    root: root, launcher: launcher, panel: panel, log: log, body: body, typing: typing,
    input: input, send: send, form: form, counter: counter, cut: cut, restart: restart, close: close,
    handoffBar: handoffBar, handoffStatus: handoffStatus, handoffEnd: handoffEnd,
  };

  this.bindEvents();
  this.hideUntilStyled(o.pendingStylesheet);
  (o.container || document.body).appendChild(root);
  this.renderAll();
  if (o.restoreOpen && this.state.open) this.open({ focus: false });
  this.syncHandoff();
  return this;
};

/**
 * When the script injected chat-widget.css itself, keep the widget out of sight until it has
 * loaded (no flash of an unstyled launcher); the stylesheet also shows it (display: block !important).
 */
Widget.prototype.hideUntilStyled = function (link) {
  var self = this;
  if (!link || link.sheet) return;
  this.nodes.root.style.display = "none";
  var reveal = function () {
    link.removeEventListener("load", reveal);
    link.removeEventListener("error", reveal);
    self.nodes.root.style.display = "";
    if (self.focusWhenShown && self.isOpen()) self.nodes.input.focus();
    self.focusWhenShown = false;
    self.scrollToEnd();
  };
  link.addEventListener("load", reveal);
  link.addEventListener("error", reveal); // unstyled but usable beats invisible
};

Widget.prototype.bindEvents = function () {
  var self = this;
  var n = this.nodes;
  n.handoffEnd.addEventListener("click", function () {
    self.endHandoff();
  });
  n.launcher.addEventListener("click", function () {
    if (self.isOpen()) self.close({ returnFocus: true });
    else self.open({ focus: true });
  });
  n.close.addEventListener("click", function () {
    self.close({ returnFocus: true });
  });
  n.restart.addEventListener("click", function () {
    self.startOver();
  });
  n.root.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && self.isOpen()) {
      event.preventDefault();
      self.close({ returnFocus: true });
    }
  });
  n.form.addEventListener("submit", function (event) {
    event.preventDefault();
    self.submitInput();
  });
  n.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      self.submitInput();
    }
  });
  n.input.addEventListener("input", function () {
    self.updateCounter();
    self.autosize();
  });
  n.input.addEventListener("paste", function (event) {
    var data = event.clipboardData || window.clipboardData;
    self.noteInsert(data && data.getData ? data.getData("text") : "", "paste");
  });
  // Drops, and typing into a full box; a paste is said by the paste event (its clipboard text is
  // there in every browser), the same notice again here changes nothing.
  n.input.addEventListener("beforeinput", function (event) {
    var type = event.inputType || "";
    if (!/^insert/.test(type) || type === "insertCompositionText") return; // an IME's word in progress
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

/** Any element on the page with a data-heinz-chat-open attribute opens the chat. */
Widget.prototype.onOpenTrigger = function (event) {
  var target = event.target;
  var trigger = target && target.closest ? target.closest("[data-heinz-chat-open]") : null;
  if (!trigger || this.nodes.root.contains(trigger)) return;
  event.preventDefault();
  this.open({ focus: true });
};

Widget.prototype.destroy = function () {
  // Replies still on their way belong to a widget that is gone: dropped like those of a conversation
  // started over, so they are never saved over a newer widget's state nor start a health check.
  this.generation += 1;
  this.stopHealthCheck();
  if (this.pollTimer) window.clearTimeout(this.pollTimer);
  this.pollTimer = null;
  window.removeEventListener("storage", this.onStorage);
  window.removeEventListener("online", this.onOnline);
  document.removeEventListener("click", this.onOpenTrigger);
  if (this.nodes.root && this.nodes.root.parentNode) this.nodes.root.parentNode.removeChild(this.nodes.root);
};

/* ---- open / close ---- */

Widget.prototype.isOpen = function () {
  return !this.nodes.panel.hidden;
};

Widget.prototype.open = function (how) {
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
    // not focusable yet while the stylesheet is loading: focus once it is shown
    this.focusWhenShown = document.activeElement !== n.input;
  }
  if (!this.state.messages.length && !this.greetingInFlight && this.opts.greetingPayload) this.greet();
};

Widget.prototype.close = function (how) {
  var n = this.nodes;
  n.panel.hidden = true;
  n.root.classList.remove("hc-is-open");
  n.launcher.setAttribute("aria-expanded", "false");
  this.state.open = false;
  this.save();
  if (!how || how.returnFocus !== false) n.launcher.focus();
};

/* ---- rendering ---- */

Widget.prototype.startOver = function () {
  if (this.state.handoff) this.handoffRequest("POST", "/end").catch(function () {}); // best effort
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

/** Another tab of the same site changed the conversation: show the same thing here. */
Widget.prototype.onStorage = function (event) {
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
  // Same conversation: append only what is new so the live region announces just that.
  var known = {};
  prev.messages.forEach(function (m) {
    known[m.id] = true;
  });
  var samePrefix = prev.messages.every(function (m, i) {
    return next.messages[i] && next.messages[i].id === m.id && next.messages[i].feedback === m.feedback;
  });
  if (!samePrefix) {
    this.renderAll();
    return;
  }
  var self = this;
  next.messages.forEach(function (m) {
    if (!known[m.id]) self.nodes.log.appendChild(self.renderMessage(m));
  });
  this.refreshQuickReplies();
  this.scrollToEnd();
};

addMessages(Widget);
addHandoff(Widget);
addConnection(Widget);

import { DEFAULTS, STRINGS, VERSION } from "./strings.js";
import { SCRIPT, defaultStylesheet } from "./script.js";
import { Widget } from "./widget.js";
import { el } from "./render.js";

/** The public API (window.HeinzChat) and the auto-start from the <script> tag's data attributes. */

/* ------------------------------------------------------------------ public API */

/** Add <link rel=stylesheet href=…> unless the page has it; returns the new link (or null). */
function ensureStylesheet(href) {
  if (!href) return null;
  var links = document.querySelectorAll('link[rel="stylesheet"]');
  for (var i = 0; i < links.length; i++) if (links[i].href === href) return null;
  var sheet = el("link", { rel: "stylesheet", href: href });
  document.head.appendChild(sheet);
  return sheet;
}

function optionsFromScript(script) {
  var d = (script && script.dataset) || {};
  var o = {};
  if (d.serverUrl) o.serverUrl = d.serverUrl;
  if (d.title) o.title = d.title;
  if (d.subtitle !== undefined) o.subtitle = d.subtitle;
  if (d.launcherLabel) o.launcherLabel = d.launcherLabel;
  if (d.greetingPayload !== undefined) o.greetingPayload = d.greetingPayload;
  if (d.program !== undefined) o.program = d.program;
  if (d.contactOffice !== undefined) o.contactOffice = d.contactOffice;
  if (d.contactEmail !== undefined) o.contactEmail = d.contactEmail;
  if (d.contactPhone !== undefined) o.contactPhone = d.contactPhone;
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
  for (k in extra) if (Object.prototype.hasOwnProperty.call(extra, k) && extra[k] !== undefined) out[k] = extra[k];
  ["timeoutMs", "healthIntervalMs", "maxLength", "maxHistory", "handoffPollMs"].forEach(function (key) {
    if (!(out[key] > 0)) out[key] = base[key];
  });
  // Text options: trimmed; empty means "not given" (a page rendered without its knowledge file).
  ["program", "contactOffice", "contactEmail", "contactPhone"].forEach(function (key) {
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
  init: function (options) {
    if (instance) return instance;
    var opts = merge(DEFAULTS, options || {});
    if (opts.stylesheet !== false) opts.pendingStylesheet = ensureStylesheet(opts.stylesheet || defaultStylesheet());
    var start = function () {
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
  open: function () {
    if (instance) instance.open({ focus: true });
  },
  close: function () {
    if (instance) instance.close({ returnFocus: true });
  },
  /** Remove the widget from the page (history stays in localStorage). */
  destroy: function () {
    if (instance) instance.destroy();
    instance = null;
  },
};
window.HeinzChat = HeinzChat;

if (SCRIPT && SCRIPT.dataset && SCRIPT.dataset.autoInit !== "false" && SCRIPT.dataset.serverUrl) {
  var auto = function () {
    HeinzChat.init(optionsFromScript(SCRIPT));
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", auto);
  else auto();
}

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
  // src/render.js
  var LIST_ITEM = /^\s*(?:\u2022|-)\s+/;
  var INLINE_TOKEN = /\[([^\]\n]{1,300})\]\(((?:https?:\/\/|mailto:)[^\s()]+)\)|(https?:\/\/[^\s<>"'`]+)|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;
  var EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
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

  // src/preview.js
  function renderPreviews() {
    var nodes = document.querySelectorAll("[data-bot-text]");
    Array.prototype.forEach.call(nodes, function(node) {
      var text = node.getAttribute("data-bot-text") || "";
      node.textContent = "";
      node.appendChild(renderRichText(text, null));
      node.classList.add("hc-rendered");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderPreviews);
  else renderPreviews();
})();

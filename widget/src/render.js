/** Building the widget's DOM safely: elements, icons, and bot text as paragraphs, lists and links.
 *
 * Safety rule: message text is never parsed as HTML. Everything the bot or the visitor wrote is
 * put into the page with textContent / createTextNode; links are <a> elements whose href passed a
 * protocol check (http, https, mailto only). */


export var LIST_ITEM = /^\s*(?:\u2022|-)\s+/; // lines starting with "• " or "- "
// [label](https://… or mailto:…) | https://… | e-mail address
export var INLINE_TOKEN =
  /\[([^\]\n]{1,300})\]\(((?:https?:\/\/|mailto:)[^\s()]+)\)|(https?:\/\/[^\s<>"'`]+)|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;
export var EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
export var SVG_NS = "http://www.w3.org/2000/svg";

export var uid = 0;
export function nextId(prefix) {
  uid += 1;
  return "hc-" + prefix + "-" + uid;
}

/** Like fill, but values may be DOM nodes (links): returns a fragment of text nodes and those nodes. */
export function fillNodes(template, values) {
  var frag = document.createDocumentFragment();
  String(template).split(/(\{\w+\})/).forEach(function (part) {
    var name = /^\{(\w+)\}$/.exec(part);
    var value = name && Object.prototype.hasOwnProperty.call(values, name[1]) ? values[name[1]] : part;
    if (value == null || value === "") return;
    frag.appendChild(typeof value === "string" ? document.createTextNode(value) : value);
  });
  return frag;
}

/** Create an element. attrs: plain attributes, plus `text` (textContent) and `className`. */
export function el(tag, attrs, children) {
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
  (children || []).forEach(function (child) {
    if (child != null) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

/** A small inline SVG icon (decorative: aria-hidden). */
export function icon(pathData) {
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
export var ICON_CHAT =
  "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zM12 8a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z";
export var ICON_CLOSE =
  "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z";
export var ICON_RESTART =
  "M12 5V2L7 6l5 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z";

/** The href for a URL the bot wrote, or null unless it is http(s). */
export function safeWebHref(raw) {
  try {
    var url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

/** The href for a [label](target) link: http(s) as above, or mailto: with one plain address. */
export function safeLinkHref(raw) {
  if (/^mailto:/i.test(raw)) {
    var address = raw.slice("mailto:".length);
    return EMAIL.test(address) ? "mailto:" + address : null;
  }
  return safeWebHref(raw);
}

/** Split trailing punctuation off a bare URL ("see https://x.edu/." → "https://x.edu/" + "."). */
export function splitTrailing(url) {
  var trail = "";
  for (;;) {
    var last = url.charAt(url.length - 1);
    var opens = url.split("(").length - 1;
    var closes = url.split(")").length - 1;
    if (".,;:!?'\"*".indexOf(last) !== -1 || (last === ")" && closes > opens) || last === "]") {
      trail = last + trail;
      url = url.slice(0, -1);
    } else {
      return [url, trail];
    }
  }
}

export function link(href, label, newTabHintId) {
  var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer", className: "hc-link" });
  a.textContent = label;
  if (newTabHintId && href.indexOf("mailto:") !== 0) a.setAttribute("aria-describedby", newTabHintId);
  return a;
}

/** Append `text` to `parent` as text nodes, turning URLs and e-mail addresses into links. */
export function appendInline(parent, text, newTabHintId) {
  var last = 0;
  var match;
  INLINE_TOKEN.lastIndex = 0;
  while ((match = INLINE_TOKEN.exec(text)) !== null) {
    var before = text.slice(last, match.index);
    var node = null;
    var trail = "";
    if (match[1] !== undefined) {
      // [label](url): the visitor sees the label ("MISM how-to-apply page"), not the address
      var mdHref = safeLinkHref(match[2]);
      if (mdHref) node = link(mdHref, match[1], newTabHintId);
    } else if (match[3] !== undefined) {
      var parts = splitTrailing(match[3]);
      var href = safeWebHref(parts[0]);
      if (href) {
        node = link(href, parts[0], newTabHintId);
        trail = parts[1];
      }
    } else if (match[4] !== undefined) {
      var address = match[4].replace(/\.+$/, "");
      trail = match[4].slice(address.length);
      node = link("mailto:" + address, address, newTabHintId);
    }
    if (!node) continue; // leave it in the plain text run
    if (before) parent.appendChild(document.createTextNode(before));
    parent.appendChild(node);
    if (trail) parent.appendChild(document.createTextNode(trail));
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

/**
 * Render bot text as DOM: paragraphs for blank-line separated blocks, <br> for single line
 * breaks, <ul> for runs of lines starting with "• " or "- ", links for [label](url), URLs and e-mails.
 */
export function renderRichText(text, newTabHintId) {
  var frag = document.createDocumentFragment();
  var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  var para = null;
  var list = null;
  lines.forEach(function (line) {
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

/* ------------------------------------------------------------------ storage */

/** When the server can't be reached or can't keep a turn: notices, the contact, retrying. */

import { EMAIL, el, fillNodes, link } from "./render.js";
import { fetchWithTimeout } from "./transport.js";

export function contactParagraph(o, sentence) {
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
  var contact = fillNodes(template, { office: o.contactOffice || t.officeFallback, email: email, phone: phone });
  return el("p", { className: "hc-p" }, [fillNodes(sentence, { contact: contact })]);
}

/** The server could not keep the visitor's message (its reason, as text), with the contact. */

export function addConnection(Widget) {
  Widget.prototype.goOffline = function () {
    var o = this.opts;
    var t = o.strings;
    var wasOffline = this.offline;
    this.offline = true;
    this.nodes.root.classList.add("hc-is-offline");
    this.startHealthCheck();
    if (wasOffline) return;
    this.notice("error", function (bubble) {
      bubble.appendChild(el("p", { className: "hc-p", text: t.unreachable }));
      bubble.appendChild(contactParagraph(o, t.unreachableContact));
    });
  };

  /**
   * `sentence` with {contact} as "OFFICE at EMAIL or PHONE", e-mail and phone as links: the human
   * fallback whenever the bot can't answer. Whatever the page did not give is left out.
   */
  Widget.prototype.notSaved = function (reason) {
    var o = this.opts;
    this.notice("error", function (bubble) {
      bubble.appendChild(el("p", { className: "hc-p", text: reason }));
      bubble.appendChild(contactParagraph(o, o.strings.noAnswerContact));
    });
  };

  /** The server answered but said nothing we can show (e.g. its action server is down). */
  Widget.prototype.noAnswer = function () {
    var o = this.opts;
    this.notice("error", function (bubble) {
      bubble.appendChild(el("p", { className: "hc-p", text: o.strings.noAnswer }));
      bubble.appendChild(contactParagraph(o, o.strings.noAnswerContact));
    });
  };

  Widget.prototype.backOnline = function () {
    if (!this.offline) return;
    this.offline = false;
    this.stopHealthCheck();
    this.nodes.root.classList.remove("hc-is-offline");
    var hasFailed = this.state.messages.some(function (m) {
      return m.status === "failed";
    });
    var t = this.opts.strings;
    this.notice("ok", function (bubble) {
      bubble.appendChild(el("p", { className: "hc-p", text: hasFailed ? t.reconnectedRetry : t.reconnected }));
    });
    if (!this.state.messages.length && this.isOpen() && !this.greetingInFlight && this.opts.greetingPayload) this.greet();
  };

  Widget.prototype.startHealthCheck = function () {
    var self = this;
    if (this.healthTimer) return;
    var tick = function () {
      self.healthTimer = window.setTimeout(function () {
        self.ping().then(function (up) {
          if (!self.healthTimer) return; // stopped meanwhile
          self.healthTimer = null;
          if (up) self.backOnline();
          else tick();
        });
      }, self.opts.healthIntervalMs);
    };
    tick();
  };

  Widget.prototype.stopHealthCheck = function () {
    if (this.healthTimer) window.clearTimeout(this.healthTimer);
    this.healthTimer = null;
  };

  /** GET {serverUrl}/ — Rasa answers "Hello from Rasa: …" when it is up. */
  Widget.prototype.ping = function () {
    var isOk = function (res) {
      return res.ok;
    };
    return fetchWithTimeout(this.serverUrl + "/", { method: "GET", cache: "no-store" }, this.opts.timeoutMs, isOk).catch(
      function () {
        return false;
      }
    );
  };

  Widget.prototype.onOnline = function () {
    var self = this;
    if (!this.offline) return;
    this.ping().then(function (up) {
      if (up) self.backOnline();
    });
  };

  /* ---- start over, other tabs ---- */

}

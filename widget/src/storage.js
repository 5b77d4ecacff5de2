/** The conversation kept in localStorage (with an in-memory fallback), and cleaning what comes out of it. */

// An answer the visitor may rate comes with a custom payload {"feedback": true} right after it
// (actions/actions.py); the click sends this intent with helpful = "yes" or "no".
export var FEEDBACK_VALUES = { ask: true, yes: true, no: true };
export function feedbackPayload(value) {
  return '/feedback{"helpful":"' + value + '"}';
}

/** A random conversation id: crypto.randomUUID, else a v4 UUID from getRandomValues/Math.random. */
export function newConversationId() {
  var c = window.crypto;
  if (c && typeof c.randomUUID === "function") {
    try {
      return c.randomUUID();
    } catch (e) {
      /* insecure context: fall through */
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
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  var hex = bytes.map(function (b) {
    return (b + 0x100).toString(16).slice(1);
  });
  return (
    hex.slice(0, 4).join("") + "-" + hex.slice(4, 6).join("") + "-" + hex.slice(6, 8).join("") +
    "-" + hex.slice(8, 10).join("") + "-" + hex.slice(10, 16).join("")
  );
}

/** 32 random bytes as hex: the per-conversation secret of the live chat (null without crypto). */
export function newSecret() {
  var c = window.crypto;
  if (!c || typeof c.getRandomValues !== "function") return null;
  var buf = new Uint8Array(32);
  c.getRandomValues(buf);
  return Array.prototype.map.call(buf, function (b) {
    return (b + 0x100).toString(16).slice(1);
  }).join("");
}

export var HANDOFF_STATES = { queued: true, live: true };

/** localStorage with an in-memory fallback (private mode, storage disabled, quota). */
export function Store(key) {
  this.key = key;
  this.memory = null;
}
Store.prototype.load = function () {
  try {
    var raw = window.localStorage.getItem(this.key);
    if (raw) return JSON.parse(raw);
  } catch (e) {
    /* fall back to memory */
  }
  return this.memory;
};
Store.prototype.save = function (state) {
  this.memory = state;
  try {
    window.localStorage.setItem(this.key, JSON.stringify(state));
  } catch (e) {
    /* memory only */
  }
};

export function cleanButtons(buttons) {
  if (!Array.isArray(buttons)) return [];
  return buttons
    .filter(function (b) {
      return b && typeof b.title === "string" && b.title.trim() && typeof b.payload === "string";
    })
    .map(function (b) {
      return { title: b.title, payload: b.payload };
    });
}

/** Validate what came out of storage; anything odd starts a fresh conversation. */
export function cleanState(raw) {
  if (!raw || typeof raw !== "object" || typeof raw.id !== "string" || !raw.id) return null;
  var messages = Array.isArray(raw.messages) ? raw.messages : [];
  var h = raw.handoff;
  return {
    v: 1,
    id: raw.id,
    open: raw.open === true,
    secret: typeof raw.secret === "string" && /^[0-9a-f]{64}$/.test(raw.secret) ? raw.secret : newSecret(),
    handoff:
      h && HANDOFF_STATES[h.state] === true
        ? { state: h.state, after: h.after > 0 ? Math.floor(h.after) : 0, staff: typeof h.staff === "string" ? h.staff : null }
        : null,
    messages: messages
      .filter(function (m) {
        return m && (m.from === "user" || m.from === "bot" || m.from === "staff") && typeof m.text === "string";
      })
      .map(function (m) {
        var id = typeof m.id === "string" && /^[A-Za-z0-9-]{1,64}$/.test(m.id) ? m.id : newConversationId();
        var msg = { id: id, from: m.from, text: m.text };
        if (m.from === "staff") {
          msg.kind = m.kind === "message" ? "message" : "notice";
          if (typeof m.name === "string") msg.name = m.name.slice(0, 100);
        } else if (m.from === "user") {
          if (typeof m.payload === "string" && m.payload !== m.text) msg.payload = m.payload;
          // A message still waiting when the page went away never got its answer.
          if (m.status === "failed" || m.status === "pending") msg.status = "failed";
        } else {
          var buttons = cleanButtons(m.buttons);
          if (buttons.length) msg.buttons = buttons;
          if (FEEDBACK_VALUES[m.feedback] === true) msg.feedback = m.feedback;
        }
        return msg;
      }),
  };
}

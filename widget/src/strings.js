/** Every sentence the widget shows, its defaults, and filling "{name}" placeholders. */

export var VERSION = "1.3.0"; // 1.2: Helpful / Not helpful under answers; 1.3: live chat with an admissions officer

/**
 * Every text the widget shows (or reads out to screen readers), in one place. "{name}" is filled
 * in; {contact} becomes the office with its e-mail and phone as links. Override any of them with
 * HeinzChat.init({ strings: { … } }).
 */
export var STRINGS = {
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
  officeFallback: "the admissions office",
};

export var DEFAULTS = {
  serverUrl: "http://localhost:5005",
  title: STRINGS.title,
  subtitle: STRINGS.subtitle,
  launcherLabel: STRINGS.launcherLabel,
  greetingPayload: "/greet",
  program: null, // the program this page is about ("mism", "msit"): sent with every message
  storageKey: "heinz-chat",
  timeoutMs: 10000, // a reply slower than this counts as "server unreachable"
  healthIntervalMs: 5000, // how often to probe GET {serverUrl}/ while unreachable
  maxLength: 1000,
  maxHistory: 200,
  restoreOpen: true, // reopen the panel after a reload if it was open
  // The human contact offered whenever the assistant can't answer; the page provides it.
  contactOffice: null,
  contactEmail: null,
  contactPhone: null,
  privacyNotice: STRINGS.privacyNotice,
  strings: null, // overrides for STRINGS
  stylesheet: null, // URL of chat-widget.css; default: next to this script; false = don't load
  container: null, // element to mount into; default: document.body
  // Where the web server's hand-off endpoints are (GET /handoff/<id>/events …); default: the
  // origin this script was loaded from.
  handoffUrl: null,
  handoffPollMs: 1000, // how often to ask for the officer's messages during a live chat
};

/** "Up to {max} characters" + {max: 1000} → "Up to 1000 characters". Unknown names stay as they are. */
export function fill(template, values) {
  return String(template).replace(/\{(\w+)\}/g, function (all, name) {
    return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
  });
}

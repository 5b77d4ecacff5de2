// The widget as a visitor uses it, against a fake Rasa: sending, answers and quick replies, order, failures and retry, history across page loads, safe rendering, feedback, starting over.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash, webcrypto } from "node:crypto";
import "./dom.js";

// An https page has SubtleCrypto and TextEncoder (the widget hashes its live-chat secret with them);
// jsdom has neither, so lend Node's.
Object.defineProperty(window.crypto, "subtle", { configurable: true, value: webcrypto.subtle });
window.TextEncoder = TextEncoder;

const { Widget } = await import("../src/widget.js");
const { DEFAULTS, STRINGS } = await import("../src/strings.js");

const RASA = "https://rasa.example.edu";
const WEBHOOK = RASA + "/webhooks/rest/webhook";
const PAGE = "https://www.heinz.cmu.edu/";
const STORAGE_KEY = "test-chat";

/* ---- a fake Rasa REST channel in place of the network ---- */

let requests = [];

/**
 * Install window.fetch as Rasa's REST channel: every request is recorded; `answer(request)` scripts
 * the reply: an array (200 with that JSON), { status, data }, an Error (the network fails), or
 * undefined to hold it until the test calls request.reply(…) or request.fail(…).
 */
function fakeRasa(answer = () => undefined) {
  requests = [];
  window.fetch = (url, init = {}) =>
    new Promise((resolve, reject) => {
      const request = {
        url: String(url),
        method: init.method || "GET",
        headers: init.headers || {},
        body: init.body ? JSON.parse(init.body) : undefined,
        settled: false,
        reply(data, status = 200) {
          this.settled = true;
          resolve(new Response(JSON.stringify(data), { status, headers: { "Content-Type": "application/json" } }));
        },
        fail(error = new TypeError("Failed to fetch")) {
          this.settled = true;
          reject(error);
        },
      };
      requests.push(request);
      const scripted = answer(request);
      if (scripted instanceof Error) request.fail(scripted);
      else if (Array.isArray(scripted)) request.reply(scripted);
      else if (scripted) request.reply(scripted.data, scripted.status);
    });
}

/* ---- the page ---- */

const widgets = [];

/** A page load: the widget as HeinzChat.init would make it, for a program page. */
function loadWidget(options = {}) {
  const widget = new Widget({
    ...DEFAULTS,
    strings: { ...STRINGS },
    serverUrl: RASA + "/",
    program: "mism",
    greetingPayload: "",
    storageKey: STORAGE_KEY,
    healthIntervalMs: 60000, // no health check fires during a test
    contactOffice: "Heinz College Office of Admissions",
    contactEmail: "hnzadmit@andrew.cmu.edu",
    contactPhone: null,
    ...options,
  }).mount();
  widgets.push(widget);
  return widget;
}

/** The visitor leaves the page. */
function unload(widget) {
  widgets.splice(widgets.indexOf(widget), 1);
  widget.destroy();
}

afterEach(async () => {
  for (const request of requests) if (!request.settled) request.reply([]);
  await settle();
  while (widgets.length) widgets.pop().destroy();
  window.localStorage.clear();
  document.body.replaceChildren();
  delete window.fetch;
  requests = [];
});

/** Wait until `condition()` holds (promises, timers and the fake's responses run meanwhile). */
async function until(condition, what) {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail("timed out waiting for " + what);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Let everything pending run, to show that something did not happen. */
async function settle() {
  for (let i = 0; i < 30; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Type into the message box and press Enter. */
function type(widget, text) {
  const input = widget.nodes.input;
  input.value = text;
  input.dispatchEvent(new window.Event("input", { bubbles: true }));
  input.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
}

/** The log as the visitor sees it: [who, text] per message (user, bot, system). */
function transcript(widget) {
  return [...widget.nodes.log.querySelectorAll(".hc-msg")].map((node) => [
    /hc-msg--(\w+)/.exec(node.className)[1],
    node.querySelector(".hc-bubble").textContent,
  ]);
}

/** Only the visitor's and the assistant's messages (no notices). */
function conversation(widget) {
  return transcript(widget).filter(([who]) => who === "user" || who === "bot");
}

function quickReplies(widget) {
  return [...widget.nodes.log.querySelectorAll(".hc-quick-btn")];
}

function button(root, text) {
  const found = [...root.querySelectorAll("button")].find((b) => b.textContent === text);
  assert.ok(found, `a button "${text}"`);
  return found;
}

function stored() {
  return JSON.parse(window.localStorage.getItem(STORAGE_KEY + ":v1"));
}

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

const DEADLINES = { title: "Deadlines", payload: '/ask_deadlines{"program":"mism","detail":"full"}' };
const FEES = { title: "Fees", payload: "/ask_fees" };

/* ---- sending and answers ---- */

test("a typed message is posted to Rasa with the page's context and the answer appears under it", async () => {
  fakeRasa();
  const widget = loadWidget();
  widget.nodes.launcher.click();
  type(widget, "  How long is MISM?  ");

  assert.equal(widget.nodes.input.value, "", "the box is emptied");
  assert.deepEqual(transcript(widget), [["user", "How long is MISM?"]], "the visitor's bubble at once");
  await until(() => requests.length === 1, "the POST to Rasa");
  const [post] = requests;
  assert.equal(post.url, WEBHOOK);
  assert.equal(post.method, "POST");
  assert.equal(post.headers["Content-Type"], "application/json");
  assert.match(widget.state.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(post.body, {
    sender: widget.state.id,
    message: "How long is MISM?",
    metadata: { program: "mism", page_url: PAGE, handoff_key: sha256(widget.state.secret) },
  });
  assert.equal(widget.nodes.typing.hidden, false, "typing indicator while waiting");

  post.reply([{ text: "MISM takes 16 months.", buttons: [DEADLINES, FEES] }]);
  await until(() => transcript(widget).length === 2, "the answer");
  assert.deepEqual(transcript(widget), [
    ["user", "How long is MISM?"],
    ["bot", "MISM takes 16 months."],
  ]);
  assert.equal(widget.nodes.typing.hidden, true, "typing indicator gone");
  const answer = widget.nodes.log.querySelector(".hc-msg--bot");
  assert.deepEqual(
    [...answer.querySelectorAll(".hc-quick-btn")].map((b) => b.textContent),
    ["Deadlines", "Fees"],
    "the answer's buttons are offered under it",
  );
});

test("a quick reply shows its title, sends its payload exactly, and the offered replies go away", async () => {
  fakeRasa((request) => {
    if (request.body.message === "hello") return [{ text: "What would you like to know?", buttons: [DEADLINES, FEES] }];
    if (request.body.message === DEADLINES.payload) return [{ text: "The deadline is January 15." }];
    return undefined;
  });
  const widget = loadWidget();
  widget.nodes.launcher.click();
  type(widget, "hello");
  await until(() => quickReplies(widget).length === 2, "the quick replies");

  const deadlines = button(widget.nodes.log, "Deadlines");
  deadlines.focus();
  deadlines.click();
  assert.deepEqual(transcript(widget).at(-1), ["user", "Deadlines"], "the title as the visitor's bubble");
  assert.equal(quickReplies(widget).length, 0, "no stale quick replies");
  assert.equal(document.activeElement, widget.nodes.input, "focus back in the message box");
  await until(() => transcript(widget).length === 4, "the answer to the quick reply");
  assert.equal(requests.length, 2);
  assert.equal(requests[1].body.message, DEADLINES.payload);
  assert.equal(requests[1].body.sender, requests[0].body.sender);
  assert.deepEqual(transcript(widget).at(-1), ["bot", "The deadline is January 15."]);
  assert.equal(quickReplies(widget).length, 0, "an answer without buttons offers none");
});

test("opening an empty chat sends the greeting payload once, with the page's context", async () => {
  fakeRasa(() => [{ text: "Hi! I answer questions about MISM and MSIT.", buttons: [FEES] }]);
  const widget = loadWidget({ greetingPayload: "/greet" });
  await widget.keyReady;
  await settle();
  assert.equal(requests.length, 0, "nothing is sent before the visitor opens the chat");

  widget.nodes.launcher.click();
  await until(() => transcript(widget).length === 1, "the greeting");
  assert.deepEqual(requests.map((r) => [r.body.message, r.body.metadata.program]), [["/greet", "mism"]]);
  assert.deepEqual(transcript(widget), [["bot", "Hi! I answer questions about MISM and MSIT."]]);
  assert.equal(quickReplies(widget).length, 1);

  widget.nodes.close.click();
  widget.nodes.launcher.click();
  unload(widget);
  const again = loadWidget({ greetingPayload: "/greet" });
  again.nodes.launcher.click();
  await again.keyReady;
  await settle();
  assert.equal(requests.length, 1, "no second greeting when reopened or on the next page");
});

test("an empty answer says the assistant couldn't answer and names the contact", async () => {
  fakeRasa(() => []);
  const widget = loadWidget();
  type(widget, "Tell me a joke");
  await until(() => transcript(widget).length === 2, "the notice");
  const [, notice] = transcript(widget);
  assert.equal(notice[0], "system");
  assert.match(notice[1], /couldn't answer that just now/);
  assert.match(notice[1], /Heinz College Office of Admissions at hnzadmit@andrew\.cmu\.edu/);
  assert.equal(widget.nodes.log.querySelector(".hc-msg--user .hc-failed"), null, "the message itself was sent");
});

/* ---- order ---- */

test("two messages typed quickly go to Rasa one after the other, and the answers come in that order", async () => {
  fakeRasa();
  const widget = loadWidget();
  widget.nodes.launcher.click();
  await widget.keyReady;
  type(widget, "How long is MISM?");
  widget.nodes.input.value = "And MSIT?";
  widget.nodes.send.click(); // the Send button this time
  assert.deepEqual(transcript(widget), [
    ["user", "How long is MISM?"],
    ["user", "And MSIT?"],
  ]);

  await until(() => requests.length === 1, "the first POST");
  await settle();
  assert.equal(requests.length, 1, "the second message waits for the first answer");
  assert.equal(requests[0].body.message, "How long is MISM?");

  requests[0].reply([{ text: "MISM takes 16 months." }]);
  await until(() => requests.length === 2, "the second POST");
  assert.equal(requests[1].body.message, "And MSIT?");
  assert.equal(requests[1].body.sender, requests[0].body.sender);
  assert.deepEqual(transcript(widget).at(-1), ["bot", "MISM takes 16 months."], "the first answer is shown meanwhile");

  requests[1].reply([{ text: "MSIT takes 12 or 16 months." }]);
  await until(() => transcript(widget).length === 4, "the second answer");
  assert.deepEqual(transcript(widget), [
    ["user", "How long is MISM?"],
    ["user", "And MSIT?"],
    ["bot", "MISM takes 16 months."],
    ["bot", "MSIT takes 12 or 16 months."],
  ]);
});

test("when the first of two queued messages fails, the second is still sent after it", async () => {
  fakeRasa();
  const widget = loadWidget();
  await widget.keyReady;
  type(widget, "first");
  type(widget, "second");
  await until(() => requests.length === 1, "the first POST");
  await settle();
  assert.equal(requests.length, 1);

  requests[0].fail();
  await until(() => requests.length === 2, "the second POST");
  assert.equal(requests[1].body.message, "second");
  requests[1].reply([{ text: "An answer to the second." }]);
  await until(() => conversation(widget).length === 3, "the answer");
  const [first, second] = widget.nodes.log.querySelectorAll(".hc-msg--user");
  assert.ok(first.querySelector(".hc-failed .hc-retry"), "the first is marked not sent, with Retry");
  assert.equal(second.querySelector(".hc-failed"), null);
});

/* ---- failures and retry ---- */

for (const [what, breakIt] of [
  ["the network fails", (request) => request.fail()],
  ["Rasa answers HTTP 500", (request) => request.reply({ error: "Internal Server Error" }, 500)],
]) {
  test(`when ${what}, the message is kept as "Not sent" and Retry sends the same text`, async () => {
    fakeRasa();
    const widget = loadWidget();
    widget.nodes.launcher.click();
    type(widget, "What are the application deadlines?");
    await until(() => requests.length === 1, "the POST");
    breakIt(requests[0]);
    await until(() => widget.nodes.log.querySelector(".hc-failed"), "the failed mark");

    const mine = widget.nodes.log.querySelector(".hc-msg--user");
    assert.equal(mine.querySelector(".hc-bubble").textContent, "What are the application deadlines?");
    const failed = mine.querySelector(".hc-failed");
    assert.match(failed.textContent, /^Not sent\./);
    const retry = failed.querySelector("button.hc-retry");
    assert.equal(retry.textContent, "Retry");
    assert.equal(retry.getAttribute("aria-label"), "Retry sending: What are the application deadlines?");
    const notice = widget.nodes.log.querySelector(".hc-notice--error");
    assert.match(notice.textContent, /can't be reached right now/);
    assert.equal(notice.querySelector("a").getAttribute("href"), "mailto:hnzadmit@andrew.cmu.edu");
    assert.ok(widget.nodes.root.classList.contains("hc-is-offline"));
    assert.equal(widget.nodes.typing.hidden, true);
    assert.deepEqual(
      stored().messages.map((m) => [m.text, m.status]),
      [["What are the application deadlines?", "failed"]],
      "kept in the stored history too",
    );

    retry.click();
    await until(() => requests.length === 2, "the resend");
    assert.equal(requests[1].body.message, "What are the application deadlines?");
    assert.equal(requests[1].body.sender, requests[0].body.sender);
    requests[1].reply([{ text: "January 15." }]);
    await until(() => conversation(widget).length === 2, "the answer");
    assert.deepEqual(conversation(widget), [
      ["user", "What are the application deadlines?"],
      ["bot", "January 15."],
    ], "the message once, answered");
    assert.equal(widget.nodes.log.querySelector(".hc-failed"), null);
    assert.ok(!widget.nodes.root.classList.contains("hc-is-offline"));
    assert.match(widget.nodes.log.querySelector(".hc-notice--ok").textContent, /^Reconnected\./);
    assert.deepEqual(stored().messages.map((m) => m.status), [undefined, undefined]);
  });
}

test("retrying a failed quick reply resends its payload, not its title", async () => {
  fakeRasa((request) => {
    if (request.body.message === "hello") return [{ text: "Pick one.", buttons: [DEADLINES] }];
    if (requests.filter((r) => r.body.message === DEADLINES.payload).length === 1) return new TypeError("Failed to fetch");
    return [{ text: "January 15." }];
  });
  const widget = loadWidget();
  type(widget, "hello");
  await until(() => quickReplies(widget).length === 1, "the quick reply");
  quickReplies(widget)[0].click();
  await until(() => widget.nodes.log.querySelector(".hc-retry"), "Retry");
  assert.equal(widget.nodes.log.querySelector(".hc-retry").getAttribute("aria-label"), "Retry sending: Deadlines");

  widget.nodes.log.querySelector(".hc-retry").click();
  await until(() => conversation(widget).length === 4, "the answer");
  assert.deepEqual(requests.map((r) => r.body.message), ["hello", DEADLINES.payload, DEADLINES.payload]);
  assert.deepEqual(conversation(widget).slice(2), [["user", "Deadlines"], ["bot", "January 15."]]);
});

test("a 503 with a reason shows that reason (the server is up but cannot keep the message)", async () => {
  fakeRasa(() => ({ status: 503, data: { error: "Your conversation can't be saved right now." } }));
  const widget = loadWidget();
  type(widget, "Hello?");
  await until(() => widget.nodes.log.querySelector(".hc-failed"), "the failed mark");
  const notice = widget.nodes.log.querySelector(".hc-notice--error");
  assert.match(notice.textContent, /^Your conversation can't be saved right now\./);
  assert.match(notice.textContent, /Or contact Heinz College Office of Admissions/);
  assert.doesNotMatch(notice.textContent, /can't be reached/);
  assert.ok(!widget.nodes.root.classList.contains("hc-is-offline"), "not reported as offline");
});

/* ---- history across page loads ---- */

test("the next page load restores the conversation: same id, messages, quick replies, feedback, open panel", async () => {
  fakeRasa((request) =>
    request.body.message === "How long is MISM?"
      ? [{ text: "MISM takes 16 months.", buttons: [DEADLINES, FEES] }, { custom: { feedback: true } }]
      : [{ text: "About $60,000." }],
  );
  const first = loadWidget();
  first.nodes.launcher.click();
  type(first, "How long is MISM?");
  await until(() => transcript(first).length === 2, "the answer");
  const before = transcript(first);
  assert.equal(stored().id, first.state.id, "saved to localStorage");

  unload(first);
  assert.equal(document.querySelector(".hc-root"), null);
  const second = loadWidget();
  assert.equal(second.state.id, first.state.id, "same conversation id");
  assert.equal(second.state.secret, first.state.secret);
  assert.deepEqual(transcript(second), before, "same messages, in order");
  assert.ok(second.isOpen(), "the panel is open again, as it was");
  assert.deepEqual(quickReplies(second).map((b) => b.textContent), ["Deadlines", "Fees"]);
  assert.equal(second.nodes.log.querySelectorAll(".hc-feedback button:not([disabled])").length, 2);

  type(second, "And the fees?");
  await until(() => requests.length === 2, "the next POST");
  assert.equal(requests[1].body.sender, first.state.id, "the conversation continues under the same id");
  assert.equal(requests[1].body.metadata.handoff_key, sha256(first.state.secret));
});

test("a message still waiting when the visitor left is offered for retry on the next page", async () => {
  fakeRasa();
  const first = loadWidget();
  type(first, "Is the GRE required?");
  await until(() => requests.length === 1, "the POST");
  const id = first.state.id;
  unload(first); // the page goes away before the answer

  const second = loadWidget();
  assert.deepEqual(conversation(second), [["user", "Is the GRE required?"]]);
  const retry = second.nodes.log.querySelector(".hc-msg--user .hc-failed .hc-retry");
  assert.ok(retry, "marked not sent, with Retry");
  retry.click();
  await until(() => requests.length === 2, "the resend");
  assert.deepEqual([requests[1].body.sender, requests[1].body.message], [id, "Is the GRE required?"]);
});

/* ---- safe rendering ---- */

test("markup in an answer or a message is shown as text, and only http(s) links are clickable", async () => {
  const evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
  const answer =
    evil +
    "\nSee [the page](javascript:alert%283%29), [the form](data:text/html;base64,PHNjcmlwdD4=)," +
    " [MISM](https://www.heinz.cmu.edu/programs/mism) or data:text/html,hi";
  fakeRasa(() => [{ text: answer, buttons: [{ title: "<b onmouseover=alert(4)>Fees</b>", payload: "/ask_fees" }] }]);
  const widget = loadWidget();
  type(widget, "<svg onload=alert(5)>");
  await until(() => transcript(widget).length === 2, "the answer");

  for (const page of [widget, loadWidget()]) { // as answered, and restored from storage
    const log = page.nodes.log;
    assert.equal(log.querySelector("script, img, svg, b"), null, log.innerHTML);
    assert.equal(log.querySelector("[onerror], [onload], [onmouseover]"), null, log.innerHTML);
    assert.deepEqual(transcript(page), [
      ["user", "<svg onload=alert(5)>"],
      ["bot", evil + "See [the page](javascript:alert%283%29), [the form](data:text/html;base64,PHNjcmlwdD4=), MISM or data:text/html,hi"],
    ]);
    const links = [...log.querySelectorAll("a")].map((a) => [a.getAttribute("href"), a.textContent, a.target, a.rel]);
    assert.deepEqual(links, [["https://www.heinz.cmu.edu/programs/mism", "MISM", "_blank", "noopener noreferrer"]]);
    assert.deepEqual(quickReplies(page).map((b) => b.textContent), ["<b onmouseover=alert(4)>Fees</b>"]);
  }
});

/* ---- feedback ---- */

/** Rasa: an answer the visitor may rate, then `onFeedback(request)` for the click. */
function rateableRasa(onFeedback) {
  fakeRasa((request) =>
    request.body.message.startsWith("/feedback")
      ? onFeedback(request)
      : [{ text: "MISM takes 16 months." }, { custom: { feedback: true } }],
  );
}

test("Helpful under an answer sends the feedback once, without a bubble, and disables both buttons", async () => {
  rateableRasa(() => [{ text: "Thanks!" }]);
  const widget = loadWidget();
  widget.nodes.launcher.click();
  type(widget, "How long is MISM?");
  await until(() => widget.nodes.log.querySelector(".hc-feedback"), "the feedback buttons");

  const answer = widget.nodes.log.querySelector(".hc-msg--bot");
  const group = answer.querySelector(".hc-feedback");
  assert.equal(group.getAttribute("role"), "group");
  assert.equal(group.getAttribute("aria-label"), "Was this answer helpful?");
  const helpful = button(group, "Helpful");
  const notHelpful = button(group, "Not helpful");
  assert.equal(helpful.getAttribute("aria-label"), "This answer was helpful");
  assert.equal(notHelpful.getAttribute("aria-label"), "This answer was not helpful");
  assert.ok(!helpful.disabled && !notHelpful.disabled);

  helpful.focus();
  helpful.click();
  helpful.click(); // a double click landing on the button as it is replaced
  button(answer, "Helpful").click();
  button(answer, "Not helpful").click();
  notHelpful.click();
  const shown = [...answer.querySelectorAll(".hc-feedback button")];
  assert.deepEqual(
    shown.map((b) => [b.textContent, b.disabled, b.getAttribute("aria-pressed")]),
    [["Helpful", true, "true"], ["Not helpful", true, "false"]],
  );
  assert.equal(answer.querySelector(".hc-feedback-thanks").textContent, "Thanks for your feedback");
  assert.equal(document.activeElement, widget.nodes.input);

  await until(() => transcript(widget).at(-1)[1] === "Thanks!", "the assistant's reply");
  await settle();
  const feedback = requests.filter((r) => r.body.message.startsWith("/feedback"));
  assert.deepEqual(feedback.map((r) => r.body.message), ['/feedback{"helpful":"yes"}'], "sent once");
  assert.equal(feedback[0].body.sender, widget.state.id);
  assert.deepEqual(conversation(widget), [
    ["user", "How long is MISM?"],
    ["bot", "MISM takes 16 months."],
    ["bot", "Thanks!"],
  ], "no visitor bubble for the click");
  assert.equal(stored().messages[1].feedback, "yes", "kept in the history");
});

test("feedback that cannot be sent is offered again, with the can't-be-reached notice", async () => {
  let attempts = 0;
  rateableRasa(() => (++attempts === 1 ? new TypeError("Failed to fetch") : [{ text: "Sorry to hear that." }]));
  const widget = loadWidget();
  type(widget, "How long is MISM?");
  await until(() => widget.nodes.log.querySelector(".hc-feedback"), "the feedback buttons");

  button(widget.nodes.log, "Not helpful").click();
  await until(() => widget.nodes.log.querySelector(".hc-notice--error"), "the notice");
  const again = [...widget.nodes.log.querySelectorAll(".hc-feedback button")];
  assert.deepEqual(again.map((b) => [b.disabled, b.getAttribute("aria-pressed")]), [[false, null], [false, null]]);
  assert.equal(widget.nodes.log.querySelector(".hc-feedback-thanks"), null);
  assert.equal(stored().messages[1].feedback, "ask");

  button(widget.nodes.log, "Not helpful").click();
  await until(() => transcript(widget).at(-1)[1] === "Sorry to hear that.", "the reply");
  assert.deepEqual(
    requests.filter((r) => r.body.message.startsWith("/feedback")).map((r) => r.body.message),
    ['/feedback{"helpful":"no"}', '/feedback{"helpful":"no"}'],
  );
});

test("unused feedback buttons are withdrawn when the visitor writes again", async () => {
  rateableRasa(() => [{ text: "Thanks!" }]);
  const widget = loadWidget();
  type(widget, "How long is MISM?");
  await until(() => widget.nodes.log.querySelector(".hc-feedback"), "the feedback buttons");
  type(widget, "And the fees?");
  const first = widget.nodes.log.querySelector(".hc-msg--bot");
  assert.equal(first.querySelector(".hc-feedback"), null);
  assert.equal(stored().messages[1].feedback, undefined);
});

/* ---- starting over ---- */

test("Start over begins a new conversation and a late answer of the old one is not shown", async () => {
  fakeRasa();
  const widget = loadWidget();
  widget.nodes.launcher.click();
  type(widget, "How long is MISM?");
  await until(() => requests.length === 1, "the POST");
  const oldId = widget.state.id;

  widget.nodes.restart.click();
  assert.notEqual(widget.state.id, oldId);
  assert.equal(stored().id, widget.state.id);
  assert.deepEqual(transcript(widget), []);
  assert.equal(widget.nodes.typing.hidden, true);

  requests[0].reply([{ text: "MISM takes 16 months." }]);
  await settle();
  assert.deepEqual(transcript(widget), [], "the old conversation's answer is dropped");
  assert.deepEqual(stored().messages, []);

  type(widget, "Hello");
  await until(() => requests.length === 2, "the next POST");
  assert.equal(requests[1].body.sender, widget.state.id);
});

test("an answer that arrives after the visitor asked again is not offered for rating (the click would rate the newer one)", async () => {
  fakeRasa();
  const widget = loadWidget();
  widget.nodes.launcher.click();
  type(widget, "How long is MISM?");
  type(widget, "What about fees?");
  await until(() => requests.length === 1, "the first POST");
  requests[0].reply([{ text: "MISM takes 16 months." }, { custom: { feedback: true } }]);
  await until(() => requests.length === 2, "the second POST");
  await settle();
  const first = [...widget.nodes.log.querySelectorAll(".hc-msg--bot")][0];
  assert.equal(first.querySelector(".hc-feedback"), null, "no Helpful buttons on the first answer");
  assert.equal(stored().messages.find((m) => m.text === "MISM takes 16 months.").feedback, undefined);

  requests[1].reply([{ text: "Fees are listed here." }, { custom: { feedback: true } }]);
  await until(() => widget.nodes.log.querySelectorAll(".hc-feedback").length === 1, "the latest answer's buttons");
  const latest = [...widget.nodes.log.querySelectorAll(".hc-msg--bot")].at(-1);
  assert.ok(latest.querySelector(".hc-feedback"), "the answer to the latest question is rated as usual");
});

test("a destroyed widget drops a reply still on its way: nothing saved over the next widget, no health check", async () => {
  fakeRasa();
  const old = loadWidget();
  type(old, "How long is MISM?");
  await until(() => requests.length === 1, "the POST");
  unload(old);
  window.localStorage.clear();
  const next = loadWidget();
  const before = window.localStorage.getItem(STORAGE_KEY + ":v1");

  requests[0].fail();
  await settle();
  assert.equal(window.localStorage.getItem(STORAGE_KEY + ":v1"), before, "the new widget's state is untouched");
  assert.equal(old.healthTimer, null, "no health check started by the destroyed widget");
  assert.equal(requests.length, 1, "nothing else was requested");
  assert.equal(next.offline, false);
});

/**
 * Put `text` into the message box as a browser does (Chromium's order): `paste` (with the clipboard)
 * for a paste, then `beforeinput`, then the text in place of the selection with line breaks as "\n",
 * cut to the box's maxlength (not when a full box refuses it), then `input`.
 */
function insert(widget, text, inputType = "insertFromPaste") {
  const input = widget.nodes.input;
  if (inputType === "insertFromPaste") {
    const event = new window.Event("paste", { bubbles: true, cancelable: true });
    Object.defineProperty(event, "clipboardData", { value: { getData: () => text } });
    input.dispatchEvent(event);
  }
  input.dispatchEvent(new window.InputEvent("beforeinput", { bubbles: true, cancelable: true, inputType, data: text }));
  const { selectionStart: start, selectionEnd: end, value } = input;
  const room = widget.opts.maxLength - (value.length - (end - start));
  if (room <= 0) return;
  const added = (text ?? "\n").replace(/\r\n?/g, "\n").slice(0, room);
  input.value = value.slice(0, start) + added + value.slice(end);
  input.dispatchEvent(new window.InputEvent("input", { bubbles: true, inputType, data: text }));
}

/** The visitor changes the box's text by hand (deletes some, say). */
function edit(widget, value) {
  widget.nodes.input.value = value;
  widget.nodes.input.dispatchEvent(new window.Event("input", { bubbles: true }));
}

const PASTE_CUT = `Only the first ${DEFAULTS.maxLength} characters fit: the end of what you pasted was left out.`;
const TYPED_FULL = `That's the limit: a message can be up to ${DEFAULTS.maxLength} characters.`;

test("a paste longer than the box holds is said to be cut, and the notice goes once the text fits", async () => {
  fakeRasa(() => []);
  const widget = loadWidget();
  widget.open();
  const cut = widget.nodes.cut;
  // A live region is only heard if it is on the page before its text changes: never hidden, only empty.
  assert.equal(cut.hidden, false);
  assert.equal(cut.getAttribute("role"), "status");
  assert.equal(cut.getAttribute("aria-live"), "polite");
  assert.equal(widget.nodes.panel.contains(cut), true);
  insert(widget, "a short question?");
  assert.equal(cut.textContent, "", "a paste that fits says nothing");
  edit(widget, "");
  insert(widget, "x".repeat(DEFAULTS.maxLength + 500));
  assert.equal(widget.nodes.input.value.length, DEFAULTS.maxLength);
  assert.equal(cut.textContent, PASTE_CUT);
  assert.equal(cut.hidden, false);
  edit(widget, "shorter now");
  assert.equal(cut.textContent, "", "shortened: the notice goes");
});

test("a paste is measured against the room left: what it replaces counts, what stays does not", async () => {
  fakeRasa(() => []);
  const widget = loadWidget();
  const input = widget.nodes.input;
  edit(widget, "a".repeat(DEFAULTS.maxLength - 10));
  insert(widget, "b".repeat(10));
  assert.equal(widget.nodes.cut.textContent, "", "exactly fills the box");
  edit(widget, "a".repeat(DEFAULTS.maxLength - 10));
  insert(widget, "b".repeat(11));
  assert.equal(widget.nodes.cut.textContent, PASTE_CUT, "one character too many");
  edit(widget, "a".repeat(DEFAULTS.maxLength - 10));
  input.setSelectionRange(0, 5); // pasted over
  insert(widget, "b".repeat(15));
  assert.equal(widget.nodes.cut.textContent, "", "the selection it replaces made room");
  assert.equal(input.value.length, DEFAULTS.maxLength);
});

test("line breaks copied as \\r\\n count once, as the box stores them: a paste that fits says nothing", async () => {
  fakeRasa(() => []);
  const widget = loadWidget();
  const line = "x".repeat(9) + "\r\n"; // 10 characters in the box
  insert(widget, line.repeat(DEFAULTS.maxLength / 10));
  assert.equal(widget.nodes.input.value.length, DEFAULTS.maxLength);
  assert.equal(widget.nodes.cut.textContent, "", "nothing was left out");
  edit(widget, "");
  insert(widget, line.repeat(DEFAULTS.maxLength / 10) + "y");
  assert.equal(widget.nodes.cut.textContent, PASTE_CUT);
});

test("text dropped into the box is said to be cut too; sending takes the notice away", async () => {
  fakeRasa(() => [{ text: "Noted." }]);
  const widget = loadWidget();
  const input = widget.nodes.input;
  edit(widget, "Please read: ");
  input.setSelectionRange(0, 6); // a drop goes in where it is dropped and replaces nothing
  insert(widget, "z".repeat(DEFAULTS.maxLength - 13), "insertFromDrop");
  assert.equal(widget.nodes.cut.textContent, "", "it just fits");
  edit(widget, "Please read: ");
  insert(widget, "z".repeat(DEFAULTS.maxLength), "insertFromDrop");
  assert.equal(widget.nodes.cut.textContent, PASTE_CUT);
  widget.submitInput();
  // Under load (CI's other jobs on the same cores) the POST can take more than settle()'s turns.
  await until(() => requests.length === 1, "the POST");
  await settle();
  assert.equal(requests[0].body.message.length, DEFAULTS.maxLength);
  assert.equal(input.value, "");
  assert.equal(widget.nodes.cut.textContent, "", "sent: the notice goes");
});

test("typing into a full box says it is full, without hiding a paste's notice", async () => {
  fakeRasa(() => []);
  const widget = loadWidget();
  edit(widget, "a".repeat(DEFAULTS.maxLength - 1));
  insert(widget, "b", "insertText");
  assert.equal(widget.nodes.cut.textContent, "", "the last character still fits");
  insert(widget, "c", "insertText");
  insert(widget, null, "insertLineBreak"); // Shift+Enter
  assert.equal(widget.nodes.cut.textContent, TYPED_FULL);
  assert.equal(widget.nodes.input.value.length, DEFAULTS.maxLength);
  edit(widget, "a".repeat(10));
  assert.equal(widget.nodes.cut.textContent, "");
  insert(widget, "p".repeat(DEFAULTS.maxLength));
  insert(widget, "c", "insertText");
  assert.equal(widget.nodes.cut.textContent, PASTE_CUT, "the paste's notice says more");
  // An input method's word in progress is not final: nothing said until it is committed.
  edit(widget, "");
  edit(widget, "a".repeat(DEFAULTS.maxLength));
  insert(widget, "かな", "insertCompositionText");
  assert.equal(widget.nodes.cut.textContent, "");
});

// What comes back from localStorage is cleaned: anything odd starts afresh or is dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import "./dom.js";

const { cleanState, cleanButtons, Store } = await import("../src/storage.js");

const SECRET = "a".repeat(64);

test("a state without a conversation id starts a fresh conversation", () => {
  for (const raw of [null, "text", 42, {}, { id: "" }, { id: 7 }, []]) assert.equal(cleanState(raw), null);
});

test("a good state comes back as it was", () => {
  const state = {
    id: "c-1",
    open: true,
    secret: SECRET,
    handoff: { state: "live", after: 12, staff: "Dana" },
    messages: [
      { id: "m1", from: "user", text: "How long is MISM?" },
      { id: "m2", from: "bot", text: "16 months.", buttons: [{ title: "Deadlines", payload: "/deadlines" }], feedback: "yes" },
      { id: "m3", from: "staff", kind: "message", name: "Dana", text: "Hi!" },
    ],
  };
  assert.deepEqual(cleanState(state), { v: 1, ...state });
});

test("messages of unknown senders, without text or with a bad id are dropped or repaired", () => {
  const clean = cleanState({
    id: "c-1",
    secret: SECRET,
    messages: [
      { from: "admin", text: "x" },
      { from: "bot" },
      null,
      { id: "<b>", from: "bot", text: "kept", buttons: [{ title: " ", payload: "/x" }, { title: "A", payload: 3 }], feedback: "maybe" },
    ],
  });
  assert.equal(clean.messages.length, 1);
  const [kept] = clean.messages;
  assert.equal(kept.text, "kept");
  assert.match(kept.id, /^[0-9a-f-]{36}$/);
  assert.equal(kept.buttons, undefined);
  assert.equal(kept.feedback, undefined);
});

test("a message still waiting when the page went away is shown as not sent", () => {
  const clean = cleanState({
    id: "c-1",
    secret: SECRET,
    messages: [
      { id: "a", from: "user", text: "one", status: "pending" },
      { id: "b", from: "user", text: "two", status: "sent" },
      { id: "c", from: "user", text: "Deadlines", payload: "/deadlines" },
    ],
  });
  assert.deepEqual(
    clean.messages.map((m) => [m.status, m.payload]),
    [["failed", undefined], [undefined, undefined], [undefined, "/deadlines"]],
  );
});

test("a forged hand-off or a bad secret is not trusted", () => {
  const clean = cleanState({ id: "c-1", secret: "short", handoff: { state: "owned-by-me", after: 5 } });
  assert.equal(clean.handoff, null);
  assert.match(clean.secret, /^[0-9a-f]{64}$/);
  assert.notEqual(clean.secret, "short");
  const negative = cleanState({ id: "c-1", secret: SECRET, handoff: { state: "queued", after: -3, staff: 9 } });
  assert.deepEqual(negative.handoff, { state: "queued", after: 0, staff: null });
  assert.equal(cleanState({ id: "c-1", secret: SECRET, open: "yes" }).open, false);
});

test("buttons without a title or a string payload are dropped", () => {
  assert.deepEqual(cleanButtons("x"), []);
  assert.deepEqual(cleanButtons([{ title: "Fees", payload: "/fees", extra: 1 }, { title: "", payload: "/x" }]), [
    { title: "Fees", payload: "/fees" },
  ]);
});

test("the store falls back to memory when localStorage refuses", () => {
  const store = new Store("heinz-test");
  const original = Object.getOwnPropertyDescriptor(window, "localStorage");
  Object.defineProperty(window, "localStorage", { configurable: true, get() { throw new Error("denied"); } });
  try {
    store.save({ id: "c-9" });
    assert.deepEqual(store.load(), { id: "c-9" });
  } finally {
    Object.defineProperty(window, "localStorage", original);
  }
  store.save({ id: "c-10" });
  assert.deepEqual(new Store("heinz-test").load(), { id: "c-10" }, "kept across page loads when storage works");
});

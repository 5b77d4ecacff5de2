// Rendering bot text: paragraphs, lists and links, never HTML from the message, only safe links.
import { test } from "node:test";
import assert from "node:assert/strict";
import { html } from "./dom.js";

const { renderRichText, safeWebHref, safeLinkHref, splitTrailing } = await import("../src/render.js");

test("a named link shows its name, opens in a new tab and is described as doing so", () => {
  const box = document.createElement("div");
  box.appendChild(renderRichText("See the [MISM admissions page](https://www.heinz.cmu.edu/programs/mism/admissions).", "hint"));
  const a = box.querySelector("a");
  assert.equal(a.textContent, "MISM admissions page");
  assert.equal(a.href, "https://www.heinz.cmu.edu/programs/mism/admissions");
  assert.equal(a.target, "_blank");
  assert.equal(a.rel, "noopener noreferrer");
  assert.equal(a.getAttribute("aria-describedby"), "hint");
  assert.equal(box.textContent, "See the MISM admissions page.");
});

test("markup in a message is shown as text, never run or parsed", () => {
  const text = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
  const out = html(renderRichText(text));
  assert.ok(!out.includes("<img"), out);
  assert.ok(!out.includes("<script"), out);
  const box = document.createElement("div");
  box.appendChild(renderRichText(text));
  assert.equal(box.textContent, text);
});

test("blank lines make paragraphs, single breaks stay breaks, bullets make one list", () => {
  const box = document.createElement("div");
  box.appendChild(renderRichText("First line\nsecond line\n\nThe tracks:\n• 16-month\n- 12-month\n\nEnd"));
  const paragraphs = box.querySelectorAll("p.hc-p");
  assert.equal(paragraphs.length, 3);
  assert.equal(paragraphs[0].querySelectorAll("br").length, 1);
  const items = [...box.querySelectorAll("ul.hc-list > li")].map((li) => li.textContent);
  assert.deepEqual(items, ["16-month", "12-month"]);
});

test("bare addresses and e-mails become links without their trailing punctuation", () => {
  const box = document.createElement("div");
  box.appendChild(renderRichText("Write to hnzadmit@andrew.cmu.edu. Or see https://www.heinz.cmu.edu/admissions)."));
  const links = [...box.querySelectorAll("a")].map((a) => [a.getAttribute("href"), a.textContent]);
  assert.deepEqual(links, [
    ["mailto:hnzadmit@andrew.cmu.edu", "hnzadmit@andrew.cmu.edu"],
    ["https://www.heinz.cmu.edu/admissions", "https://www.heinz.cmu.edu/admissions"],
  ]);
  assert.ok(box.textContent.endsWith("admissions)."));
  assert.equal(box.querySelectorAll("a")[0].getAttribute("aria-describedby"), null, "mailto opens no tab");
});

test("a link to anything but http(s) or one plain mailto address stays text", () => {
  for (const target of ["javascript:alert(1)", "data:text/html,hi", "mailto:a@b.co?bcc=x@y.co", "mailto:not-an-address"]) {
    const box = document.createElement("div");
    box.appendChild(renderRichText(`[click](${target})`));
    assert.equal(box.querySelector("a"), null, target);
    assert.equal(box.textContent, `[click](${target})`);
  }
});

test("the link allowlist: http(s) and plain mailto only", () => {
  assert.equal(safeWebHref("https://www.cmu.edu/a b"), "https://www.cmu.edu/a%20b");
  assert.equal(safeWebHref("http://example.edu/"), "http://example.edu/");
  assert.equal(safeWebHref("javascript:alert(1)"), null);
  assert.equal(safeWebHref("ftp://example.edu/"), null);
  assert.equal(safeWebHref("not a url"), null);
  assert.equal(safeLinkHref("mailto:hnzadmit@andrew.cmu.edu"), "mailto:hnzadmit@andrew.cmu.edu");
  assert.equal(safeLinkHref("MAILTO:hnzadmit@andrew.cmu.edu"), "mailto:hnzadmit@andrew.cmu.edu");
  assert.equal(safeLinkHref("mailto:a@b.co,c@d.co"), null);
  assert.equal(safeLinkHref("vbscript:x"), null);
});

test("trailing punctuation is split off, balanced parentheses are kept", () => {
  assert.deepEqual(splitTrailing("https://x.edu/."), ["https://x.edu/", "."]);
  assert.deepEqual(splitTrailing("https://x.edu/page)."), ["https://x.edu/page", ")."]);
  assert.deepEqual(splitTrailing("https://en.wikipedia.org/wiki/A_(b)"), ["https://en.wikipedia.org/wiki/A_(b)", ""]);
  assert.deepEqual(splitTrailing("https://x.edu/?q=1\"!"), ["https://x.edu/?q=1", "\"!"]);
});

// A browser-like global scope for the widget's modules: jsdom's window and document.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { url: "https://www.heinz.cmu.edu/" });
globalThis.window = dom.window;
globalThis.document = dom.window.document;

/** The rendered fragment as the HTML a browser would hold, for assertions on structure. */
export function html(fragment) {
  const box = document.createElement("div");
  box.appendChild(fragment);
  return box.innerHTML;
}

/** The staff console's answer previews: bot text rendered by the widget's own renderer, so staff see
 * an answer exactly as a visitor would (paragraphs, bullets, named links). The page carries the text
 * in data-bot-text and shows it as plain text until this runs. */

import { renderRichText } from "./render.js";

function renderPreviews() {
  var nodes = document.querySelectorAll("[data-bot-text]");
  Array.prototype.forEach.call(nodes, function (node) {
    var text = node.getAttribute("data-bot-text") || "";
    node.textContent = "";
    node.appendChild(renderRichText(text, null));
    node.classList.add("hc-rendered");
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderPreviews);
else renderPreviews();

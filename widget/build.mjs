// Bundles widget/src/ into the one file the pages load (website/static/chat-widget.js) and the staff
// console's answer previews (console/static/answer-preview.js, the same renderer), or into the files
// given as arguments (the freshness check builds into temporary files and compares).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const banner = readFileSync(here("./src/banner.js"), "utf8");

const bundles = [
  [here("./src/boot.js"), process.argv[2] || here("../website/static/chat-widget.js")],
  [here("./src/preview.js"), process.argv[3] || here("../console/static/answer-preview.js")],
];

for (const [entry, outfile] of bundles) await build({
  entryPoints: [entry],
  outfile,
  absWorkingDir: here("."),  // the same module comments from any directory
  bundle: true,
  format: "iife",
  target: "es2017",
  charset: "utf8",
  legalComments: "none",
  banner: { js: banner + '"use strict";' },
  logLevel: "warning",
});

// Bundles widget/src/ into the one file the pages load (web/static/chat-widget.js), or into the
// file given as the first argument (the freshness check builds into a temporary file and compares).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const banner = readFileSync(here("./src/banner.js"), "utf8");

await build({
  entryPoints: [here("./src/boot.js")],
  outfile: process.argv[2] || here("../web/static/chat-widget.js"),
  absWorkingDir: here("."),  // the same module comments from any directory
  bundle: true,
  format: "iife",
  target: "es2017",
  charset: "utf8",
  legalComments: "none",
  banner: { js: banner + '"use strict";' },
  logLevel: "warning",
});

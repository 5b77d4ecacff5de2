/** Where this script was loaded from: the defaults for the hand-off endpoints and the stylesheet. */

// The script element that loaded us (available while the bundle's code runs, at load time).
export var SCRIPT = document.currentScript;

/** The web server that served this script (it also serves the hand-off endpoints). */
export function defaultHandoffUrl() {
  try {
    if (SCRIPT && SCRIPT.src) return new URL(SCRIPT.src).origin;
  } catch (e) {
    /* fall through */
  }
  return window.location.origin;
}

export function defaultStylesheet() {
  if (!SCRIPT || !SCRIPT.src) return null;
  try {
    return new URL("chat-widget.css", SCRIPT.src).href;
  } catch (e) {
    return null;
  }
}

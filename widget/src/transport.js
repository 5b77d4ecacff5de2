/** Talking to the servers: fetch with a hard time limit, refusals with their reason, hashing. */

/** SHA-256 of `text` as hex, or null where SubtleCrypto is missing (insecure context). */
export function sha256Hex(text) {
  var subtle = window.crypto && window.crypto.subtle;
  if (!text || !subtle || typeof window.TextEncoder !== "function") return Promise.resolve(null);
  return subtle.digest("SHA-256", new window.TextEncoder().encode(text)).then(
    function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return (b + 0x100).toString(16).slice(1);
      }).join("");
    },
    function () {
      return null;
    }
  );
}

export function trimSlash(url) {
  return String(url || "").replace(/\/+$/, "");
}

/**
 * fetch with a hard time limit covering the whole exchange (headers and body): AbortController
 * where available, a race otherwise. `read(response)` turns the response into the result.
 */
export function fetchWithTimeout(url, init, timeoutMs, read) {
  var controller = typeof window.AbortController === "function" ? new window.AbortController() : null;
  if (controller) init.signal = controller.signal;
  var timer;
  var timeout = new Promise(function (resolve, reject) {
    timer = window.setTimeout(function () {
      if (controller) controller.abort();
      reject(new Error("timeout"));
    }, timeoutMs);
  });
  var exchange = window.fetch(url, init).then(read);
  return Promise.race([exchange, timeout]).then(
    function (result) {
      window.clearTimeout(timer);
      return result;
    },
    function (err) {
      window.clearTimeout(timer);
      throw err;
    }
  );
}

/**
 * A non-2xx answer as an error. A 503 whose body says why (the project's REST channel: the
 * conversation cannot be saved right now) carries that sentence, so the visitor reads the reason
 * rather than "can't be reached".
 */
export function refusal(status, unreadable) {
  return function (body) {
    var error = new Error("HTTP " + status);
    if (!unreadable && status === 503 && body && typeof body.error === "string" && body.error.trim()) {
      error.serverMessage = body.error.trim().slice(0, 300);
    }
    throw error;
  };
}

/* ------------------------------------------------------------------ widget */

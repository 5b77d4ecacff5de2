/* Staff console, Training page: while a model trains, follow its progress (one small JSON request
 * every 3 s) and reload the page when the run ends, so its report appears without a click. */
(function () {
  "use strict";
  var box = document.getElementById("training-progress");
  if (!box) return;
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  function poll() {
    fetch(box.getAttribute("data-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (status) {
        if (!status.running) { window.location.reload(); return; }
        bar.max = status.steps;
        bar.value = status.step;
        text.textContent = "Step " + status.step + " of " + status.steps + ": " + status.progress;
        window.setTimeout(poll, 3000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 3000);
})();

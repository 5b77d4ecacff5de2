"""Time from sending a message in the chat widget to the answer appearing in the browser.

Drives headless Debian Chromium against a running stack (``make run``, or any web server whose
page embeds the widget), sends a greeting to warm up, then N questions one after another, and
prints the median (and spread) of "Enter pressed → bot message in the DOM and painted". For
comparison it also times the same kind of question posted straight to the Rasa REST webhook, so
the widget's own overhead (CORS preflight, rendering) is visible.

    .venv/bin/python bench/widget_latency.py                       # page at http://localhost:8000
    .venv/bin/python bench/widget_latency.py --web-url http://127.0.0.1:8010 -n 20
    .venv/bin/python bench/widget_latency.py --start-stack         # start one (ops.launcher.Stack)

Exit status 0 with the figures printed; 2 if the page or the bot cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.widget_harness import launch_chromium  # noqa: E402

QUESTIONS = [
    "How long is the MISM program?",
    "What are the MSIT deadlines?",
    "Is MISM STEM designated?",
    "What tracks does MISM have?",
    "How do I apply to MSIT?",
    "Do I need work experience for MSIT?",
    "Is there an application fee?",
    "Are there info sessions?",
    "How can I contact admissions?",
    "What are the MISM deadlines?",
]

# Runs inside the page: submit through the widget's own form, resolve when a new bot message is
# in the log and a frame has been painted.
MEASURE_JS = """
async (text) => {
  const log = document.querySelector('.hc-log');
  const input = document.querySelector('.hc-input');
  const count = () => document.querySelectorAll('.hc-msg--bot').length;
  const before = count();
  input.value = text;
  const t0 = performance.now();
  input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { obs.disconnect(); reject(new Error('no answer in 30 s')); }, 30000);
    const obs = new MutationObserver(() => {
      if (count() > before) { obs.disconnect(); clearTimeout(timer); resolve(); }
    });
    obs.observe(log, {childList: true});
  });
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}
"""


def wait_idle(page) -> None:
    page.wait_for_function("() => document.querySelector('.hc-typing').hidden", timeout=30000)


def rest_latency(rasa_url: str, questions) -> list:
    sender = f"bench-{uuid.uuid4()}"
    times = []
    for q in questions:
        body = json.dumps({"sender": sender, "message": q}).encode()
        req = urllib.request.Request(
            f"{rasa_url.rstrip('/')}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
        )
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def summary(times) -> dict:
    ordered = sorted(times)
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }


def measure(web_url: str, n: int) -> dict:
    from playwright.sync_api import sync_playwright

    questions = (QUESTIONS * ((n // len(QUESTIONS)) + 1))[:n]
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(web_url)
        page.click(".hc-launcher")
        page.wait_for_function("() => document.querySelectorAll('.hc-msg--bot').length >= 1", timeout=60000)
        wait_idle(page)
        rasa_url = page.evaluate("() => document.querySelector('script[data-server-url]').dataset.serverUrl")
        # one untimed question: warms the Rasa pipeline and Chrome's CORS preflight cache
        page.evaluate(MEASURE_JS, "hello")
        wait_idle(page)
        times = []
        for q in questions:
            times.append(page.evaluate(MEASURE_JS, q))
            wait_idle(page)
        browser.close()
    return {
        "web_url": web_url,
        "rasa_url": rasa_url,
        "widget": summary(times),
        "widget_samples_ms": [round(t, 1) for t in times],
        "rest_direct": summary(rest_latency(rasa_url, questions)),
    }


def start_stack():
    """The same stack the tests use (ops.launcher.Stack) on free ports with a throwaway database."""
    import tempfile

    from ops.launcher import Stack, settings_on_free_ports

    workdir = Path(tempfile.mkdtemp(prefix="widget-latency-"))
    settings = settings_on_free_ports(f"sqlite:///{workdir / 'conversations.db'}")
    stack = Stack(settings, log_dir=workdir / "logs")
    print(f"starting the stack (logs in {workdir / 'logs'}) ...", file=sys.stderr)
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return stack


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--web-url", default="http://localhost:8000", help="page that embeds the widget")
    ap.add_argument("-n", type=int, default=10, help="number of timed messages (default 10)")
    ap.add_argument("--start-stack", action="store_true", help="start action server, Rasa and web server first")
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = ap.parse_args()

    stack = None
    web_url = args.web_url
    if args.start_stack:
        stack = start_stack()
        web_url = stack.web_url
    try:
        try:
            result = measure(web_url, args.n)
        except Exception as exc:  # noqa: BLE001 - report and fail clearly
            print(f"could not measure against {web_url}: {exc}", file=sys.stderr)
            return 2
    finally:
        if stack is not None:
            stack.stop()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    w, r = result["widget"], result["rest_direct"]
    print(f"page {result['web_url']}  (Rasa {result['rasa_url']})")
    print(
        f"widget, send -> answer painted: median {w['median_ms']} ms  p90 {w['p90_ms']} ms  "
        f"min {w['min_ms']}  max {w['max_ms']}  (n={w['n']})"
    )
    print(f"REST webhook direct (same questions): median {r['median_ms']} ms  p90 {r['p90_ms']} ms  (n={r['n']})")
    print("samples (ms):", ", ".join(str(t) for t in result["widget_samples_ms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m benchmarks.pages` (`make bench-pages`): what each page of the built book costs a reader.

Every page of `_build/html` (or `--html DIR`) is opened once in Debian's Chromium, cold (a fresh
browser context, so nothing is cached), over a link throttled through the DevTools protocol
(default 10 Mb/s down, 40 ms latency), all in the same run. For each page it prints

- `bytes`: what crossed the wire (the sum of `encodedDataLength` of every response: headers and
  bodies as served; the local server sends files uncompressed, as the issue measured them, or
  gzip-compressed text with `--gzip`, as GitHub Pages and most web servers do),
- `requests`: how many responses,
- `first paint` and `first contentful paint` (the browser's Paint Timing entries),
- `load`: the page's load event,
- `widgets`: when every saved widget view had rendered (widget pages only),

all in seconds since navigation started. A benchmark, not a test: it asserts nothing, and the
numbers depend on the machine (2 busy cores here) as much as on the book.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import io
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CNNBOOK_CHROMIUM", "/usr/bin/chromium")
# Nothing but the local server resolves: the benchmark can never reach the network.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
WIDGET_VIEW = "script[type='application/vnd.jupyter.widget-view+json']"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


COMPRESSIBLE = (".html", ".js", ".css", ".json", ".svg", ".txt", ".map", ".inv")


class _GzipHandler(_QuietHandler):
    """Text files gzip-compressed (level 6, once per file), as a static web host serves them."""

    cache: dict[str, bytes] = {}

    def send_head(self):
        path = self.translate_path(self.path)
        if not path.endswith(COMPRESSIBLE) or "gzip" not in self.headers.get("Accept-Encoding", "") \
                or not os.path.isfile(path):
            return super().send_head()
        if path not in self.cache:
            with open(path, "rb") as f:
                self.cache[path] = gzip.compress(f.read(), 6)
        body = self.cache[path]
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def pages(html: Path) -> list[str]:
    """The book's pages: its own and the chapters (not the redirecting index, search or genindex)."""
    found = [p.relative_to(html).as_posix() for p in html.rglob("*.html")]
    return sorted(p for p in found if p.split("/")[0] in ("book", "chapters"))


def measure(browser, url: str, mbit: float, latency_ms: float) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms,
        "downloadThroughput": mbit * 1e6 / 8, "uploadThroughput": mbit * 1e6 / 8})
    sizes: dict[str, float] = {}
    pending: set[str] = set()
    cdp.on("Network.requestWillBeSent", lambda e: pending.add(e["requestId"]))
    cdp.on("Network.loadingFailed", lambda e: pending.discard(e["requestId"]))

    def finished(event):
        pending.discard(event["requestId"])
        sizes[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.loadingFinished", finished)
    page.goto(url, wait_until="load", timeout=180_000)
    views = page.locator(WIDGET_VIEW).count()
    widgets = None
    if views:
        page.wait_for_function(
            f"() => [...document.querySelectorAll(\"{WIDGET_VIEW}\")].every(s => {{"
            " const v = s.previousElementSibling;"
            " return v && v.classList.contains('widget-subarea') && v.children.length > 0; })"
            " && (window.__widgetsAt = window.__widgetsAt || performance.now())",
            timeout=180_000, polling=50)
        widgets = page.evaluate("() => window.__widgetsAt") / 1000
    quiet_since = time.monotonic()
    deadline = quiet_since + 60
    while time.monotonic() < deadline:  # what loads after the load event (fonts, MathJax's parts)
        page.wait_for_timeout(100)
        if pending:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            break
    timing = page.evaluate("""() => {
        const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
        const nav = performance.getEntriesByType('navigation')[0];
        return { fp: paint['first-paint'], fcp: paint['first-contentful-paint'], load: nav.loadEventStart };
    }""")
    context.close()
    return {"bytes": sum(sizes.values()), "requests": len(sizes), "fp": timing["fp"] / 1000,
            "fcp": timing["fcp"] / 1000, "load": timing["load"] / 1000, "widgets": widgets}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pages", description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="the built book")
    parser.add_argument("--mbit", type=float, default=10.0, help="download (and upload) speed, Mb/s")
    parser.add_argument("--latency", type=float, default=40.0, help="round-trip latency added, ms")
    parser.add_argument("--gzip", action="store_true", help="serve text gzip-compressed, as a web host would")
    parser.add_argument("pages", nargs="*", help="pages to measure (default: all), e.g. chapters/04_conv2d.html")
    args = parser.parse_args(argv)
    if not (args.html / "book" / "intro.html").exists():
        print(f"no built book in {args.html}: run `make book` first", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_GzipHandler if args.gzip else _QuietHandler, directory=str(args.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"{args.html}: cold loads at {args.mbit:g} Mb/s, {args.latency:g} ms latency, "
          f"{'gzip-compressed text' if args.gzip else 'uncompressed'}, Chromium {CHROMIUM}")
    header = f"{'page':38} {'bytes':>11} {'requests':>8} {'first paint':>11} {'first contentful':>16} " \
             f"{'load':>7} {'widgets':>7}"
    print(header)
    print("-" * len(header))
    totals = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for path in args.pages or pages(args.html):
                m = measure(browser, f"{base}/{path}", args.mbit, args.latency)
                totals.append(m)
                widgets = f"{m['widgets']:7.2f}" if m["widgets"] is not None else f"{'-':>7}"
                print(f"{path:38} {m['bytes']:>11,.0f} {m['requests']:>8} {m['fp']:>10.2f}s {m['fcp']:>15.2f}s "
                      f"{m['load']:>6.2f}s {widgets}", flush=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    if totals:
        print("-" * len(header))
        print(f"{'all pages':38} {sum(m['bytes'] for m in totals):>11,.0f} {sum(m['requests'] for m in totals):>8} "
              f"{max(m['fp'] for m in totals):>10.2f}s (slowest first paint)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

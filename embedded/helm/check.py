# `helm test` for the chart `todo-dev export helm` writes: GET each URL through
# its Service, as `up` waits on it, until it answers or the deadline passes.
# Usage: python3 -c "$(cat check.py)" SERVICE SECONDS [--html] URL [[--html] URL ...]
# --html: the next URL must answer an HTML page (the frontend's `/`).
# One line a URL; exit 1 when any failed. Helm puts this text in a template:
# it must never hold two braces in a row.
import sys
import time
import urllib.error
import urllib.request

SERVICE, SECONDS = sys.argv[1], float(sys.argv[2])
CHECKS = []
html = False
for arg in sys.argv[3:]:
    if arg == "--html":
        html = True
    else:
        CHECKS.append((arg, html))
        html = False

# A Service name is never reached through a proxy, whatever the environment says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def attempt(url, want_html):
    """One GET: (ok, what was seen, milliseconds)."""
    started = time.monotonic()
    try:
        with OPENER.open(url, timeout=5) as r:
            status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read(65536)
    except urllib.error.HTTPError as e:
        status, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read(200)
    except OSError as e:  # refused, reset, timed out, name not found
        return False, "error: %s" % getattr(e, "reason", e), elapsed(started)
    took = elapsed(started)
    seen = ("%s %s" % (status, ctype)).strip()
    if status != 200:
        text = " ".join(body[:200].decode("utf-8", "replace").split())
        return False, "%s: %s" % (seen, text) if text else seen, took
    if want_html and not (ctype.startswith("text/html") and b"<html" in body.lower()):
        return False, "%s, not an HTML page" % seen, took
    return True, "%s (%d bytes)" % (seen, len(body)), took


def elapsed(started):
    return round((time.monotonic() - started) * 1000)


deadline = time.monotonic() + SECONDS
failed = 0
for url, want_html in CHECKS:
    tries = 0
    while True:
        tries += 1
        ok, seen, took = attempt(url, want_html)
        if ok or time.monotonic() >= deadline:
            break
        time.sleep(1)
    if ok:
        print("ok     %s: GET %s -> %s in %d ms" % (SERVICE, url, seen, took), flush=True)
    else:
        failed += 1
        print("FAILED %s: GET %s -> %s (%d tries within %g s)" % (SERVICE, url, seen, tries, SECONDS), flush=True)
sys.exit(1 if failed else 0)

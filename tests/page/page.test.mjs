// The status page in Debian's headless Chromium (playwright-core), against a
// running `todo-dev watch` (tests/page.rs starts it and reads its events).
//   PAGE_URL   the URL watch printed (token in it)
//   ROOT       the project: phase "live" saves a file there
//   PHASE      live     the services shown; a save appears without a reload;
//                       rebuild and restart buttons; refusals
//              failure  the last failure and its diagnosis, shown on load
//   SCREENSHOT where to write a PNG of the page (optional)
// Prints one line per check and "N passed, N failed"; exits 1 on any failure.
import { createRequire } from "node:module";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const pageUrl = new URL(process.env.PAGE_URL);
const token = pageUrl.searchParams.get("token");
const phase = process.env.PHASE || "live";
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// A plain HTTP request with the headers given as they are (Host included).
function raw(method, pathname, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: pageUrl.port, method, path: pathname, headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(60000);
const problems = [];
page.on("pageerror", (err) => problems.push(err.message));
page.on("console", (msg) => {
  if (msg.type() === "error" || /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
});

const text = (sel) => page.locator(sel).first().innerText();
const stateOf = (row) => page.getAttribute(`#row-${row}`, "data-state");

try {
  await page.goto(pageUrl.href);
  await check("the page goes live (one EventSource, the snapshot)", async () => {
    await page.waitForFunction(() => document.getElementById("link").textContent === "live");
  });
  await check("each service shows with its image, its size and whether it was built", async () => {
    for (const row of ["frontend", "backend"]) {
      await page.waitForSelector(`#row-${row} .meta.image`);
      const meta = await text(`#row-${row} .meta.image`);
      assert(/image todo-[a-z-]+:[0-9a-z-]+/.test(meta), `${row}: ${meta}`);
      assert(/ · [1-9][0-9.]* (B|kB|MB) · /.test(meta), `${row} has no size: ${meta}`);
      assert(/built|cached/.test(meta), `${row}: ${meta}`);
      const state = await stateOf(row);
      assert(/watching|up to date/.test(state), `${row} state: ${state}`);
    }
  });

  if (phase === "live") {
    const before = await text("#row-backend .meta.image");
    await page.evaluate(() => { window.notReloaded = true; });
    fs.writeFileSync(path.join(process.env.ROOT, "backend/main.txt"), `backend saved from the page test ${Date.now()}\n`);
    await check("a save during watch appears on the page without a reload", async () => {
      await page.waitForFunction((old) => {
        const meta = document.querySelector("#row-backend .meta.image");
        const row = document.getElementById("row-backend");
        return meta && meta.textContent !== old && row.dataset.state.startsWith("up to date");
      }, before);
      const states = await page.evaluate(() => window.todoDev.states.backend);
      assert(states.some((s) => s.startsWith("building")), `states seen: ${states}`);
      assert(await page.evaluate(() => window.notReloaded === true), "the page reloaded");
    });
    await check("the rebuild button rebuilds that service (built, not cached) and rolls it", async () => {
      await page.evaluate(() => { window.todoDev.states.frontend = []; });
      await page.click('button[data-ask="rebuild"][data-row="frontend"]');
      await page.waitForFunction(() => {
        const s = window.todoDev.states.frontend || [];
        return s.some((x) => x.startsWith("building")) && s[s.length - 1].startsWith("up to date");
      });
      const meta = await text("#row-frontend .meta.image");
      assert(/· built/.test(meta), `frontend: ${meta}`);
    });
    await check("the restart button restarts that service's pods", async () => {
      await page.evaluate(() => { window.todoDev.states.backend = []; });
      await page.click('button[data-ask="restart"][data-row="backend"]');
      await page.waitForFunction(() => {
        const s = window.todoDev.states.backend || [];
        return s.includes("restarting its pods") && s[s.length - 1].startsWith("up to date");
      });
    });
    await check("the verify button runs verify on the cluster and shows its last result, check by check", async () => {
      await page.click("#verify-run");
      await page.waitForFunction(() => {
        const v = document.getElementById("verify-verdict").textContent;
        return /passed|FAILED|could not run/.test(v);
      });
      const verdict = await text("#verify-verdict");
      const checks = await page.$$eval("#verify-checks tbody tr", (rows) => rows.map((r) => r.dataset.check));
      assert(checks.includes("workloads ready") && checks.includes("image sizes") && checks.includes("reachable"), `${verdict}: ${checks}`);
      // The quick app is no Todo app: its API checks fail, each with its reason.
      assert(/FAILED: \d+ checks, [1-9]\d* failed/.test(verdict), verdict);
      const ready = await text('#verify-checks tr[data-check="workloads ready"]');
      assert(/\bok\b/.test(ready), ready);
    });
    await check("the page's latency figures are measured per message", async () => {
      const l = await page.evaluate(() => window.todoDev.latencies);
      assert(l.length > 5 && l.every((x) => Number.isFinite(x)), JSON.stringify(l));
    });
    await check("no token: 403 (page, events, actions)", async () => {
      for (const [method, p] of [["GET", "/"], ["GET", "/events"], ["POST", "/rebuild/backend"]]) {
        const r = await raw(method, p, { Host: `127.0.0.1:${pageUrl.port}` });
        assert(r.status === 403, `${method} ${p}: ${r.status}`);
      }
    });
    await check("a foreign Origin or a DNS-rebound Host: 403 even with the token", async () => {
      const withToken = { "X-Todo-Dev-Token": token };
      let r = await raw("POST", "/rebuild/backend", { ...withToken, Host: `127.0.0.1:${pageUrl.port}`, Origin: "http://evil.example" });
      assert(r.status === 403, `foreign origin: ${r.status}`);
      r = await raw("GET", `/?token=${token}`, { Host: `evil.example:${pageUrl.port}` });
      assert(r.status === 403, `rebound host: ${r.status}`);
      r = await raw("GET", "/rebuild/backend", { ...withToken, Host: `127.0.0.1:${pageUrl.port}` });
      assert(r.status === 405, `GET on an action: ${r.status}`);
    });
    await check("a page on another origin cannot drive it from Chromium", async () => {
      // The browser adds its Origin itself; the answer is refused before any route.
      const other = await browser.newPage();
      await other.goto("about:blank");
      const status = await other.evaluate(async ([url, t]) => {
        try {
          const r = await fetch(`${url}/verify?token=${t}`, { method: "POST" });
          return r.status;
        } catch (e) {
          return `blocked: ${e.message}`;
        }
      }, [pageUrl.origin, token]);
      assert(status !== 202, `the foreign page's POST was accepted (${status})`);
      await other.close();
    });
  }

  if (phase === "failure") {
    await check("the last failure shows with its diagnosis and the crashed container's log", async () => {
      await page.waitForSelector("#row-backend .failure");
      const box = await text("#row-backend .failure");
      assert(/last failure \(rollout/.test(box), box);
      assert(/CrashLoopBackOff/.test(box), box);
      assert(/ModuleNotFoundError/.test(box), box);
      const row = await page.getAttribute("#row-backend", "class");
      assert(/bad/.test(row), row);
    });
  }

  await check("no script error and no CSP violation", async () => {
    assert(problems.length === 0, problems.join("; "));
  });
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

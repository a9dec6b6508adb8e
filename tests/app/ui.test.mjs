// Headless Chromium test of the reference app's UI: sign up, add a task, ask the chatbot
// to complete it, see it completed; then reload, edit, delete, sign out and in again.
//
//   BACKEND_URL=http://127.0.0.1:PORT SCREENSHOT=/tmp/ui.png node tests/app/ui.test.mjs
//   SITE_URL=http://127.0.0.1:PORT node tests/app/ui.test.mjs
//
// Without SITE_URL it serves embedded/app/frontend/public and proxies /api/ to BACKEND_URL the
// way the nginx image does (same origin, path unchanged). With SITE_URL it drives that site
// instead, a frontend already running with its own /api/ proxy (the nginx or the Next.js image):
// the same checks, so both frontends pass the same suite. Needs playwright-core (NODE_PATH) and
// Debian's chromium. Prints one line per check and "N passed, N failed"; exits 1 on any failure.
import { createRequire } from "node:module";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const here = path.dirname(fileURLToPath(import.meta.url));
const siteRoot = path.resolve(here, "../../embedded/app/frontend/public");
const siteUrl = process.env.SITE_URL ? process.env.SITE_URL.replace(/\/+$/, "") : "";
const backend = new URL(process.env.BACKEND_URL || "http://127.0.0.1:8000");
const screenshot = process.env.SCREENSHOT || "/tmp/todo-app-ui.png";
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";

const types = { ".html": "text/html", ".js": "application/javascript", ".css": "text/css" };

// the headers nginx adds (frontend/nginx/security-headers.conf), sent here too so Chromium
// enforces the same Content-Security-Policy on the SPA
const securityHeaders = {};
const headersConf = fs.readFileSync(path.resolve(here, "../../embedded/app/frontend/nginx/security-headers.conf"), "utf8");
for (const m of headersConf.matchAll(/^add_header\s+(\S+)\s+"([^"]*)"\s+always;/gm)) securityHeaders[m[1]] = m[2];
if (!securityHeaders["Content-Security-Policy"]) throw new Error("no Content-Security-Policy in security-headers.conf");

function serve(req, res) {
  if (req.url.startsWith("/api/")) {
    const upstream = http.request(
      { host: backend.hostname, port: backend.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      res.writeHead(502, { "Content-Type": "text/plain" });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(upstream);
    return;
  }
  const rel = decodeURIComponent(new URL(req.url, "http://x").pathname);
  let file = path.join(siteRoot, path.normalize(rel));
  if (!file.startsWith(siteRoot) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    file = path.join(siteRoot, "index.html"); // client-side routes fall back to the app, as in nginx.conf
  }
  res.writeHead(200, { ...securityHeaders, "Content-Type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
}

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push([name, null]);
    console.log(`ok   ${name}`);
  } catch (err) {
    results.push([name, err]);
    console.log(`FAIL ${name}: ${err.message.split("\n")[0]}`);
  }
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

let server = null;
let site = siteUrl;
if (!site) {
  server = http.createServer(serve);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  site = `http://127.0.0.1:${server.address().port}`;
}
console.log(`# testing ${site}${server ? ` (public/ served here, /api/ -> ${backend.origin})` : ""}`);

const browser = await chromium.launch({
  executablePath: browserPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
page.setDefaultTimeout(20000);
const consoleErrors = [];
page.on("pageerror", (err) => consoleErrors.push(err.message));
const policyViolations = [];
page.on("console", (msg) => {
  if (/Content Security Policy|Refused to/i.test(msg.text())) policyViolations.push(msg.text());
});
// every securitypolicyviolation event of every document the page loads, reported through a
// binding (an init script and a binding are not subject to the page's CSP)
const violationEvents = [];
await page.exposeFunction("__reportViolation", (v) => violationEvents.push(v));
await page.addInitScript(() => {
  document.addEventListener("securitypolicyviolation", (e) =>
    window.__reportViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`),
  );
});
// what the page loads besides the HTML: all from the site itself
const foreign = [];
const assets = [];
page.on("request", (req) => {
  if (!req.url().startsWith(`${site}/`)) foreign.push(req.url());
});
page.on("response", (resp) => {
  if (["script", "stylesheet"].includes(resp.request().resourceType())) assets.push(resp);
});

const email = `ui-${Date.now()}@example.com`;
const password = "correct horse battery";
const taskRow = (title) => page.locator("#task-list li", { hasText: title });

try {
  await check("the sign-in form shows on first visit", async () => {
    await page.goto(site);
    await page.locator("#auth-form").waitFor();
    expect(await page.locator("#app-view").isHidden(), "the task view shows before signing in");
  });

  await check("sign up", async () => {
    await page.click("#tab-sign-up");
    await page.fill("#auth-name", "Ada");
    await page.fill("#auth-email", email);
    await page.fill("#auth-password", password);
    await page.click("#auth-submit");
    await page.locator("#who", { hasText: email }).waitFor();
    expect(await page.locator("#auth-view").isHidden(), "the sign-in form still shows after signing up");
    // a new account shows the empty-list hint once its (empty) list has loaded
    await page.locator("#tasks-empty").waitFor({ state: "visible" });
  });

  await check("add a task with the form", async () => {
    await page.fill("#new-title", "buy milk");
    await page.click("#add-button");
    await taskRow("buy milk").waitFor();
    expect(!(await taskRow("buy milk").locator("input[type=checkbox]").isChecked()), "new task is already done");
  });

  await check("ask the chatbot to complete it and see it completed", async () => {
    await page.fill("#chat-input", "complete the milk task");
    await page.click("#chat-send");
    await page.locator("#messages li.assistant", { hasText: "as done" }).waitFor();
    await page.locator("#task-list li.done", { hasText: "buy milk" }).waitFor();
    expect(await taskRow("buy milk").locator("input[type=checkbox]").isChecked(), "checkbox not ticked");
    await page.screenshot({ path: screenshot, fullPage: true });
  });

  await check("a reload keeps the session, the task state and the conversation", async () => {
    await page.reload();
    await page.locator("#task-list li.done", { hasText: "buy milk" }).waitFor();
    await page.locator("#messages li.user", { hasText: "complete the milk task" }).waitFor();
    await page.locator("#messages li.assistant", { hasText: "as done" }).waitFor();
  });

  await check("the chatbot adds a task and the list shows it", async () => {
    await page.fill("#chat-input", "add call mum");
    await page.click("#chat-send");
    await page.locator("#messages li.assistant", { hasText: 'Added "call mum"' }).waitFor();
    await taskRow("call mum").waitFor();
  });

  await check("edit a task's title", async () => {
    await taskRow("call mum").locator("button.edit").click();
    const input = page.locator("#task-list input.edit-title");
    await input.fill("call mum tonight");
    await input.press("Enter");
    await taskRow("call mum tonight").waitFor();
  });

  await check("untick and tick a task with its checkbox", async () => {
    await taskRow("buy milk").locator("input[type=checkbox]").click();
    await page.locator("#task-list li:not(.done)", { hasText: "buy milk" }).waitFor();
    await taskRow("buy milk").locator("input[type=checkbox]").click();
    await page.locator("#task-list li.done", { hasText: "buy milk" }).waitFor();
  });

  await check("delete a task", async () => {
    await taskRow("call mum tonight").locator("button.delete").click();
    await taskRow("call mum tonight").waitFor({ state: "detached" });
    expect((await page.locator("#task-list li").count()) === 1, "expected exactly one task left");
  });

  await check("sign out, a wrong password is refused, the right one signs in", async () => {
    await page.click("#sign-out");
    await page.locator("#auth-form").waitFor();
    await page.fill("#auth-email", email);
    await page.fill("#auth-password", "wrong password");
    await page.click("#auth-submit");
    await page.locator("#auth-error", { hasText: "Wrong email or password" }).waitFor();
    await page.fill("#auth-password", password);
    await page.click("#auth-submit");
    await page.locator("#task-list li.done", { hasText: "buy milk" }).waitFor();
  });

  await check("no JavaScript errors on the page", async () => {
    expect(consoleErrors.length === 0, consoleErrors.join("; "));
  });

  await check("the page runs under the CSP with nothing refused (no inline script or style)", async () => {
    const resp = await page.goto(site);
    const policy = resp.headers()["content-security-policy"] || "";
    expect(policy.includes("script-src 'self'"), "no CSP on the page");
    expect(!/script-src[^;]*'unsafe-(inline|eval)'/.test(policy), `the CSP allows unsafe scripts: ${policy}`);
    await page.locator("#task-list li.done", { hasText: "buy milk" }).waitFor();
    expect(policyViolations.length === 0, policyViolations.join("; "));
    expect(violationEvents.length === 0, `securitypolicyviolation: ${violationEvents.join("; ")}`);
    // and the policy does bite: an inline script is refused
    await page.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.__inline = 1";
      document.body.append(s);
    });
    expect((await page.evaluate(() => window.__inline)) === undefined, "an inline script ran");
    // ... and the refusal is seen by the listener above, so its silence before meant something
    const deadline = Date.now() + 5000;
    while (violationEvents.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(violationEvents.some((v) => v.startsWith("script-src")), "the refused inline script raised no securitypolicyviolation");
    violationEvents.length = 0;
  });

  await check("the page's scripts and styles come from the site, served nosniff under the CSP", async () => {
    expect(foreign.length === 0, `requests elsewhere: ${foreign.join(", ")}`);
    expect(assets.length >= 2, `only ${assets.length} scripts and stylesheets loaded`);
    for (const resp of assets) {
      expect(resp.status() === 200, `${resp.url()}: ${resp.status()}`);
      expect(resp.headers()["x-content-type-options"] === "nosniff", `${resp.url()}: no nosniff`);
    }
  });
} finally {
  await browser.close();
  server?.close();
}

const failed = results.filter(([, err]) => err).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

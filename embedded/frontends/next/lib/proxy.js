// The /api/ proxy of the Next frontend, used by pages/api/[...path].js: every request goes to
// BACKEND_URL (read at each request, default http://backend:8000) with its path, method, body
// and headers unchanged, as the SPA's nginx does (frontend/nginx/nginx.conf.template there):
// X-Forwarded-For gets the client's address appended, X-Real-IP is the client's address,
// X-Forwarded-Proto the scheme the request reached this server with. The backend's status and
// headers come back as they are, the body streamed (no buffering), for up to 300 s.
import http from "node:http";
import https from "node:https";

const DEFAULT_BACKEND = "http://backend:8000";
const TIMEOUT_MS = 300_000; // nginx: proxy_read_timeout 300s
const MAX_BODY = 10 * 1024 * 1024; // nginx: client_max_body_size 10m
// hop-by-hop headers (RFC 9110 7.6.1): for one connection, never forwarded
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
  "proxy-authenticate", "proxy-authorization",
]);
// set below from the connection, whatever the client sent
const SET_HERE = new Set(["x-forwarded-for", "x-real-ip", "x-forwarded-proto"]);

/** BACKEND_URL as a URL, or an Error saying what is wrong with it (the rules of nginx-entrypoint.sh). */
export function backendUrl(raw = process.env.BACKEND_URL) {
  const value = (raw || DEFAULT_BACKEND).replace(/\/+$/, "");
  const wrong = (why) => new Error(`BACKEND_URL=${value}: ${why}`);
  if (!/^https?:\/\/[^/]/.test(value)) return wrong("must start with http:// or https://, e.g. http://backend:8000");
  let url;
  try {
    url = new URL(value);
  } catch {
    return wrong("not a URL");
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
    return wrong("give scheme://host[:port] without a path");
  }
  return url;
}

// the client's address as nginx's $remote_addr writes it (no ::ffff: prefix on IPv4)
function clientAddress(req) {
  const addr = req.socket?.remoteAddress || "";
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}

// Headers as the client sent them: from rawHeaders, because Next fills in x-forwarded-* in
// req.headers before the handler runs, which would count this hop twice.
function requestHeaders(req) {
  const listed = new Set();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === "connection") {
      for (const name of req.rawHeaders[i + 1].split(",")) listed.add(name.trim().toLowerCase());
    }
  }
  const headers = {};
  const forwardedFor = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const lower = name.toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (lower === "x-forwarded-for") forwardedFor.push(value);
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || SET_HERE.has(lower)) continue;
    if (lower in headers) headers[lower] = [].concat(headers[lower], value);
    else headers[lower] = value;
  }
  const client = clientAddress(req);
  headers["x-forwarded-for"] = [...forwardedFor, client].filter(Boolean).join(", ");
  headers["x-real-ip"] = client;
  headers["x-forwarded-proto"] = req.socket?.encrypted ? "https" : "http";
  return headers;
}

// The path and query as the browser sent them. Next re-encodes req.url's query before the handler
// runs (?q=%20 becomes ?q=+, ?a becomes ?a=); the URL as it reached the server is in its request
// metadata (initURL, next/dist/server/request-meta.js of the pinned Next), else req.url is used.
function originalPath(req) {
  const init = req[Symbol.for("NextInternalRequestMeta")]?.initURL;
  if (typeof init === "string") {
    const path = init.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "");
    if (path.startsWith("/api/")) return path;
  }
  return req.url;
}

function fail(res, status, message) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.end(`${message}\n`);
}

/** Sends req to the backend and its answer back to res. */
export function proxy(req, res) {
  const backend = backendUrl();
  if (backend instanceof Error) {
    console.error(`api proxy: ${backend.message}`);
    fail(res, 502, "api proxy: BACKEND_URL is not usable (see the frontend's log)");
    return;
  }
  const declared = Number(req.headers["content-length"] || 0);
  if (declared > MAX_BODY) {
    fail(res, 413, "api proxy: request body too large");
    req.resume();
    return;
  }
  const client = backend.protocol === "https:" ? https : http;
  const upstream = client.request({
    protocol: backend.protocol,
    hostname: backend.hostname.replace(/^\[|\]$/g, ""),
    port: backend.port || undefined,
    servername: backend.hostname, // nginx: proxy_ssl_server_name on
    method: req.method,
    path: originalPath(req), // unchanged: /api/...?query
    headers: requestHeaders(req),
    timeout: TIMEOUT_MS,
  });
  upstream.on("response", (up) => {
    const listed = new Set(
      String(up.headers.connection || "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean),
    );
    const headers = {};
    for (let i = 0; i < up.rawHeaders.length; i += 2) {
      const lower = up.rawHeaders[i].toLowerCase();
      if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
      (headers[lower] ||= []).push(up.rawHeaders[i + 1]);
    }
    res.statusCode = up.statusCode;
    if (up.statusMessage) res.statusMessage = up.statusMessage;
    for (const [name, values] of Object.entries(headers)) res.setHeader(name, values.length === 1 ? values[0] : values);
    // streamed replies reach the browser as they come, through Next's gzip too
    up.on("data", (chunk) => {
      if (!res.write(chunk)) {
        up.pause();
        res.once("drain", () => up.resume());
      }
      if (typeof res.flush === "function") res.flush();
    });
    up.on("end", () => res.end());
    up.on("error", () => res.destroy());
  });
  // set once this side has answered or the browser has gone: the backend request's end is no error
  let settled = false;
  upstream.on("timeout", () => upstream.destroy(Object.assign(new Error("backend timed out"), { code: "ETIMEDOUT" })));
  upstream.on("error", (err) => {
    if (settled) return;
    settled = true;
    const timedOut = err.code === "ETIMEDOUT";
    console.error(`api proxy: ${req.method} ${req.url} -> ${backend.origin}: ${err.message}`);
    fail(res, timedOut ? 504 : 502, `api proxy: backend ${timedOut ? "timed out" : "unreachable"}`);
  });
  // the browser went away: so does the backend request
  res.on("close", () => {
    if (!res.writableFinished) {
      settled = true;
      upstream.destroy();
    }
  });
  let received = 0;
  req.on("data", (chunk) => {
    if (settled) return;
    received += chunk.length;
    if (received > MAX_BODY) {
      settled = true;
      upstream.destroy();
      fail(res, 413, "api proxy: request body too large");
      return;
    }
    if (!upstream.write(chunk)) {
      req.pause();
      upstream.once("drain", () => req.resume());
    }
  });
  req.on("end", () => settled || upstream.end());
  req.on("error", () => {
    settled = true;
    upstream.destroy();
  });
}

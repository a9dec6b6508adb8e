// Next.js config of the Todo chatbot's frontend (todo-dev init --frontend next).
// output "standalone": the image runs .next/standalone/server.js (todo-dev's nextjs Dockerfile).
// Everything here is fixed at build time; what differs per cluster (BACKEND_URL) is read by
// pages/api/[...path].js at request time.
import { PHASE_DEVELOPMENT_SERVER } from "next/constants.js";

// The SPA's policy (frontend/nginx/security-headers.conf of the nginx variant): the pages router
// emits no inline script (its only inline <script> is __NEXT_DATA__, type application/json, never
// run) and no inline style, so scripts and styles come from this origin only.
const policy = {
  "default-src": "'self'",
  "script-src": "'self'",
  "style-src": "'self'",
  "img-src": "'self' data:",
  "connect-src": "'self'",
  "font-src": "'self'",
  "object-src": "'none'",
  "base-uri": "'none'",
  "form-action": "'self'",
  "frame-ancestors": "'none'",
};

function csp(dev) {
  const p = { ...policy };
  if (dev) {
    // next dev only: its hot reloading evaluates code, injects styles and talks over a websocket
    p["script-src"] += " 'unsafe-eval'";
    p["style-src"] += " 'unsafe-inline'";
    p["connect-src"] += " ws:";
  }
  return Object.entries(p).map(([k, v]) => `${k} ${v}`).join("; ");
}

export default function config(phase) {
  const dev = phase === PHASE_DEVELOPMENT_SERVER;
  return {
    output: "standalone",
    reactStrictMode: true,
    poweredByHeader: false, // as nginx's server_tokens off
    // /api/x/ reaches the backend as /api/x/, as through nginx (no 308 to /api/x)
    skipTrailingSlashRedirect: true,
    // no next/image here: no optimizer, so nothing writes .next/cache/images at run time
    images: { unoptimized: true },
    // sharp is only the image optimizer's: keep it out of the image
    outputFileTracingExcludes: { "*": ["node_modules/sharp/**", "node_modules/@img/**"] },
    eslint: { ignoreDuringBuilds: true },
    async headers() {
      return [
        {
          source: "/:path*",
          headers: [
            { key: "Content-Security-Policy", value: csp(dev) },
            { key: "X-Content-Type-Options", value: "nosniff" },
            { key: "X-Frame-Options", value: "DENY" },
            { key: "Referrer-Policy", value: "no-referrer" },
            { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
          ],
        },
        {
          // the pages: a new deploy reaches browsers at once. /_next/static/ keeps Next's own
          // "public, max-age=31536000, immutable" (content-hashed names), /api/ the backend's
          source: "/:path((?!_next/static/|api/).*)",
          headers: [{ key: "Cache-Control", value: "no-cache" }],
        },
        {
          // HSTS only when the proxy in front was reached over TLS, as nginx's map does
          source: "/:path*",
          has: [{ type: "header", key: "x-forwarded-proto", value: "https" }],
          headers: [{ key: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }],
        },
      ];
    },
  };
}

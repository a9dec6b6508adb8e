// GET /healthz: the Kubernetes probes' check, 200 without asking the backend (as the SPA's
// nginx answers it). A route handler: the Pages Router has no routes outside /api/.
export const dynamic = "force-dynamic";

export function GET() {
  return new Response("ok\n", {
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
  });
}

// Every /api/... request goes to the backend (lib/proxy.js), at request time: BACKEND_URL is
// read from the environment of the running server, never baked in at build time, so one image
// works in every cluster. Node runtime; Next neither parses nor limits the body here.
import { proxy } from "../../lib/proxy";

export const config = {
  api: { bodyParser: false, externalResolver: true, responseLimit: false },
};

export default function handler(req, res) {
  proxy(req, res);
}

// The test site: every page is rendered per request (force-dynamic), as the real site's are.
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

export default {
  poweredByHeader: false,
  reactStrictMode: false,
  outputFileTracingRoot: here,
  turbopack: { root: here },
};

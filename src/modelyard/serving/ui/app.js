// The modelyard console: a hash-routed page over the admin API (/api/...), nothing else.
// This entry wires the pages to their routes; each module's first lines say what it does.

import { auditPage } from "./audit.js";
import { drawPending } from "./charts.js";
import { driftPage } from "./drift.js";
import { endpointPage } from "./endpoint.js";
import { endpointsPage } from "./endpoints.js";
import { modelPage } from "./model.js";
import { modelsPage } from "./models.js";
import { start } from "./router.js";
import { askForKey, ensureSession } from "./session.js";

const ROUTES = [
  [/^\/models$/, modelsPage, "models"],
  [/^\/models\/([^/]+)$/, modelPage, "models"],
  [/^\/endpoints$/, endpointsPage, "endpoints"],
  [/^\/endpoints\/([^/]+)$/, endpointPage, "endpoints"],
  [/^\/endpoints\/([^/]+)\/drift$/, driftPage, "endpoints"],
  [/^\/audit$/, auditPage, "audit"],
];

start(ROUTES, { before: ensureSession, after: drawPending, failed: askForKey });

// The endpoints page: each endpoint as this server process serves it.

import { api } from "./api.js";
import { h, link, table } from "./dom.js";
import { enc, num, routesText } from "./format.js";

export async function endpointsPage() {
  const endpoints = await api("/api/endpoints");
  const rows = endpoints.map((e) => [
    link(`#/endpoints/${enc(e.name)}`, e.name),
    e.serving || "—",
    routesText(e.routes),
    num(e.queued_rows),
    e.load_error ? h("span", { class: "bad" }, e.load_error) : "—",
  ]);
  return [
    h("h1", {}, "Endpoints"),
    h("p", { class: "sub" }, "As this server process serves them."),
    table(null, ["Endpoint", "Serving", "Routes", "Queued rows", "Load error"], rows,
      { numeric: [3], empty: "No endpoints yet: `modelyard endpoint create`." }),
  ];
}

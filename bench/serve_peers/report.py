"""Medians per cell, the issue's targets, and the markdown tables (issue 20's format: per
peer and concurrency, req/s, rows/s, p50, p99 and non-2xx)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from serve_peers.models import MODEL_TITLES
from serve_peers.peers import MONITOR_OFF, PEERS, TWO_WORKERS, YARD, is_yard, protocol_of

METRICS = ("req_s", "rows_s", "p50_ms", "p99_ms", "cpu_ms_per_req", "rss_mib", "other_cpu_s")
FORMS = {"json": "JSON", "bin": "v2 binary tensors over HTTP", "grpc": "v2 gRPC"}


def summarise(windows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"runs": len(windows)}
    for metric in METRICS:
        values = [w[metric] for w in windows if w.get(metric) is not None]
        summary[metric] = statistics.median(values) if values else None
        summary[f"{metric}_min"] = min(values) if values else None
        summary[f"{metric}_max"] = max(values) if values else None
    summary["non_2xx"] = sum(w["non_2xx"] for w in windows)
    summary["socket_errors"] = sum(w["socket_errors"] for w in windows)
    return summary


def cells_of(windows: list[dict[str, Any]]) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for w in windows:
        grouped.setdefault(f"{w['model']}|{w['rows']}|{w['c']}|{w['peer']}", []).append(w)
    return {key: summarise(grouped[key]) for key in sorted(grouped)}


def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def issue_table(
    cells: dict[str, Any], model: str, rows: int, form: str, concurrency: list[int]
) -> str:
    """One row per peer; per concurrency: req/s (range over runs), rows/s, p50, p99, non-2xx
    (socket errors after a slash when there were any)."""
    head = "| peer |"
    rule = "|---|"
    for c in concurrency:
        head += f" c={c} req/s | rows/s | p50 ms | p99 ms | non-2xx |"
        rule += "---:|---:|---:|---:|---:|"
    lines = [head, rule]
    for peer in PEERS:
        if protocol_of(peer) != form:
            continue
        found = [cells.get(f"{model}|{rows}|{c}|{peer}") for c in concurrency]
        if not any(found):
            continue
        line = f"| {peer} |"
        for s in found:
            if s is None:
                line += " | | | | |"
                continue
            spread = f" ({fmt(s['req_s_min'])}–{fmt(s['req_s_max'])})" if s["runs"] > 1 else ""
            errors = f" / {s['socket_errors']}" if s["socket_errors"] else ""
            line += (
                f" {fmt(s['req_s'])}{spread} | {fmt(s['rows_s'])} | {fmt(s['p50_ms'], 2)} | "
                f"{fmt(s['p99_ms'], 1)} | {s['non_2xx']}{errors} |"
            )
        lines.append(line)
    return "\n".join(lines)


def detail_table(cells: dict[str, Any], model: str) -> str:
    lines = [
        "| rows | c | peer | CPU ms/req | RSS MiB | other CPU s | runs |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for key, s in cells.items():
        name, rows, c, peer = key.split("|")
        if name == model:
            lines.append(
                f"| {rows} | {c} | {peer} | {fmt(s['cpu_ms_per_req'], 2)} | "
                f"{fmt(s['rss_mib'])} | {fmt(s['other_cpu_s'], 1)} | {s['runs']} |"
            )
    return "\n".join(lines)


def _ms(value: float | None) -> float:
    """A latency for comparison: none measured (nothing answered) is worse than any."""
    return float("inf") if value is None else value


def _verdict(target: str, met: bool, detail: str) -> dict[str, Any]:
    return {"target": target, "met": met, "detail": detail}


def _shares(runs: list[dict[str, Any]]) -> str:
    """How each run's share of its own ceiling went into the verdict."""
    if not runs:
        return "no run had both parts"
    quiet = [r for r in runs if r["quiet"]]
    words = ", ".join(
        f"run {r['run'] + 1} {r['share']:.0%}{'' if r['quiet'] else ' (busy, left out)'}"
        for r in runs
    )
    how = "the median of the quiet runs' own shares" if quiet else "no quiet run: all runs"
    return f"{how}: {words}"


def targets(cells: dict[str, Any], ceiling: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's targets, judged on this run's medians (the ceiling's share on each run's
    own, ceiling.run_shares)."""
    verdicts = []
    by_cell: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    for key, s in cells.items():
        model, rows, c, peer = key.split("|")
        by_cell.setdefault((model, rows, c, protocol_of(peer)), {})[peer] = s
    for (model, rows, c, form), found in sorted(by_cell.items()):
        mine = found.get(YARD if form == "json" else f"{YARD}-{form}")
        others = {p: s for p, s in found.items() if not is_yard(p) and s["req_s"]}
        if mine is None or not others:
            continue
        best_peer, best = max(others.items(), key=lambda item: item[1]["req_s"])
        ratio = mine["req_s"] / best["req_s"]
        lower_p99 = _ms(mine["p99_ms"]) < _ms(best["p99_ms"])
        met = ratio >= 1.2 and lower_p99 and mine["non_2xx"] == 0 and mine["socket_errors"] == 0
        detail = (
            f"{fmt(mine['req_s'])} vs {best_peer} {fmt(best['req_s'])} req/s = {ratio:.2f}x; "
            f"p99 {fmt(mine['p99_ms'], 1)} vs {fmt(best['p99_ms'], 1)} ms; non-2xx "
            f"{mine['non_2xx']}, socket errors {mine['socket_errors']}"
        )
        if c == "1":
            lowest = min(others.items(), key=lambda item: _ms(item[1]["p50_ms"]))
            met = met and _ms(mine["p50_ms"]) <= _ms(lowest[1]["p50_ms"])
            detail += (
                f"; p50 {fmt(mine['p50_ms'], 2)} vs {lowest[0]} {fmt(lowest[1]['p50_ms'], 2)} ms"
            )
        floor = ceiling.get(model, {}).get("grpc_floor_req_s")
        if form == "grpc" and (rows, c) == ("1", "64") and floor:
            detail += f"; a trivial server on the same gRPC front answers {floor:,.0f} req/s here"
        where = f"{model}, {rows}-row, c={c}, {FORMS[form]}"
        verdicts.append(_verdict(f"{where}: >= 1.2x the best peer, lower p99", met, detail))
    for model, figures in ceiling.items():
        share = figures.get("share")
        if share is not None:
            verdicts.append(
                _verdict(
                    f"{model}, 1-row, c=64: modelyard-1w >= 50% of the combined ceiling",
                    share >= 0.5,
                    f"{figures['modelyard_req_s']:,.0f} of {figures['combined_req_s']:,.0f} "
                    f"req/s by the medians (trivial ASGI app {figures['http_req_s']:,.0f} req/s; "
                    f"predict_proba {figures['model_rows_s']:,.0f} rows/s on 64-row batches); "
                    f"judged on {share:.0%}, {_shares(figures.get('run_shares') or [])}",
                )
            )
    for model in sorted({key.split("|")[0] for key in cells}):
        one = cells.get(f"{model}|1|64|{YARD}")
        two = cells.get(f"{model}|1|64|{TWO_WORKERS}")
        if one and two and one["req_s"]:
            scale = two["req_s"] / one["req_s"]
            trivial = ceiling.get(model, {}).get("http_2w_scale")
            bound = (
                f"; the trivial ASGI app scales {trivial:.2f}x from one worker to two here"
                if trivial
                else ""
            )
            verdicts.append(
                _verdict(
                    f"{model}, 1-row, c=64: two workers >= 1.7x one worker",
                    scale >= 1.7,
                    f"{two['req_s']:,.0f} vs {one['req_s']:,.0f} req/s = {scale:.2f}x{bound}",
                )
            )
        off = cells.get(f"{model}|1|64|{MONITOR_OFF}")
        if one and off and off["req_s"]:
            kept = one["req_s"] / off["req_s"]
            verdicts.append(
                _verdict(
                    f"{model}, 1-row, c=64: monitoring on keeps >= 90% of monitoring off",
                    kept >= 0.9,
                    f"{one['req_s']:,.0f} vs {off['req_s']:,.0f} req/s = {kept:.0%}",
                )
            )
    return verdicts


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "## Serving",
        "",
        "Written by `bench/serve.py` (see the `serve` section of `bench/README.md` for method",
        f"and caveats); every window is in `bench/results/{report['json_name']}`.",
        "",
        f"- date: {report['date']}; mode: {report['mode']}",
        f"- machine: {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB, {m['platform']}, "
        f"Python {m['python']}",
        f"- command: `{report['command']}`",
        f"- runs: {report['runs']} per cell, medians (req/s range over runs in brackets), "
        "peers interleaved and rotated per run",
        f"- window: {report['seconds']:g} s per cell after a {report['warmup']:g} s warm-up; "
        "wrk -t1 (gRPC: h2load, one connection, C streams, serve_peers/grpc_load.py), "
        "one fixed body per cell",
        "- peers: " + "; ".join(f"{k}: {v}" for k, v in report["notes"].items()),
        "- pins: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in report["pins"].items()),
    ]
    busy = [w for w in report["windows"] if (w.get("other_cpu_s") or 0) > 1.0]
    if busy:
        lines += [
            "",
            f"**Warning: {len(busy)} of {len(report['windows'])} windows ran while other "
            "processes used more than 1 CPU-second (column 'other CPU s'); rerun on a quiet "
            "machine before quoting these figures.**",
        ]
    lines += ["", "### Targets (issue 20), one modelyard worker, monitoring on, same run", ""]
    lines += [
        f"- **{'MET' if v['met'] else 'NOT MET'}** — {v['target']}: {v['detail']}"
        for v in report["targets"]
    ]
    if report["problems"]:
        lines += ["", "Peers not measured or failed:", ""]
        lines += [f"- {peer}: {why}" for peer, why in report["problems"].items()]
    for model in report["models"]:
        for rows in report["rows"]:
            for form, form_title in FORMS.items():
                levels = sorted({w["c"] for w in report["windows"] if w["rows"] == rows})
                table = issue_table(report["cells"], model, rows, form, levels)
                if table.count("\n") < 2:
                    continue
                title = "one-row" if rows == 1 else f"{rows}-row"
                lines += ["", f"### {MODEL_TITLES[model]}, {title} requests, {form_title}", ""]
                lines.append(table)
        lines += ["", f"### {MODEL_TITLES[model]}: server CPU, memory, contamination", ""]
        lines.append(detail_table(report["cells"], model))
    return "\n".join(lines)


def replace_section(path: Path, name: str, text: str) -> None:
    """Rewrite this bench's part of a shared results file, keeping the other benches' parts."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end in old:
        before, rest = old.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        new = before + block + ("\n" + after if after else "")
    else:
        new = block + ("\n" + old if old else "")
    path.write_text(new, encoding="utf-8")

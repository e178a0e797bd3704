// Time charts. A version's timeline holds a point per bucket that recorded something; a
// bucket with no window (no traffic, or no server recording) has no point. Drawn as is,
// plotly would join the points either side of it with one straight line, which reads as a
// steady trend nobody measured: here a null stands in every such stretch, so the line
// breaks there (connectgaps stays off), and the x axis spans the whole period asked for.

export function utc(time) {  // plotly reads "YYYY-MM-DD HH:MM:SS" as is: times stay in UTC
  return new Date(time).toISOString().slice(0, 19).replace("T", " ");
}

// [{ at, point }] in time order, with { at, point: null } one step after each point that
// the next one does not follow within a step (a gap).
export function slots(version) {
  const step = (version.timeline_seconds || 60) * 1000;
  const out = [];
  let previous = null;
  for (const point of version.timeline || []) {
    const at = Date.parse(point.bucket_start);
    if (previous !== null && at - previous > 1.5 * step) out.push({ at: utc(previous + step), point: null });
    out.push({ at: utc(at), point });
    previous = at;
  }
  return out;
}

// A line over a version's timeline: pick(point, version) gives y (null: nothing measured).
export function timeTrace(version, pick, options = {}) {
  const all = slots(version);
  return {
    type: "scatter", mode: "lines+markers", connectgaps: false, marker: { size: 4 },
    x: all.map((s) => s.at),
    y: all.map((s) => (s.point === null ? null : pick(s.point, version) ?? null)),
    ...options,
  };
}

// The x axis of a time chart: the whole period, in UTC.
export function periodAxis(monitor) {
  return { type: "date", range: [utc(monitor.since), utc(monitor.until)] };
}

// Live CPU and memory of a started sandbox, as two small SVG line charts over the last two minutes at most.
// Reads GET /toolbox/{id}/system/metrics every 2 s while the page is open and in view; the server does
// not count these reads as activity, so an open page never keeps a sandbox from auto-stopping.

import { api, enc } from "../api.js";
import { fill, h } from "../ui.js";
import { sizeText } from "./files.js";

export const METRICS_MS = 2000;
const WINDOW_MS = 120_000; // the longest span shown
const MIN_SPAN_MS = 20_000; // the shortest, so the first samples already draw a line
const TOPS = [5, 10, 25, 50, 100]; // the y axis ends at the first of these above the peak
const WIDTH = 300;
const HEIGHT = 80;
const SVG = "http://www.w3.org/2000/svg"; // a namespace name, not an address

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** One chart of a percentage over time: a line, the area under it and a mid grid line. */
function chart(key, title) {
  const area = svg("polygon", { class: "chart-area" });
  const line = svg("polyline", { class: "chart-line" });
  const plot = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: "none",
    role: "img",
    class: "chart",
    id: `chart-${key}`,
    "aria-label": `${title}: no data yet`,
  });
  plot.append(
    svg("line", { class: "chart-grid", x1: 0, x2: WIDTH, y1: HEIGHT / 2, y2: HEIGHT / 2 }),
    area,
    line,
  );
  const value = h("span", { class: "chart-value", id: `chart-${key}-value` }, "—");
  const detail = h("span", { class: "hint", id: `chart-${key}-detail` });
  const since = h("span", {}, "");
  const top = h("span", { id: `chart-${key}-top` }, "");
  const element = h(
    "figure",
    { class: "chart-box", dataset: { samples: "0" } },
    h("figcaption", {}, h("span", { class: "chart-title" }, title), value),
    plot,
    h("div", { class: "chart-scale", "aria-hidden": "true" }, since, top, h("span", {}, "now")),
    detail,
  );

  function draw(points, now, text, more) {
    const peak = points.reduce((max, [, pct]) => Math.max(max, pct), 0);
    const ceiling = TOPS.find((limit) => peak <= limit) || 100;
    const span = Math.min(Math.max(points.length ? now - points[0][0] : 0, MIN_SPAN_MS), WINDOW_MS);
    const xy = points.map(([time, pct]) => {
      const x = WIDTH - ((now - time) / span) * WIDTH;
      const y = HEIGHT - (Math.min(Math.max(pct, 0), ceiling) / ceiling) * (HEIGHT - 2) - 1;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    since.textContent = span >= 60_000 ? `${Math.round(span / 60_000)} min ago` : `${Math.round(span / 1000)} s ago`;
    top.textContent = `0–${ceiling} %`;
    line.setAttribute("points", xy.join(" "));
    area.setAttribute(
      "points",
      xy.length ? `${xy[0].split(",")[0]},${HEIGHT} ${xy.join(" ")} ${xy[xy.length - 1].split(",")[0]},${HEIGHT}` : "",
    );
    const last = points.length ? points[points.length - 1][1] : null;
    element.dataset.samples = String(points.length);
    if (last !== null) element.dataset.last = String(last);
    value.textContent = text;
    detail.textContent = more;
    plot.setAttribute(
      "aria-label",
      last === null ? `${title}: no data yet` : `${title} over the last ${since.textContent.replace(" ago", "")}: now ${last.toFixed(1)} %, peak ${peak.toFixed(1)} %`,
    );
  }

  return { element, draw };
}

/** The usage panel of sandbox `id`: `setState(state)` starts and stops the polling, `dispose()` ends it. */
export function metricsPanel(id) {
  const cpu = chart("cpu", "CPU");
  const memory = chart("memory", "Memory");
  const note = h("p", { class: "hint", id: "metrics-note" });
  const errorSlot = h("div", { id: "metrics-error" });
  const disk = h("p", { class: "hint", id: "metrics-disk" });
  const element = h(
    "section",
    { class: "panel", "aria-labelledby": "metrics-title", id: "metrics-panel" },
    h("h2", { id: "metrics-title" }, "Usage"),
    note,
    errorSlot,
    h("div", { class: "charts" }, cpu.element, memory.element),
    disk,
  );
  let samples = []; // [arrival time in ms, snapshot]
  let timer = null;
  let running = false;
  let disposed = false;

  function redraw() {
    const now = Date.now();
    samples = samples.filter(([time]) => now - time <= WINDOW_MS);
    const last = samples.length ? samples[samples.length - 1][1] : null;
    const memPct = (m) => (m.memTotal ? (100 * m.memUsed) / m.memTotal : 0);
    cpu.draw(
      samples.map(([time, m]) => [time, Number(m.cpuUsedPct) || 0]),
      now,
      last ? `${(Number(last.cpuUsedPct) || 0).toFixed(1)} %` : "—",
      last ? `of ${last.cpuCount} CPU${last.cpuCount === 1 ? "" : "s"}` : "",
    );
    memory.draw(
      samples.map(([time, m]) => [time, memPct(m)]),
      now,
      last ? `${memPct(last).toFixed(1)} %` : "—",
      last ? `${sizeText(last.memUsed)} of ${sizeText(last.memTotal)}` : "",
    );
    disk.textContent = last ? `Disk: ${sizeText(last.diskUsed)} used of ${sizeText(last.diskTotal)}, ${sizeText(last.diskFree)} free.` : "";
  }

  async function sample() {
    try {
      const snapshot = await api("GET", `/toolbox/${enc(id)}/system/metrics`);
      if (!running) return;
      samples.push([Date.now(), snapshot]);
      fill(errorSlot);
      redraw();
    } catch (error) {
      if (running && error.status !== 401) fill(errorSlot, h("p", { class: "alert" }, `Could not read the usage: ${error.message}`));
    }
  }

  function schedule() {
    window.clearTimeout(timer);
    if (!running || disposed) return;
    timer = window.setTimeout(async () => {
      if (!document.hidden) await sample();
      schedule();
    }, METRICS_MS);
  }

  return {
    element,
    /** Poll while `state` is started; otherwise say why the charts stand still. */
    setState(state) {
      if (disposed) return;
      const started = state === "started";
      if (!started) note.textContent = `The sandbox is ${state}: the charts continue when it is started.`;
      if (started === running) return;
      running = started;
      window.clearTimeout(timer);
      if (started) {
        samples = [];
        note.textContent = "Live, every 2 seconds while this page is open. Reading it does not count as activity.";
        sample().then(schedule);
      }
    },
    dispose() {
      disposed = true;
      running = false;
      window.clearTimeout(timer);
    },
  };
}

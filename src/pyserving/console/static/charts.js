// Small hand-written SVG line charts for the console's per-model metrics.
import { el, svg, formatNumber } from "./common.js";

const WIDTH = 160;
const HEIGHT = 40;

// One chart: `series` is [{values: [[t, v|null], ...], className}], drawn over the last
// `windowSeconds` ending at `now` (seconds), or since the first point when the server has not
// been up that long. The y scale starts at 0 and fits the largest value.
function chart(series, now, windowSeconds, title) {
  let first = now;
  for (const s of series) if (s.values.length) first = Math.min(first, s.values[0][0]);
  windowSeconds = Math.max(Math.min(windowSeconds, now - first), 10);
  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    class: "chart",
    role: "img",
    "aria-label": title,
  });
  root.append(svg("line", { x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5, class: "axis" }));
  let max = 0;
  for (const s of series) for (const [, v] of s.values) if (v !== null && v > max) max = v;
  if (max <= 0) max = 1;
  const start = now - windowSeconds;
  for (const s of series) {
    let path = "";
    let pen = "M";
    for (const [t, v] of s.values) {
      if (v === null) {
        pen = "M";
        continue;
      }
      const x = Math.max(0, ((t - start) / windowSeconds) * WIDTH);
      const y = HEIGHT - 2 - (v / max) * (HEIGHT - 6);
      path += `${pen}${x.toFixed(1)},${y.toFixed(1)} `;
      pen = "L";
    }
    if (path) root.append(svg("path", { d: path, class: `line ${s.className}` }));
  }
  return { root, max };
}

function last(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i][1] !== null) return values[i][1];
  return null;
}

// The four metric tiles of one model: request rate, error rate, p50/p99 latency, batch size.
export function metricTiles(points, now, windowSeconds) {
  const pick = (key, scale = 1) =>
    points.map((p) => [p.t, p[key] === null || p[key] === undefined ? null : p[key] * scale]);
  const tiles = [
    { label: "requests/s", series: [{ values: pick("rps"), className: "primary" }], digits: 1 },
    { label: "errors %", series: [{ values: pick("error_rate", 100), className: "danger" }], digits: 1 },
    {
      label: "p50 / p99 ms",
      series: [
        { values: pick("p50_ms"), className: "primary" },
        { values: pick("p99_ms"), className: "secondary" },
      ],
      digits: 2,
    },
    { label: "batch size", series: [{ values: pick("batch_size"), className: "primary" }], digits: 1 },
  ];
  return el(
    "div",
    { class: "tiles" },
    tiles.map((tile) => {
      const values = tile.series.map((s) => formatNumber(last(s.values), tile.digits)).join(" / ");
      const { root } = chart(tile.series, now, windowSeconds, `${tile.label} over the last minutes`);
      return el(
        "figure",
        { class: "tile" },
        el("figcaption", {}, el("span", { class: "tile-label" }, tile.label), el("strong", {}, values)),
        root,
      );
    }),
  );
}

// The timeline chart, drawn with uPlot (vendored, 51 KB): one line per actor with its 90% band,
// and a triangle at every detected shift, filled and outlined by its grade (see grades.js).
// Clicking a point or a triangle opens its evidence.

import { gradeOf, gradeText, marker } from "./grades.js";

const PALETTE = [
  "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
  "#7F3C8D", "#3969AC", "#80BA5A", "#E73F74", "#11A579", "#A5AA99",
];
const HIT_RADIUS = 12; // CSS pixels around a point or triangle that count as on it
const TRIANGLE = 8;
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';

export function colorFor(index) {
  return PALETTE[index % PALETTE.length];
}

function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

const seconds = (iso) => Date.parse(iso) / 1000;

function fmt(value) {
  const fixed = Number(value).toFixed(2);
  return value > 0 ? `+${fixed}` : fixed;
}

// Every bucket of every series, in time order (the API gives each series the same grid; this
// does not depend on it).
function grid(series) {
  const buckets = new Set();
  for (const s of series) for (const p of s.points) buckets.add(p.bucket);
  return [...buckets].sort((a, b) => seconds(a) - seconds(b));
}

function build(series, smooth) {
  const buckets = grid(series);
  const xs = buckets.map(seconds);
  const data = [xs];
  const layers = []; // per actor: indexes of its uPlot series
  for (const s of series) {
    const at = new Map(s.points.map((p) => [p.bucket, p]));
    const column = (pick) => buckets.map((b) => (at.get(b) && at.get(b).count ? pick(at.get(b)) : null));
    const layer = { actor: s.actor, name: s.name, points: buckets.map((b) => at.get(b) || null) };
    layer.high = data.push(column((p) => p.high)) - 1;
    layer.low = data.push(column((p) => p.low)) - 1;
    layer.values = data.push(column((p) => p.score)) - 1;
    if (smooth) layer.smoothed = data.push(buckets.map((b) => (at.get(b) ? at.get(b).smoothed : null))) - 1;
    layers.push(layer);
  }
  return { buckets, data, layers };
}

function seriesOptions(layers, colors, smooth) {
  const options = [{}];
  const bands = [];
  const hidden = { stroke: "transparent", width: 1, spanGaps: true, points: { show: false } };
  for (const layer of layers) {
    const color = colors.get(layer.actor) || "#333";
    const dots = { show: true, size: 7, width: 1, stroke: color, fill: color };
    options[layer.high] = { ...hidden, label: `${layer.name} high` };
    options[layer.low] = { ...hidden, label: `${layer.name} low` };
    if (smooth) {
      options[layer.values] = { label: layer.name, stroke: color, paths: () => null, points: dots };
      options[layer.smoothed] = {
        label: `${layer.name} (smoothed)`, stroke: color, width: 2.5, spanGaps: true,
        paths: window.uPlot.paths.spline(), points: { show: false },
      };
    } else {
      options[layer.values] = { label: layer.name, stroke: color, width: 2, spanGaps: true, points: dots };
    }
    bands.push({ series: [layer.high, layer.low], fill: rgba(color, 0.13) });
  }
  return { series: options, bands };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "1 Mar 2025", "16 Mar", ...: day and month in UTC, the year where it changes
function xLabels(u, splits) {
  return splits.map((ts, i) => {
    const day = new Date(ts * 1000);
    const year = day.getUTCFullYear();
    const newYear = i === 0 || new Date(splits[i - 1] * 1000).getUTCFullYear() !== year;
    return `${day.getUTCDate()} ${MONTHS[day.getUTCMonth()]}${newYear ? ` ${year}` : ""}`;
  });
}

function yLabels(u, splits) {
  return splits.map((v) => (v === 1 ? "+1 support" : v === -1 ? "−1 oppose" : v > 0 ? `+${v}` : v < 0 ? `−${-v}` : "0"));
}

function drawShifts(u, shifts, colors) {
  const { ctx } = u;
  const ratio = window.devicePixelRatio || 1;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  // the zero line: where support turns into opposition
  const zero = Math.round(u.valToPos(0, "y", true));
  ctx.strokeStyle = "#9aa4b1";
  ctx.lineWidth = ratio;
  ctx.beginPath();
  ctx.moveTo(left, zero);
  ctx.lineTo(left + width, zero);
  ctx.stroke();
  for (const shift of shifts) {
    const x = Math.round(u.valToPos(seconds(shift.at), "x", true));
    if (x < left || x > left + width) continue;
    const y = u.valToPos(shift.after, "y", true);
    const color = colors.get(shift.actor) || "#333";
    ctx.strokeStyle = color;
    ctx.setLineDash([3 * ratio, 3 * ratio]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    const size = TRIANGLE * ratio;
    const pointing = shift.direction === "toward_support" ? -1 : 1; // up for support, down for oppose
    const style = marker(gradeOf(shift));
    ctx.beginPath();
    ctx.moveTo(x - size, y - pointing * size * 0.8);
    ctx.lineTo(x + size, y - pointing * size * 0.8);
    ctx.lineTo(x, y + pointing * size * 0.8);
    ctx.closePath();
    if (style.fill === "solid") {
      // stated: solid in the actor's colour, a white edge to stand off the line
      ctx.fillStyle = color;
      ctx.fill();
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1.5 * ratio;
      ctx.stroke();
    } else {
      // statistical: white inside, a thick edge; observed / office change: hollow, dashed / dotted edge
      if (style.fill === "white") {
        ctx.fillStyle = "#fff";
        ctx.fill();
      }
      ctx.strokeStyle = color;
      ctx.lineWidth = 2.5 * ratio;
      ctx.setLineDash(style.dash.map((d) => d * ratio));
      ctx.lineCap = style.cap;
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineCap = "butt";
    }
  }
  ctx.restore();
}

// What is under the pointer (CSS pixels inside the plot area): a shift first, then the nearest point.
function hitTest(u, chart, left, top) {
  let best = null;
  const consider = (distance, target) => {
    if (distance <= HIT_RADIUS && (!best || distance < best.distance)) best = { distance, ...target };
  };
  for (const shift of chart.shifts) {
    const x = u.valToPos(seconds(shift.at), "x");
    const y = u.valToPos(shift.after, "y");
    consider(Math.hypot(x - left, y - top) - 4, { kind: "shift", shift });
  }
  if (best) return best;
  const xs = u.data[0];
  for (const layer of chart.layers) {
    const values = u.data[layer.values];
    for (let i = 0; i < xs.length; i += 1) {
      if (values[i] === null || values[i] === undefined) continue;
      const x = u.valToPos(xs[i], "x");
      const y = u.valToPos(values[i], "y");
      consider(Math.hypot(x - left, y - top), { kind: "point", layer, point: layer.points[i] });
    }
  }
  return best;
}

function describe(target, intervalLabel) {
  if (target.kind === "shift") {
    const s = target.shift;
    const way = s.direction === "toward_support" ? "toward support" : "toward oppose";
    return `${s.actor_name}: shift ${way} on ${s.at.slice(0, 10)} (${fmt(s.before)} → ${fmt(s.after)}), ${gradeText(gradeOf(s))}`;
  }
  const p = target.point;
  return `${target.layer.name}, ${intervalLabel(p.bucket)}: ${fmt(p.score)} (${p.count} observation${p.count === 1 ? "" : "s"})`;
}

function interactions(container, chart, onPick) {
  const u = chart.u;
  const tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.setAttribute("aria-hidden", "true");
  tip.hidden = true;
  u.over.append(tip);
  const targetAt = (event) => {
    const box = u.over.getBoundingClientRect();
    return hitTest(u, chart, event.clientX - box.left, event.clientY - box.top);
  };
  u.over.addEventListener("mousemove", (event) => {
    const target = targetAt(event);
    u.over.style.cursor = target ? "pointer" : "";
    tip.hidden = !target;
    if (!target) return;
    tip.textContent = describe(target, chart.intervalLabel);
    const box = u.over.getBoundingClientRect();
    const x = event.clientX - box.left;
    tip.style.left = `${Math.min(x + 12, Math.max(0, box.width - tip.offsetWidth - 4))}px`;
    tip.style.top = `${Math.max(0, event.clientY - box.top - tip.offsetHeight - 10)}px`;
  });
  u.over.addEventListener("mouseleave", () => {
    tip.hidden = true;
  });
  u.over.addEventListener("click", (event) => {
    const target = targetAt(event);
    if (!target) return;
    if (target.kind === "shift") onPick("shift", target.shift.id);
    else onPick("point", target.layer.actor, target.point.bucket);
  });
}

let current = null;

// Draws the chart afresh; `onPick` gets ("point", actor, bucket) or ("shift", id).
export function drawChart(container, { series, shifts, colors, smooth, intervalLabel }, onPick) {
  if (current) {
    current.observer.disconnect();
    current.u.destroy();
    current = null;
  }
  container.replaceChildren();
  const { data, layers } = build(series, smooth);
  const { series: seriesOpts, bands } = seriesOptions(layers, colors, smooth);
  const chart = { layers, shifts, intervalLabel };
  const size = () => ({ width: Math.max(200, container.clientWidth), height: Math.max(200, container.clientHeight) });
  const options = {
    ...size(),
    series: seriesOpts,
    bands,
    legend: { show: false }, // the page lists the actors, with their colours, as text
    cursor: { points: { show: false }, drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: [-1.1, 1.1] } },
    // ticks at UTC midnights, like the buckets, whatever the viewer's time zone
    tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    axes: [
      {
        font: AXIS_FONT, stroke: "#4f5b67", grid: { stroke: "#eceff3" }, ticks: { stroke: "#d5dbe2" },
        values: xLabels, space: 70,
      },
      {
        font: AXIS_FONT, stroke: "#4f5b67", size: 82, grid: { stroke: "#eceff3" }, ticks: { stroke: "#d5dbe2" },
        splits: () => [-1, -0.5, 0, 0.5, 1], values: yLabels,
      },
    ],
    hooks: { draw: [(u) => drawShifts(u, shifts, colors)] },
  };
  chart.u = new window.uPlot(options, data, container);
  interactions(container, chart, onPick);
  chart.observer = new ResizeObserver(() => {
    const next = size();
    if (next.width !== chart.u.width || next.height !== chart.u.height) chart.u.setSize(next);
  });
  chart.observer.observe(container);
  container.uplot = chart.u; // for the browser tests and the curious
  current = chart;
  if (!container.dataset.ready) performance.mark("stanceline:chart-ready");
  container.dataset.ready = "true";
  container.dataset.renders = String(Number(container.dataset.renders || 0) + 1);
}

export function resizeChart() {
  // a ResizeObserver follows the container; nothing to do by hand
}

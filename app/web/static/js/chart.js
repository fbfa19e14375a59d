// The timeline chart, drawn with uPlot (vendored, 51 KB): one line per actor with its 90% band,
// and a triangle at every detected shift, filled and outlined by its grade (see grades.js).
// A bucket without observations breaks the line: nothing is drawn across it. Each line has its
// own dash and point marker, so two lines with the same values stay apart; the band is drawn for
// the actor hovered or picked (or for every line when there are two at most).
// Clicking a point or a triangle opens its evidence.

import { gradeOf, gradeText, marker } from "./grades.js";

const PALETTE = [
  "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
  "#7F3C8D", "#3969AC", "#80BA5A", "#E73F74", "#11A579", "#A5AA99",
];
// the n-th line shown: its dash (CSS pixels) and its point marker (diameter; hollow = a ring)
const STYLES = [
  { dash: [], size: 7, hollow: false },
  { dash: [10, 5], size: 12, hollow: true },
  { dash: [2, 4], size: 4, hollow: false },
  { dash: [14, 4, 3, 4], size: 16, hollow: true },
  { dash: [6, 3], size: 9, hollow: true },
  { dash: [3, 3, 10, 3], size: 5, hollow: false },
];
const ALL_BANDS = 2; // up to this many lines, every band is drawn
const HIT_RADIUS = 12; // CSS pixels around a point or triangle that count as on it
const TRIANGLE = 8;
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
const NO_FILL = "rgba(0, 0, 0, 0)";

export function colorFor(index) {
  return PALETTE[index % PALETTE.length];
}

export function styleFor(index) {
  return STYLES[index % STYLES.length];
}

const SVG = "http://www.w3.org/2000/svg";

function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// The n-th line's sample for the legend: its colour, dash and point marker (decorative).
export function lineGlyph(color, index) {
  const { dash, size, hollow } = styleFor(index);
  const svg = svgNode("svg", { viewBox: "0 0 34 14", width: 34, height: 14, "aria-hidden": "true", class: "line-glyph" });
  const line = svgNode("line", { x1: 1, y1: 7, x2: 33, y2: 7, stroke: color, "stroke-width": 2 });
  if (dash.length) line.setAttribute("stroke-dasharray", dash.join(" "));
  const radius = Math.min(6, size / 2);
  svg.append(
    line,
    svgNode("circle", {
      cx: 17, cy: 7, r: hollow ? radius - 1 : radius,
      fill: hollow ? "#fff" : color, stroke: color, "stroke-width": hollow ? 2 : 1,
    }),
  );
  return svg;
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

// A bucket without observations is null in every column (uPlot breaks a line at a null), the
// smoothed one included: an average carried across empty weeks is not a level anyone observed.
function build(series, smooth) {
  const buckets = grid(series);
  const xs = buckets.map(seconds);
  const data = [xs];
  const layers = []; // per actor: indexes of its uPlot series
  series.forEach((s, index) => {
    const at = new Map(s.points.map((p) => [p.bucket, p]));
    const observed = (b) => at.get(b) && at.get(b).count > 0;
    const column = (pick) => buckets.map((b) => (observed(b) ? pick(at.get(b)) : null));
    const layer = { actor: s.actor, name: s.name, style: styleFor(index) };
    layer.points = buckets.map((b) => at.get(b) || null);
    layer.high = data.push(column((p) => p.high)) - 1;
    layer.low = data.push(column((p) => p.low)) - 1;
    layer.values = data.push(column((p) => p.score)) - 1;
    if (smooth) layer.smoothed = data.push(column((p) => p.smoothed)) - 1;
    layers.push(layer);
  });
  return { buckets, data, layers };
}

// Whether an actor's band is drawn: every band with few lines, else the emphasised or picked one's.
function bandShown(chart, actor) {
  return chart.layers.length <= ALL_BANDS || actor === chart.emphasis || actor === chart.picked;
}

// Another line is emphasised: this one steps back.
function faded(chart, actor) {
  return Boolean(chart.emphasis) && chart.emphasis !== actor;
}

function seriesOptions(chart, colors, smooth) {
  const options = [{}];
  const bands = [];
  const hidden = { stroke: "transparent", width: 1, spanGaps: false, points: { show: false } };
  for (const layer of chart.layers) {
    const color = colors.get(layer.actor) || "#333";
    const { dash, size, hollow } = layer.style;
    const stroke = () => (faded(chart, layer.actor) ? rgba(color, 0.22) : color);
    const dots = {
      show: true,
      size,
      width: hollow ? 2 : 1,
      stroke,
      fill: () => (hollow ? NO_FILL : stroke()),
    };
    options[layer.high] = { ...hidden, label: `${layer.name} high` };
    options[layer.low] = { ...hidden, label: `${layer.name} low` };
    if (smooth) {
      options[layer.values] = { label: layer.name, stroke, paths: () => null, points: dots };
      options[layer.smoothed] = {
        label: `${layer.name} (smoothed)`, stroke, width: 2.5, dash, spanGaps: false,
        paths: window.uPlot.paths.spline(), points: { show: false },
      };
    } else {
      options[layer.values] = { label: layer.name, stroke, width: 2, dash, spanGaps: false, points: dots };
    }
    bands.push({
      series: [layer.high, layer.low],
      fill: () => (bandShown(chart, layer.actor) ? rgba(color, 0.13) : NO_FILL),
    });
  }
  return { series: options, bands };
}

// Thicker line for the emphasised actor; then redraw with its band and the others faded.
function restyle(chart) {
  const { u } = chart;
  for (const layer of chart.layers) {
    const line = layer.smoothed === undefined ? layer.values : layer.smoothed;
    const base = layer.smoothed === undefined ? 2 : 2.5;
    u.series[line].width = chart.emphasis === layer.actor ? base + 1.5 : base;
  }
  const container = u.root.parentElement;
  if (container) {
    container.dataset.emphasis = chart.emphasis || "";
    container.dataset.bands = chart.layers.filter((l) => bandShown(chart, l.actor)).map((l) => l.actor).join(" ");
  }
  u.redraw(false);
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

// What is under the pointer (CSS pixels inside the plot area): a shift first, then the nearest
// point, with the other lines' points drawn on the same spot.
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
      consider(Math.hypot(x - left, y - top), { kind: "point", layer, index: i, point: layer.points[i] });
    }
  }
  if (best) {
    const y = u.valToPos(u.data[best.layer.values][best.index], "y");
    best.alongside = chart.layers.filter((layer) => {
      const value = u.data[layer.values][best.index];
      return layer !== best.layer && value !== null && Math.abs(u.valToPos(value, "y") - y) < 2;
    });
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
  const also = target.alongside.length ? `; also ${target.alongside.map((l) => l.name).join(", ")}` : "";
  return `${target.layer.name}, ${intervalLabel(p.bucket)}: ${fmt(p.score)} (${p.count} observation${p.count === 1 ? "" : "s"})${also}`;
}

function interactions(chart, onPick) {
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
  const hover = (actor) => {
    if (chart.emphasis === actor) return;
    chart.emphasis = actor;
    restyle(chart);
  };
  u.over.addEventListener("mousemove", (event) => {
    const target = targetAt(event);
    u.over.style.cursor = target ? "pointer" : "";
    tip.hidden = !target;
    hover(target && target.kind === "point" ? target.layer.actor : null);
    if (!target) return;
    tip.textContent = describe(target, chart.intervalLabel);
    const box = u.over.getBoundingClientRect();
    const x = event.clientX - box.left;
    tip.style.left = `${Math.min(x + 12, Math.max(0, box.width - tip.offsetWidth - 4))}px`;
    tip.style.top = `${Math.max(0, event.clientY - box.top - tip.offsetHeight - 10)}px`;
  });
  u.over.addEventListener("mouseleave", () => {
    tip.hidden = true;
    hover(null);
  });
  u.over.addEventListener("click", (event) => {
    const target = targetAt(event);
    if (!target) return;
    if (target.kind === "shift") onPick("shift", target.shift.id);
    else onPick("point", target.layer.actor, target.point.bucket);
  });
}

let current = null;

// Draws the chart afresh; `onPick` gets ("point", actor, bucket) or ("shift", id). `picked`: the
// actor whose evidence is open (its band is drawn).
export function drawChart(container, { series, shifts, colors, smooth, intervalLabel, picked = null }, onPick) {
  if (current) {
    current.observer.disconnect();
    current.u.destroy();
    current = null;
  }
  container.replaceChildren();
  const { data, layers } = build(series, smooth);
  const chart = { layers, shifts, intervalLabel, emphasis: null, picked };
  const { series: seriesOpts, bands } = seriesOptions(chart, colors, smooth);
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
  interactions(chart, onPick);
  chart.observer = new ResizeObserver(() => {
    const next = size();
    if (next.width !== chart.u.width || next.height !== chart.u.height) chart.u.setSize(next);
  });
  chart.observer.observe(container);
  container.uplot = chart.u; // for the browser tests and the curious
  current = chart;
  restyle(chart);
  if (!container.dataset.ready) performance.mark("stanceline:chart-ready");
  container.dataset.ready = "true";
  container.dataset.renders = String(Number(container.dataset.renders || 0) + 1);
}

// From the legend: emphasise an actor's line and draw its band (null: none).
export function emphasize(actor) {
  if (!current || current.emphasis === actor) return;
  current.emphasis = actor;
  restyle(current);
}

// The actor whose evidence is open keeps its band drawn (null: none).
export function pick(actor) {
  if (!current || current.picked === actor) return;
  current.picked = actor;
  restyle(current);
}

// The timelines view: controls, chart, shift list, points table and the evidence side panel.

import { api } from "./api.js";
import {
  actorHref, bucketEnd, bucketLabel, clear, directionText, el, fmtDate, fmtScore, topicHref,
} from "./dom.js";
import { observationCard } from "./evidence.js";
import { colorFor, drawChart, emphasize, lineGlyph, pick } from "./chart.js";
import { GRADES, gradeBadge, gradeGlyph, gradeHelp, gradeOf, gradeText, officeBadge } from "./grades.js";

const DEFAULT_ACTORS = 6;
const ROLLUP_DEFAULT_KINDS = new Set(["state", "bloc"]);
const TOPIC_STORAGE = "stanceline.topic";

const $ = (id) => document.getElementById(id);
const state = {
  registry: null,
  status: null,
  topic: null,
  interval: "week",
  rollup: true,
  smooth: "",
  halflife: 2,
  observed: [], // actors with observations on the topic, most observed first
  rollupOnly: [], // actors reached only through roll-up
  actorsOf: null, // the topic `observed` and `rollupOnly` belong to
  series: [], // every candidate's series, most observed first
  shifts: [],
  selected: null, // Set of actor slugs; null = pick defaults on the next load
  colors: new Map(),
  picked: null, // the actor whose evidence the panel shows
  stale: false,
  saidEmpty: false,
  seq: 0,
  panelSeq: 0,
};
const articleCache = new Map();
let opener = null;

function names() {
  return state.registry.names;
}

function total(series) {
  return series.points.reduce((sum, p) => sum + p.count, 0);
}

function topicName() {
  const topic = state.registry.topics.find((t) => t.slug === state.topic);
  return topic ? topic.name : state.topic;
}

async function guarded(work) {
  try {
    await work();
  } catch (error) {
    state.status.error(error);
  }
}

function topicOptions() {
  return state.registry.topics.map((t) => el("option", { value: t.slug }, t.name));
}

function knownTopic(slug) {
  return Boolean(slug) && state.registry.topics.some((t) => t.slug === slug);
}

function rememberedTopic() {
  try {
    return localStorage.getItem(TOPIC_STORAGE);
  } catch {
    return null;
  }
}

// The topic named in the URL (#/?topic=slug), else the one picked on an earlier visit, else the
// one with the most observations: a sparse topic that happens to sort first is a poor first look.
async function openingTopic(named) {
  if (knownTopic(named)) return named;
  if (knownTopic(rememberedTopic())) return rememberedTopic();
  if (!state.registry.topics.length) return null;
  const counts = (prefetched.counts || api("/web/topics")).catch(() => ({ items: [] }));
  prefetched.counts = null;
  const { items } = await counts;
  const busiest = items.find((item) => knownTopic(item.topic));
  return busiest ? busiest.topic : state.registry.topics[0].slug;
}

export async function init(registry, status, { topic } = {}) {
  state.registry = registry;
  state.status = status;
  $("topic").replaceChildren(...topicOptions());
  wireControls();
  wirePanel();
  state.topic = await openingTopic(topic);
  if (!state.topic) {
    status.say("No topics yet: load a registry first (POST /v1/registry) or define one under Topics.");
    return;
  }
  $("topic").value = state.topic;
  showInUrl();
  await guarded(loadTopic);
}

// The topic list changed (a topic was added or renamed): the select follows, the choice stays.
export function setTopics() {
  if (!state.registry) return;
  $("topic").replaceChildren(...topicOptions());
  if (state.topic) $("topic").value = state.topic;
}

// The dashboard's URL names its topic, so a reload or a shared link opens the same one.
function showInUrl() {
  const route = window.location.hash.replace(/^#\/?/, "");
  if (route !== "" && !route.startsWith("?")) return; // another view is showing
  const target = `#/?topic=${encodeURIComponent(state.topic)}`;
  if (window.location.hash !== target) window.history.replaceState(null, "", target);
}

function wireControls() {
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("topic").addEventListener("change", (event) => useTopic(event.target.value));
  $("interval").addEventListener("change", (event) => {
    state.interval = event.target.value;
    closePanel();
    guarded(reload);
  });
  $("rollup").addEventListener("change", (event) => {
    state.rollup = event.target.checked;
    state.selected = null; // members' lines and blocs' lines are different sets
    closePanel();
    guarded(reload);
  });
  $("smooth").addEventListener("change", (event) => {
    state.smooth = event.target.value;
    $("halflife").disabled = !state.smooth;
    guarded(reload);
  });
  $("halflife").addEventListener("change", (event) => {
    const value = Number(event.target.value);
    if (!(value > 0)) return;
    state.halflife = value;
    if (state.smooth) guarded(reload);
  });
}

export async function useTopic(slug) {
  if (!knownTopic(slug)) return;
  state.topic = slug;
  $("topic").value = slug;
  localStorage.setItem(TOPIC_STORAGE, slug);
  showInUrl();
  state.selected = null;
  closePanel();
  await guarded(loadTopic);
}

// A control changed: new series, or the whole topic if its actors are still on their way.
function reload() {
  return state.actorsOf === state.topic ? loadSeries() : loadTopic();
}

function topicReads(topic) {
  return [
    api(`/web/topics/${encodeURIComponent(topic)}/actors`),
    api("/v1/shifts", { params: { topic, limit: 1000 } }),
  ];
}

// On a first load the reads of the topic the URL names (or of the one remembered), or else those
// that choose the topic, start with the registry's, not after them.
const prefetched = { topic: null, reads: null, counts: null };
export function prefetch(named) {
  const topic = named || rememberedTopic();
  const reads = topic ? topicReads(topic) : [api("/web/topics")];
  reads.forEach((read) => read.catch(() => {})); // a failure is reported when the reads are used
  Object.assign(prefetched, topic ? { topic, reads, counts: null } : { topic: null, reads: null, counts: reads[0] });
}

async function loadTopic() {
  const seq = ++state.seq;
  $("topic-about").href = topicHref(state.topic);
  const early = prefetched.topic === state.topic ? prefetched.reads : null;
  Object.assign(prefetched, { topic: null, reads: null });
  const [actors, shifts] = await Promise.all(early || topicReads(state.topic));
  if (seq !== state.seq) return;
  state.observed = actors.observed;
  state.rollupOnly = actors.rollup;
  state.actorsOf = state.topic;
  state.shifts = shifts.items;
  await loadSeries(seq);
}

// Actors that can have a line: those observed on the topic and, when rolling up, every bloc or
// state their observations count for.
function candidateActors() {
  return state.rollup ? [...state.observed, ...state.rollupOnly] : [...state.observed];
}

async function loadSeries(seq = ++state.seq) {
  const candidates = candidateActors();
  if (!candidates.length) {
    state.series = [];
    state.selected = new Set();
    await render();
    state.status.say(`No observations on ${topicName()} yet.`);
    state.saidEmpty = true;
    return;
  }
  if (state.saidEmpty) {
    state.status.say("");
    state.saidEmpty = false;
  }
  const params = { topic: state.topic, actor: candidates, interval: state.interval, rollup: state.rollup };
  if (state.smooth) Object.assign(params, { smooth: state.smooth, halflife: state.halflife });
  const timeline = await api("/v1/timelines", { params });
  if (seq !== state.seq) return;
  const counts = new Map(timeline.series.map((s) => [s.actor, total(s)]));
  state.series = timeline.series
    .filter((s) => counts.get(s.actor) > 0)
    .sort((a, b) => counts.get(b.actor) - counts.get(a.actor) || a.actor.localeCompare(b.actor));
  const available = new Set(state.series.map((s) => s.actor));
  const kept = state.selected ? [...state.selected].filter((slug) => available.has(slug)) : [];
  state.selected = new Set(kept.length ? kept : defaultSelection());
  assignColors();
  await render();
}

// Blocs and states first when rolling up, then the most observed, up to two at least; never a
// second line that would only repeat one already picked (a bloc and its only member).
function defaultSelection() {
  const ranked = state.series.map((s) => s.actor);
  const kind = (slug) => (state.registry.actors.get(slug) || {}).kind;
  const lines = new Map(state.series.map((s) => [s.actor, lineKey(s)]));
  const picked = [];
  const drawn = new Set();
  const take = (slug) => {
    if (drawn.has(lines.get(slug))) return;
    picked.push(slug);
    drawn.add(lines.get(slug));
  };
  if (state.rollup) ranked.filter((slug) => ROLLUP_DEFAULT_KINDS.has(kind(slug))).forEach(take);
  for (const slug of ranked) {
    if (picked.length >= Math.min(2, ranked.length)) break;
    take(slug);
  }
  return picked.slice(0, DEFAULT_ACTORS);
}

// Colours stay with an actor while it is shown, and shown actors never share one.
function assignColors() {
  const used = new Set();
  const colors = new Map();
  for (const slug of state.selected) {
    const kept = state.colors.get(slug);
    if (kept && !used.has(kept)) {
      colors.set(slug, kept);
      used.add(kept);
    }
  }
  for (const slug of state.selected) {
    if (colors.has(slug)) continue;
    let index = 0;
    while (used.has(colorFor(index)) && index < 64) index += 1;
    colors.set(slug, colorFor(index));
    used.add(colorFor(index));
  }
  state.colors = colors;
}

function toggleActor(slug, on) {
  if (on) state.selected.add(slug);
  else state.selected.delete(slug);
  assignColors();
  guarded(render);
}

async function render() {
  renderActorList();
  const shown = state.series.filter((s) => state.selected.has(s.actor));
  const shifts = state.shifts.filter((s) => state.selected.has(s.actor));
  const chart = $("chart");
  chart.setAttribute(
    "aria-label",
    `Stance timeline of ${topicName()}: ${shown.map((s) => s.name).join(", ") || "no actor selected"}. ` +
      "The points and shifts are listed below the chart.",
  );
  renderShiftList(shifts);
  renderPointsTable(shown);
  renderLegend(shown, shifts);
  chart.dataset.topic = state.topic;
  drawChart(
    chart,
    {
      series: shown,
      shifts,
      colors: state.colors,
      smooth: Boolean(state.smooth),
      intervalLabel: (bucket) => bucketLabel(bucket, state.interval),
      picked: state.picked,
    },
    onPick,
  );
}

// A series' line as drawn: two series with the same key hide one another.
function lineKey(series) {
  return series.points
    .filter((p) => p.count > 0)
    .map((p) => `${p.bucket} ${Number(p.score).toFixed(4)}`)
    .join("|");
}

// Lines that would hide one another: each shown series whose every observed point equals an
// earlier one's (a bloc and its only member, say) -> that earlier series.
function sameLines(shown) {
  const first = new Map();
  const same = new Map();
  for (const series of shown) {
    const k = lineKey(series);
    if (first.has(k)) same.set(series.actor, first.get(k));
    else first.set(k, series);
  }
  return same;
}

function renderLegend(shown, shifts) {
  const legend = clear($("chart-legend"));
  const same = sameLines(shown);
  shown.forEach((series, index) => {
    const twin = same.get(series.actor);
    const on = () => emphasize(series.actor);
    const off = () => emphasize(null);
    legend.append(
      el(
        "li",
        { dataset: { actor: series.actor }, onmouseenter: on, onmouseleave: off, onfocusin: on, onfocusout: off },
        lineGlyph(state.colors.get(series.actor), index),
        el("a", { href: actorHref(series.actor) }, series.name),
        twin ? el("span", { class: "same-as small" }, `same line as ${twin.name}`) : null,
      ),
    );
  });
  // one entry per grade shown: its marker and its name (the note below the legend says what each means)
  const shownGrades = new Set(shifts.map(gradeOf));
  for (const grade of GRADES.filter((g) => shownGrades.has(g))) {
    legend.append(
      el(
        "li",
        { class: "legend-grade", dataset: { grade }, title: gradeHelp(grade) },
        gradeGlyph(grade, "#4f5b67"),
        `${gradeText(grade)} shift`,
      ),
    );
  }
}

function renderActorList() {
  const list = clear($("actor-list"));
  for (const series of state.series) {
    const id = `actor-option-${series.actor}`;
    const checked = state.selected.has(series.actor);
    let swatch = null;
    if (checked) {
      swatch = el("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.setProperty("--swatch", state.colors.get(series.actor));
    }
    list.append(
      el(
        "div",
        { class: "actor-option" },
        el("input", {
          type: "checkbox",
          id,
          value: series.actor,
          checked,
          onchange: (event) => toggleActor(series.actor, event.target.checked),
        }),
        el("label", { for: id }, swatch, series.name, el("span", { class: "count" }, ` ${total(series)}`)),
      ),
    );
  }
  if (!state.series.length) list.append(el("p", { class: "small" }, "No actor has observations on this topic."));
}

function shiftLabel(shift) {
  return (
    `${shift.actor_name}: ${directionText(shift.direction)} on ${fmtDate(shift.at)} ` +
    `(${fmtScore(shift.before)} → ${fmtScore(shift.after)}, confidence ${Number(shift.confidence).toFixed(2)})`
  );
}

function renderShiftList(shifts) {
  const list = clear($("shift-list"));
  const ordered = [...shifts].sort((a, b) => a.at.localeCompare(b.at));
  for (const shift of ordered) {
    const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.setProperty("--swatch", state.colors.get(shift.actor) || "#333");
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "linklike",
            dataset: { shiftId: String(shift.id), grade: gradeOf(shift) },
            onclick: () => openShift(shift),
          },
          swatch,
          gradeGlyph(gradeOf(shift), state.colors.get(shift.actor) || "#333", shift.direction),
          shiftLabel(shift),
          " ",
          gradeBadge(gradeOf(shift)),
          officeBadge(shift),
        ),
      ),
    );
  }
  if (!ordered.length) list.append(el("li", { class: "small" }, "No shift detected for the actors shown."));
}

function renderPointsTable(shown) {
  const body = clear($("points-table").tBodies[0]);
  for (const series of shown) {
    for (const point of series.points) {
      if (!point.count) continue;
      const period = bucketLabel(point.bucket, state.interval);
      body.append(
        el(
          "tr",
          { dataset: { actor: series.actor, bucket: point.bucket } },
          el("th", { scope: "row" }, series.name),
          el("td", {}, period),
          el("td", { class: "num score-cell" }, fmtScore(point.score)),
          el("td", { class: "num" }, `${fmtScore(point.low)} … ${fmtScore(point.high)}`),
          el("td", { class: "num count-cell" }, String(point.count)),
          el(
            "td",
            {},
            el(
              "button",
              {
                type: "button",
                class: "linklike",
                "aria-label": `Evidence for ${series.name}, ${period}`,
                onclick: () => openPoint(series.actor, point.bucket),
              },
              "Evidence",
            ),
          ),
        ),
      );
    }
  }
}

function onPick(kind, first, second) {
  if (kind === "point") guarded(() => openPoint(first, second));
  else {
    const shift = state.shifts.find((s) => s.id === first);
    if (shift) guarded(() => openShift(shift));
  }
}

// --- side panel ------------------------------------------------------------------------------

function wirePanel() {
  $("panel-close").addEventListener("click", closePanel);
  $("panel").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePanel();
  });
}

function openPanel(title, data) {
  const panel = $("panel");
  if (panel.hidden) opener = document.activeElement;
  $("panel-title").textContent = title;
  clear($("panel-body")).append(el("p", { class: "small" }, "Loading…"));
  for (const key of Object.keys(panel.dataset)) delete panel.dataset[key];
  Object.assign(panel.dataset, data);
  state.picked = data.actor || null;
  pick(state.picked);
  panel.hidden = false;
  $("dashboard-body").classList.add("with-panel");
  panel.focus();
}

export function closePanel() {
  const panel = $("panel");
  if (panel.hidden) return;
  panel.hidden = true;
  state.panelSeq += 1;
  state.picked = null;
  pick(null);
  $("dashboard-body").classList.remove("with-panel");
  if (opener && opener.isConnected && opener !== document.body) opener.focus();
  opener = null;
}

function articleDetail(id) {
  if (!articleCache.has(id)) {
    const request = api(`/v1/articles/${id}`).catch((error) => {
      articleCache.delete(id);
      throw error;
    });
    articleCache.set(id, request);
  }
  return articleCache.get(id);
}

async function articlesById(ids) {
  const unique = [...new Set(ids.filter((id) => id !== null && id !== undefined))];
  const details = await Promise.all(unique.map((id) => articleDetail(id)));
  return new Map(details.map((detail) => [detail.id, detail]));
}

function cardOptions(article, weight) {
  return { article, weight, names: names(), onReview: review };
}

function summary(rows) {
  return el("dl", { class: "summary" }, rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

async function openPoint(actor, bucket) {
  const series = state.series.find((s) => s.actor === actor);
  const point = series ? series.points.find((p) => p.bucket === bucket) : null;
  const name = series ? series.name : actor;
  const seq = ++state.panelSeq;
  const period = bucketLabel(bucket, state.interval);
  openPanel(`${name}, ${period}`, { kind: "point", actor, bucket });
  const evidence = await api("/web/evidence", {
    params: {
      topic: state.topic,
      actor,
      from: bucket,
      to: bucketEnd(bucket, state.interval).toISOString(),
      rollup: state.rollup,
    },
  });
  const articles = await articlesById(evidence.items.map((item) => item.observation.article_id));
  if (seq !== state.panelSeq) return;
  const body = clear($("panel-body"));
  body.append(
    summary([
      ["Topic", el("a", { href: topicHref(state.topic) }, topicName())],
      ["Actor", el("a", { href: actorHref(actor) }, name)],
      ["Score", point ? fmtScore(point.score) : "–"],
      ["90% band", point ? `${fmtScore(point.low)} … ${fmtScore(point.high)}` : "–"],
      ["Observations", String(evidence.total) + (state.rollup ? " (members included)" : "")],
    ]),
  );
  if (evidence.total > evidence.items.length) {
    body.append(el("p", { class: "small" }, `The ${evidence.items.length} weightiest are listed.`));
  }
  if (!evidence.items.length) body.append(el("p", {}, "No observation counts for this point any more."));
  body.append(
    el(
      "div",
      { class: "obs-list" },
      evidence.items.map((item) =>
        observationCard(item.observation, cardOptions(articles.get(item.observation.article_id), item.weight)),
      ),
    ),
  );
}

async function observationFor(item) {
  if (item.article_id !== null && item.article_id !== undefined) {
    const article = await articleDetail(item.article_id);
    const found = article.observations.find((o) => o.id === item.observation_id);
    if (found) return { observation: found, article };
  }
  return { observation: await api(`/v1/stances/${item.observation_id}`), article: null };
}

async function openShift(shift) {
  const seq = ++state.panelSeq;
  openPanel(`${shift.actor_name}: ${directionText(shift.direction)}, ${fmtDate(shift.at)}`, {
    kind: "shift",
    shiftId: String(shift.id),
    actor: shift.actor,
  });
  const seen = new Set();
  const fresh = (items) => items.filter((item) => !seen.has(item.observation_id) && seen.add(item.observation_id));
  const groups = [
    ["Sentences that report the change", fresh(shift.cues)],
    ["After the change", fresh(shift.evidence_after)],
    ["Before the change", fresh(shift.evidence_before)],
  ].filter(([, items]) => items.length);
  const resolved = await Promise.all(
    groups.map(([, items]) => Promise.all(items.map((item) => observationFor(item).catch(() => null)))),
  );
  if (seq !== state.panelSeq) return;
  const body = clear($("panel-body"));
  body.append(
    summary([
      ["Topic", el("a", { href: topicHref(shift.topic) }, topicName())],
      ["Actor", el("a", { href: actorHref(shift.actor) }, shift.actor_name)],
      ["Date", fmtDate(shift.at)],
      ["Between", `${fmtDate(shift.window_start)} and ${fmtDate(shift.window_end)}`],
      ["Level", `${fmtScore(shift.before)} → ${fmtScore(shift.after)} (${fmtScore(shift.delta)})`],
      ["Confidence", Number(shift.confidence).toFixed(2)],
      ["Grade", [gradeBadge(gradeOf(shift)), " ", officeBadge(shift)]],
      (shift.basis || []).length > 1 ? ["Basis", shift.basis.map(gradeText).join(", ")] : null,
      shift.office_change ? ["Office", officeText(shift.office_change)] : null,
      ["Status", shift.status],
    ].filter(Boolean)),
  );
  if ((shift.reasons || []).length) {
    body.append(
      el(
        "section",
        { class: "shift-reasons" },
        el("h3", {}, "Why this is a shift"),
        el("ul", { class: "plain-list" }, shift.reasons.map((reason) => el("li", {}, reason))),
      ),
    );
  }
  groups.forEach(([title, items], index) => {
    const cards = items.map((item, i) => {
      const found = resolved[index][i];
      if (found) return observationCard(found.observation, cardOptions(found.article));
      return el("p", { class: "para" }, el("mark", { class: "evidence" }, item.evidence || ""));
    });
    body.append(el("section", { class: "evidence-group" }, el("h3", {}, title), el("div", { class: "obs-list" }, cards)));
  });
}

// "Scholz → Merz on 2025-05-06": who held office before and after, by name where the registry knows them
function officeText(change) {
  const who = (slugs) => slugs.map((slug) => names().get(slug) || slug).join(", ") || "nobody";
  return `${who(change.before)} → ${who(change.after)} on ${fmtDate(change.at)}`;
}

async function review(observation, patch) {
  const updated = await api(`/v1/stances/${observation.id}`, { method: "PATCH", body: patch });
  articleCache.clear();
  state.status.say(`Observation ${observation.id}: ${updated.status}.`);
  await guarded(refresh);
  return updated;
}

// Re-read the current topic (after a write): the selection and the open panel stay.
export async function refresh() {
  state.stale = false;
  articleCache.clear();
  if (state.topic) await loadTopic();
}

export function markStale() {
  state.stale = true;
}

// The dashboard route: `topic` when the URL names one.
export async function show({ topic } = {}) {
  if (!state.registry) return; // the first load is under way and reads the URL itself
  if (topic && topic !== state.topic && knownTopic(topic)) {
    state.stale = false;
    articleCache.clear();
    await useTopic(topic);
  } else if (state.stale) {
    await guarded(refresh);
  }
  if (state.topic) showInUrl();
}

// From the actor and topic pages: the dashboard with the shift's actor shown and its evidence open.
export async function showShift(shift) {
  // the topic may be this one with its first load still under way (no selection yet): load it here
  if (state.topic !== shift.topic || !state.selected) await useTopic(shift.topic);
  if (state.selected && !state.selected.has(shift.actor) && state.series.some((s) => s.actor === shift.actor)) {
    toggleActor(shift.actor, true);
  }
  const current = state.shifts.find((s) => s.id === shift.id) || shift;
  await guarded(() => openShift(current));
}

export { cardOptions };

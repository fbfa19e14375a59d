// The review queue (#/review, #/review?topic=<slug>&actor=<slug>): the automatic observations
// nobody has reviewed, the most uncertain first (those whose review teaches the model most), read
// from GET /v1/review/queue. Each shows as in the evidence panel, with the same Verify, Reject and
// correction controls writing through PATCH /v1/stances/{id}; a reviewed one leaves the list and
// the next one in the queue takes its place at the end.

import { api } from "./api.js";
import { clear, el, topicHref } from "./dom.js";
import { observationCard } from "./evidence.js";

const PAGE = 10;
const $ = (id) => document.getElementById(id);
const state = {
  registry: null,
  status: null,
  onReviewed: null,
  topic: "",
  actor: "",
  cursor: null, // the queue's next page after the last item listed; null at its end
  listed: new Set(), // ids of the observations listed
  seq: 0,
  more: Promise.resolve(), // reads of further items, one at a time
};
const articles = new Map();

function byName(items) {
  return [...items].sort((a, b) => a.name.localeCompare(b.name) || a.slug.localeCompare(b.slug));
}

function fillSelect(select, items, everything) {
  select.replaceChildren(
    el("option", { value: "" }, everything),
    ...byName(items).map((item) => el("option", { value: item.slug }, item.name)),
  );
}

// Topics were added or renamed: the filter follows, the choice stays.
export function setTopics() {
  if (!state.registry) return;
  fillSelect($("queue-topic"), state.registry.topics, "All topics");
  $("queue-topic").value = state.topic;
}

// options: {registry, status, onReviewed() (the timelines are stale after a review)}
export function wireQueue({ registry, status, onReviewed }) {
  Object.assign(state, { registry, status, onReviewed });
  setTopics();
  fillSelect($("queue-actor"), [...registry.actors.values()], "All actors");
  $("queue-controls").addEventListener("submit", (event) => event.preventDefault());
  $("queue-topic").addEventListener("change", (event) => filter({ topic: event.target.value }));
  $("queue-actor").addEventListener("change", (event) => filter({ actor: event.target.value }));
  $("queue-reload").addEventListener("click", () => guarded(load));
  $("queue-more").addEventListener("click", () => guarded(() => readMore(PAGE)));
}

async function guarded(work) {
  try {
    await work();
  } catch (error) {
    state.status.error(error);
  }
}

function known(kind, slug) {
  if (!slug) return false;
  return kind === "topic" ? state.registry.topics.some((t) => t.slug === slug) : state.registry.actors.has(slug);
}

// The queue route: its filters come from the URL, and the list is read afresh (reviews made in
// the evidence panel or by others since are not listed again).
export async function openQueue({ topic, actor } = {}) {
  if (!state.registry) return;
  state.topic = known("topic", topic) ? topic : "";
  state.actor = known("actor", actor) ? actor : "";
  $("queue-topic").value = state.topic;
  $("queue-actor").value = state.actor;
  await load();
}

function filter(change) {
  Object.assign(state, change);
  const params = new URLSearchParams();
  if (state.topic) params.set("topic", state.topic);
  if (state.actor) params.set("actor", state.actor);
  const query = params.toString();
  window.history.replaceState(null, "", `#/review${query ? `?${query}` : ""}`);
  guarded(load);
}

function queueParams(limit) {
  return { topic: state.topic, actor: state.actor, limit, cursor: state.cursor };
}

function articleOf(id) {
  if (id === null || id === undefined) return Promise.resolve(null);
  if (!articles.has(id)) {
    const request = api(`/v1/articles/${id}`).catch((error) => {
      articles.delete(id);
      throw error;
    });
    articles.set(id, request);
  }
  return articles.get(id);
}

async function load() {
  const seq = ++state.seq;
  articles.clear();
  state.cursor = null;
  state.listed.clear();
  clear($("queue-list"));
  $("queue-more").hidden = true;
  say("Loading…");
  state.more = Promise.resolve();
  await read(seq, PAGE);
}

// Up to `limit` further items of the queue, after those listed.
function readMore(limit) {
  const seq = state.seq;
  // a failed read is reported where it was asked for and does not stop the ones after it
  state.more = state.more
    .catch(() => {})
    .then(() => (seq === state.seq && state.cursor ? read(seq, limit) : null));
  return state.more;
}

async function read(seq, limit) {
  const page = await api("/v1/review/queue", { params: queueParams(limit) });
  const found = await Promise.all(page.items.map((item) => articleOf(item.article_id).catch(() => null)));
  if (seq !== state.seq) return;
  state.cursor = page.next_cursor;
  page.items.forEach((item, index) => {
    if (state.listed.has(item.id)) return; // listed already (read twice in a race)
    state.listed.add(item.id);
    $("queue-list").append(queueItem(item, found[index]));
  });
  $("queue-more").hidden = !state.cursor;
  tell();
}

function say(text) {
  $("queue-note").textContent = text;
}

function tell() {
  const count = state.listed.size;
  if (count) say(`${count} shown, the most uncertain first${state.cursor ? "; more below" : ""}.`);
  else if (state.topic || state.actor) say("Nothing to review here: every such automatic observation is reviewed.");
  else say("Nothing to review: every automatic observation is reviewed.");
}

function topicName(slug) {
  const topic = state.registry.topics.find((t) => t.slug === slug);
  return topic ? topic.name : slug;
}

function queueItem(item, article) {
  const node = el(
    "li",
    { class: "queue-item", dataset: { observationId: String(item.id), uncertainty: String(item.uncertainty) } },
    el(
      "p",
      { class: "queue-facts" },
      el("a", { href: topicHref(item.topic) }, topicName(item.topic)),
      el(
        "span",
        { class: "uncertainty", title: "1 − |2 × confidence − 1|: 1 when the model cannot tell, 0 when it is sure" },
        `uncertainty ${Number(item.uncertainty).toFixed(2)}`,
      ),
    ),
    observationCard(item, {
      article,
      names: state.registry.names,
      onReview: review,
      onReviewed: (updated, card) => reviewed(updated, card.closest("li")),
    }),
  );
  return node;
}

function review(observation, patch) {
  return api(`/v1/stances/${observation.id}`, { method: "PATCH", body: patch });
}

// A review was saved: the item leaves, focus moves to the next one, and the next in the queue
// is read to take the place at the end.
function reviewed(updated, item) {
  const next = item.nextElementSibling || item.previousElementSibling;
  item.remove();
  state.listed.delete(updated.id);
  state.status.say(`Observation ${updated.id}: ${updated.status}.`);
  if (state.onReviewed) state.onReviewed();
  if (next) next.querySelector("article.obs").focus();
  else $("review-title").focus();
  tell();
  guarded(() => readMore(1));
}

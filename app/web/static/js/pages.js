// Actor and topic pages: what the registry says about them, and their latest shifts.

import { api } from "./api.js";
import { actorHref, append, clear, directionText, el, fmtDate, fmtScore, topicHref } from "./dom.js";
import { gradeBadge, gradeOf, officeBadge } from "./grades.js";

const LATEST = 10;

function list(items, empty) {
  if (!items.length) return el("p", { class: "small" }, empty);
  return el("ul", { class: "plain-list" }, items.map((item) => el("li", {}, item)));
}

function latestShifts(shifts, { showTopic, showActor, onOpen, topicNames }) {
  const latest = [...shifts].sort((a, b) => b.at.localeCompare(a.at)).slice(0, LATEST);
  if (!latest.length) return el("p", { class: "small" }, "No shift detected yet.");
  return el(
    "ol",
    { class: "shift-list" },
    latest.map((shift) =>
      el(
        "li",
        {},
        el("time", { datetime: shift.at }, fmtDate(shift.at)),
        " ",
        showActor ? [el("a", { href: actorHref(shift.actor) }, shift.actor_name), " "] : null,
        showTopic ? [el("a", { href: topicHref(shift.topic) }, topicNames.get(shift.topic) || shift.topic), " "] : null,
        `${directionText(shift.direction)} (${fmtScore(shift.before)} → ${fmtScore(shift.after)}) `,
        gradeBadge(gradeOf(shift)),
        officeBadge(shift),
        " ",
        el(
          "button",
          { type: "button", class: "linklike", onclick: () => onOpen(shift) },
          "Evidence",
          el("span", { class: "visually-hidden" }, ` for ${shift.actor_name}, ${fmtDate(shift.at)}`),
        ),
      ),
    ),
  );
}

export async function renderActor(section, slug, { registry, onOpenShift }) {
  clear(section).append(el("p", { class: "small" }, "Loading…"));
  const [actor, shifts] = await Promise.all([
    api(`/v1/actors/${encodeURIComponent(slug)}`),
    api("/v1/shifts", { params: { actor: slug, limit: 1000 } }),
  ]);
  const members = (registry.members.get(slug) || []).map((member) =>
    el("a", { href: actorHref(member) }, registry.names.get(member) || member),
  );
  const memberships = actor.memberships.map((m) => [
    el("a", { href: actorHref(m.parent) }, registry.names.get(m.parent) || m.parent),
    m.role ? `, ${m.role}` : "",
    m.from || m.to ? ` (${m.from || "…"} to ${m.to || "now"})` : "",
  ]);
  const topicNames = new Map(registry.topics.map((t) => [t.slug, t.name]));
  // dom.append, not Element.append: a missing description is left out, not printed as "null"
  append(clear(section), [
    el("h1", {}, actor.name),
    el("p", { class: "small" }, `${actor.kind} · ${actor.slug}`),
    actor.description ? el("p", {}, actor.description) : null,
    el("div", { class: "facts" },
      el("section", {}, el("h2", {}, "Aliases"), list(actor.aliases, "No aliases.")),
      el("section", {}, el("h2", {}, "Member of"), list(memberships, "No memberships.")),
      el("section", {}, el("h2", {}, "Members"), list(members, "No members.")),
    ),
    el("section", {}, el("h2", {}, "Latest shifts"),
      latestShifts(shifts.items, { showTopic: true, onOpen: onOpenShift, topicNames })),
  ]);
}

export async function renderTopic(section, slug, { registry, onOpenShift, onOpenTopic }) {
  clear(section).append(el("p", { class: "small" }, "Loading…"));
  const [topic, shifts] = await Promise.all([
    api(`/v1/topics/${encodeURIComponent(slug)}`),
    api("/v1/shifts", { params: { topic: slug, limit: 1000 } }),
  ]);
  const topicNames = new Map(registry.topics.map((t) => [t.slug, t.name]));
  append(clear(section), [
    el("h1", {}, topic.name),
    el("p", { class: "small" }, topic.slug,
      topic.parent ? [" · part of ", el("a", { href: topicHref(topic.parent) }, topicNames.get(topic.parent) || topic.parent)] : null),
    topic.description ? el("p", {}, topic.description) : null,
    el("p", { class: "page-actions" },
      el("button", { type: "button", onclick: () => onOpenTopic(slug) }, "Show its timelines"),
      el("a", { href: `#/topics/${encodeURIComponent(slug)}` }, "Edit this topic")),
    el("div", { class: "facts" },
      el("section", {}, el("h2", {}, "Keywords"), list(topic.keywords, "No keywords.")),
      el("section", {}, el("h2", {}, "Example sentences"), list(topic.examples, "No examples.")),
      el("section", {}, el("h2", {}, "Weak keywords"), list(topic.weak_keywords || [], "None.")),
      el("section", {}, el("h2", {}, "Excluded phrases"), list(topic.excluded_phrases || [], "None.")),
    ),
    el("p", { class: "small" }, "Relevance threshold: ",
      topic.relevance_threshold == null ? "the engine's default" : String(topic.relevance_threshold)),
    el("section", {}, el("h2", {}, "Latest shifts"),
      latestShifts(shifts.items, { showActor: true, onOpen: onOpenShift, topicNames })),
  ]);
}

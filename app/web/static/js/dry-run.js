// What a dry run (POST /v1/extract with `explain`) found in a pasted text, and why: the
// observations first, then sentence by sentence what was mentioned, which topics the sentence
// is about, and each actor-topic pair kept or dropped with the reason.

import { clear, el, fmtScore } from "./dom.js";

// The server has no dry run (an unknown route or method), as opposed to refusing this one.
export function dryRunUnavailable(error) {
  return error.status === 405 || (error.status === 404 && (!error.code || error.code === "not_found"));
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function observationItem(obs, name) {
  return el(
    "li",
    { class: "dry-obs", dataset: { actor: obs.actor, topic: obs.topic } },
    el("span", { class: "dry-actor" }, name(obs.actor)),
    " ",
    el("span", { class: `score label-${obs.label}` }, `${fmtScore(obs.score)} ${obs.label}`),
    obs.speaker && obs.speaker !== name(obs.actor) ? el("span", { class: "small" }, ` said by ${obs.speaker}`) : null,
    el("q", { class: "dry-evidence" }, obs.evidence || ""),
  );
}

function joined(items) {
  return items.length ? items : ["none"];
}

function mentionText(m, name) {
  return `${name(m.actor)} (“${m.text}”${m.via ? `, ${m.via}` : ""})`;
}

function topicText(t, topicName) {
  const words = (t.keywords || []).length ? `: ${t.keywords.join(", ")}` : "";
  const via = t.via && t.via !== "keyword" && t.via !== "none" ? `, ${t.via}` : "";
  const uncounted = t.counted === false ? ", not counted" : "";
  return `${topicName(t.topic)} ${Number(t.relevance).toFixed(2)}${via}${words}${uncounted}`;
}

function cueText(c) {
  const side = c.sign > 0 ? "for" : c.sign < 0 ? "against" : "neutral";
  return `“${c.text}” (${side}${c.kind ? `, ${c.kind}` : ""})`;
}

function candidateItem(c, name, topicName) {
  const reading = c.kept && c.label ? `: ${c.label} ${fmtScore(c.score)}` : "";
  return el(
    "li",
    { class: `dry-candidate ${c.kept ? "kept" : "dropped"}`, dataset: { actor: c.actor, kept: String(Boolean(c.kept)) } },
    el("span", { class: "badge" }, c.kept ? "kept" : "dropped"),
    ` ${name(c.actor)} on ${topicName(c.topic)}${reading}`,
    c.reason ? el("span", { class: "small" }, ` (${c.reason})`) : null,
  );
}

function sentenceItem(s, name, topicName) {
  const mentions = s.mentions || [];
  const topics = s.topics || [];
  const candidates = s.candidates || [];
  const cues = s.cues || [];
  if (!mentions.length && !topics.length && !candidates.length) {
    return el(
      "li",
      { class: "dry-sentence quiet", dataset: { index: String(s.index) } },
      el("span", { class: "dry-text" }, s.text),
      el("span", { class: "small" }, " no actor, no topic"),
    );
  }
  const row = (term, values) => [el("dt", {}, term), el("dd", {}, joined(values).join("; "))];
  return el(
    "li",
    { class: "dry-sentence", dataset: { index: String(s.index) } },
    el("p", { class: "dry-text" }, s.text),
    el(
      "dl",
      { class: "dry-facts" },
      row("Mentions", mentions.map((m) => mentionText(m, name))),
      row("Topics", topics.map((t) => topicText(t, topicName))),
      cues.length ? row("Cues", cues.map(cueText)) : null,
      s.parsed === false && mentions.length && topics.length ? row("Parsed", ["no"]) : null,
      (s.notes || []).length ? row("Notes", s.notes) : null,
    ),
    candidates.length
      ? el("ul", { class: "dry-candidates" }, candidates.map((c) => candidateItem(c, name, topicName)))
      : null,
  );
}

// outcome: the answer of POST /v1/extract; actorNames, topicNames: slug -> name
export function renderDryRun(node, outcome, { actorNames, topicNames }) {
  const name = (slug) => actorNames.get(slug) || slug;
  const topicName = (slug) => topicNames.get(slug) || slug;
  const found = outcome.observations || [];
  const explanation = outcome.explanation;
  clear(node).append(
    el("h3", {}, `Observations (${found.length})`),
    found.length
      ? el("ul", { class: "dry-observations" }, found.map((o) => observationItem(o, name)))
      : el("p", { class: "small" }, "None: the sentences below say why."),
  );
  if (!explanation) return;
  const sentences = explanation.sentences || [];
  node.append(
    el("h3", {}, `Sentence by sentence (${plural(sentences.length, "sentence")})`),
    explanation.summary ? el("p", { class: "small dry-summary" }, explanation.summary) : "",
    el("ol", { class: "dry-sentences" }, sentences.map((s) => sentenceItem(s, name, topicName))),
  );
}

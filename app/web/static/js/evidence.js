// One observation as the analyst reads it: the evidence sentence marked inside its paragraph,
// who said it, where, how it was coded, and the review buttons.

import { actorHref, el, externalLink, fmtDate, fmtScore } from "./dom.js";

const LABELS = ["support", "oppose", "neutral", "mixed"];
const LONG_PARAGRAPH = 1200; // characters; longer ones are cut to the marked part and some context
const CONTEXT = 300;
let uid = 0;

// A sentence's place in the text: its stored offsets while they still match, else where it occurs.
export function locate(text, sentence, start, end) {
  if (!text || !sentence) return null;
  if (Number.isInteger(start) && Number.isInteger(end) && text.slice(start, end) === sentence) {
    return { start, end };
  }
  const at = text.indexOf(sentence);
  return at >= 0 ? { start: at, end: at + sentence.length } : null;
}

export function paragraphBounds(text) {
  const bounds = [];
  const breaks = /\n\s*\n/g;
  let start = 0;
  let match;
  while ((match = breaks.exec(text)) !== null) {
    bounds.push({ start, end: match.index });
    start = match.index + match[0].length;
  }
  bounds.push({ start, end: text.length });
  return bounds.filter((b) => b.end > b.start);
}

function trimmed(text, para, ranges) {
  if (para.end - para.start <= LONG_PARAGRAPH) return { ...para, before: "", after: "" };
  const inside = ranges.filter((r) => r.start < para.end && r.end > para.start);
  const first = Math.min(...inside.map((r) => r.start));
  const last = Math.max(...inside.map((r) => r.end));
  let start = Math.max(para.start, first - CONTEXT);
  let end = Math.min(para.end, last + CONTEXT);
  // cut at a space, never inside what is marked
  if (start > para.start) start = Math.min(first, text.indexOf(" ", start) + 1 || start);
  if (end < para.end) end = Math.max(last, text.lastIndexOf(" ", end));
  return { start, end, before: start > para.start ? "… " : "", after: end < para.end ? " …" : "" };
}

// The paragraphs that hold any of `ranges` ({start, end, kind}), with those ranges in <mark>s.
// The first range wins where ranges overlap.
export function markedParagraphs(text, ranges) {
  const paragraphs = paragraphBounds(text).filter((p) => ranges.some((r) => r.start < p.end && r.end > p.start));
  return paragraphs.map((para) => {
    const part = trimmed(text, para, ranges);
    const cuts = new Set([part.start, part.end]);
    for (const r of ranges) {
      for (const edge of [r.start, r.end]) if (edge > part.start && edge < part.end) cuts.add(edge);
    }
    const points = [...cuts].sort((a, b) => a - b);
    const node = el("p", { class: "para" }, part.before);
    for (let i = 0; i < points.length - 1; i += 1) {
      const piece = text.slice(points[i], points[i + 1]);
      const cover = ranges.find((r) => r.start <= points[i] && r.end >= points[i + 1]);
      node.append(cover ? el("mark", { class: cover.kind }, piece) : piece);
    }
    node.append(part.after);
    return node;
  });
}

function excerpt(obs, article) {
  const text = article ? article.text : null;
  const main = locate(text, obs.evidence, obs.evidence_start, obs.evidence_end);
  const supporting = obs.supporting || [];
  if (main) {
    const ranges = [{ ...main, kind: "evidence" }];
    for (const s of supporting) {
      const found = locate(text, s.evidence, s.start, s.end);
      if (found) ranges.push({ ...found, kind: "supporting" });
    }
    return el("div", { class: "excerpt" }, markedParagraphs(text, ranges));
  }
  if (!obs.evidence) return el("p", { class: "excerpt small" }, "No evidence sentence was recorded.");
  return el(
    "div",
    { class: "excerpt" },
    el("p", { class: "para" }, el("mark", { class: "evidence" }, obs.evidence)),
    supporting.map((s) => el("p", { class: "para" }, el("mark", { class: "supporting" }, s.evidence))),
  );
}

function articleLine(obs, article) {
  if (article) {
    const label = article.title || article.url || `Article ${article.id}`;
    const where = [article.source, fmtDate(article.published_at)].filter(Boolean).join(", ");
    return [externalLink(article.url, label), where ? ` (${where})` : ""];
  }
  return obs.article_id ? `Article ${obs.article_id}` : "Coded by hand, no article";
}

function meta(obs, article, weight) {
  const rows = [
    ["Speaker", obs.speaker || "not named"],
    ["Article", articleLine(obs, article)],
    ["Method", obs.method + (obs.extractor_version ? ` (${obs.extractor_version})` : "")],
    ["Review status", obs.status],
    [
      "Confidence",
      Number(obs.confidence).toFixed(2) +
        (weight !== undefined && weight !== null && Math.abs(weight - obs.confidence) > 1e-6
          ? `; counts here with ${Number(weight).toFixed(2)} (through a member)`
          : ""),
    ],
    ["Reported", fmtDate(obs.reported_at) || "–"],
  ];
  if (obs.note) rows.push(["Note", obs.note]);
  return el("dl", { class: "obs-meta" }, rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function reviewControls(obs, run) {
  const id = `obs-${obs.id}-${(uid += 1)}`;
  const message = el("p", { class: "review-error", role: "alert" });
  const labelSelect = el(
    "select",
    { id: `${id}-label`, name: "label" },
    LABELS.map((label) => el("option", { value: label, selected: label === obs.label }, label)),
  );
  const scoreInput = el("input", {
    id: `${id}-score`,
    name: "score",
    type: "number",
    min: "-1",
    max: "1",
    step: "0.05",
    value: String(obs.score),
    required: true,
  });
  const group = el(
    "div",
    { class: "review", role: "group", "aria-label": `Review observation ${obs.id}` },
    el("button", { type: "button", class: "verify", onclick: () => run({ status: "verified" }, message) }, "Verify"),
    el("button", { type: "button", class: "reject", onclick: () => run({ status: "rejected" }, message) }, "Reject"),
    el(
      "form",
      {
        class: "correct",
        onsubmit: (event) => {
          event.preventDefault();
          run({ label: labelSelect.value, score: Number(scoreInput.value) }, message);
        },
      },
      el("label", { for: `${id}-label` }, "Label"),
      labelSelect,
      el("label", { for: `${id}-score` }, "Score"),
      scoreInput,
      el("button", { type: "submit" }, "Save correction"),
    ),
    message,
  );
  return group;
}

// options: {article, weight, names (Map slug -> name), onReview(obs, patch) -> updated obs,
// onReviewed(updated, card): what becomes of the card after a review (default: it shows the update)}
export function observationCard(obs, options = {}) {
  const { article, weight, names, onReview, onReviewed } = options;
  const card = el("article", {
    class: `obs status-${obs.status}`,
    dataset: { observationId: String(obs.id), status: obs.status },
    "aria-label": `Observation ${obs.id}`,
    tabindex: "-1",
  });
  const actorName = (names && names.get(obs.actor)) || obs.actor;
  card.append(
    el(
      "header",
      { class: "obs-head" },
      el("a", { href: actorHref(obs.actor) }, actorName),
      el("time", { datetime: obs.observed_at }, fmtDate(obs.observed_at)),
      el("span", { class: `score label-${obs.label}` }, `${fmtScore(obs.score)} ${obs.label}`),
      el("span", { class: `badge status-${obs.status}` }, obs.status),
    ),
    excerpt(obs, article),
    meta(obs, article, weight),
  );
  if (onReview) {
    const run = async (patch, message) => {
      const buttons = card.querySelectorAll(".review button, .review input, .review select");
      buttons.forEach((b) => (b.disabled = true));
      message.textContent = "";
      try {
        const updated = await onReview(obs, patch);
        if (onReviewed) {
          onReviewed(updated, card);
          return;
        }
        const fresh = observationCard(updated, options);
        card.replaceWith(fresh);
        fresh.focus(); // keyboard users stay where they were
      } catch (error) {
        message.textContent = `Not saved: ${error.message}`;
        buttons.forEach((b) => (b.disabled = false));
      }
    };
    card.append(reviewControls(obs, run));
  }
  return card;
}

// The topic editor (#/topics, #/topics/<slug>): define or change a topic, try it on a pasted
// text (the dry run of dry-run.js), save it with an admin key, follow the re-extraction the
// save starts (job-progress.js), then open the topic's timelines.

import { api } from "./api.js";
import { clear, el } from "./dom.js";
import { dryRunUnavailable, renderDryRun } from "./dry-run.js";
import { followJob } from "./job-progress.js";

const $ = (id) => document.getElementById(id);

// API field -> the input it is shown next to (list fields: `keywords[2]` is `keywords`)
const INPUTS = {
  name: "te-name",
  slug: "te-slug",
  description: "te-description",
  keywords: "te-keywords",
  examples: "te-examples",
  parent: "te-parent",
  weak_keywords: "te-weak",
  excluded_phrases: "te-excluded",
  relevance_threshold: "te-threshold",
  text: "try-text",
  published_at: "try-date",
};

const editor = { registry: null, onTopicsChanged: null, onReextracted: null, slug: null, slugEdited: false };

export function slugify(name) {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 200)
    .replace(/^-+|-+$/g, "");
}

// Keywords and phrases: one per line or comma-separated; example sentences: one per line.
function items(text, { commas }) {
  return text
    .split(commas ? /[\n,]/ : /\n/)
    .map((item) => item.trim())
    .filter(Boolean);
}

function topicName(slug) {
  const topic = editor.registry.topics.find((t) => t.slug === slug);
  return topic ? topic.name : slug;
}

// The topic as the form has it, in the shape of TopicCreate.
function formTopic() {
  const threshold = $("te-threshold").value.trim();
  return {
    slug: $("te-slug").value.trim(),
    name: $("te-name").value.trim(),
    description: $("te-description").value.trim(),
    keywords: items($("te-keywords").value, { commas: true }),
    examples: items($("te-examples").value, { commas: false }),
    parent: $("te-parent").value || null,
    weak_keywords: items($("te-weak").value, { commas: true }),
    excluded_phrases: items($("te-excluded").value, { commas: true }),
    relevance_threshold: threshold === "" ? null : Number(threshold),
  };
}

function fill(topic) {
  $("te-name").value = topic ? topic.name : "";
  $("te-slug").value = topic ? topic.slug : "";
  $("te-description").value = topic ? topic.description : "";
  $("te-keywords").value = topic ? topic.keywords.join("\n") : "";
  $("te-examples").value = topic ? topic.examples.join("\n") : "";
  $("te-weak").value = topic ? topic.weak_keywords.join("\n") : "";
  $("te-excluded").value = topic ? topic.excluded_phrases.join("\n") : "";
  $("te-threshold").value = topic && topic.relevance_threshold !== null ? String(topic.relevance_threshold) : "";
  fillTopicLists(topic ? topic.parent : null);
}

// The editor's two lists of topics: which one to edit, and the parent (never the topic itself).
function fillTopicLists(parent = $("te-parent").value || null) {
  const topics = [...editor.registry.topics].sort((a, b) => a.name.localeCompare(b.name));
  $("te-pick").replaceChildren(
    el("option", { value: "" }, "New topic"),
    ...topics.map((t) => el("option", { value: t.slug }, t.name)),
  );
  $("te-pick").value = editor.slug || "";
  $("te-parent").replaceChildren(
    el("option", { value: "" }, "None"),
    ...topics.filter((t) => t.slug !== editor.slug).map((t) => el("option", { value: t.slug }, t.name)),
  );
  $("te-parent").value = parent || "";
}

function setMode(slug) {
  editor.slug = slug;
  editor.slugEdited = false;
  const slugInput = $("te-slug");
  slugInput.readOnly = Boolean(slug);
  $("te-slug-hint").textContent = slug
    ? "Fixed once the topic is saved."
    : "Made from the name; fixed once the topic is saved.";
  $("te-title").textContent = slug ? `Edit: ${topicName(slug)}` : "New topic";
  $("te-save").textContent = slug ? "Save changes" : "Save topic";
}

// --- errors next to their fields ----------------------------------------------------------------

function clearErrors() {
  for (const id of Object.values(INPUTS)) {
    $(id).removeAttribute("aria-invalid");
    $(`${id}-error`).textContent = "";
  }
}

// The input an API error names: `keywords[2]` is the keywords box; a dry run names the topic it
// was sent as `registry.topics[0].keywords[2]`.
function inputFor(field) {
  if (!field) return null;
  const bare = String(field).replace(/^registry\.topics\[\d+\]\.?/, "");
  const id = INPUTS[bare.split(/[.[]/)[0]];
  return id ? $(id) : null;
}

function fieldError(input, message) {
  const node = $(`${input.id}-error`);
  node.textContent = node.textContent ? `${node.textContent} ${message}` : message;
  input.setAttribute("aria-invalid", "true");
}

// Shows an API error next to the fields it names; returns what no field took (for the note).
function showErrors(error) {
  const checks = error.details && error.details.length
    ? error.details
    : [{ field: error.field, message: error.message }];
  const placed = [];
  for (const check of checks) {
    const input = inputFor(check.field);
    if (!input) continue;
    fieldError(input, check.message);
    placed.push(input);
  }
  if (placed.length) placed[0].focus();
  return placed.length ? "" : error.message;
}

function note(id, text, isError = false) {
  $(id).textContent = text;
  $(id).classList.toggle("error", isError);
}

function refusal(error, action) {
  if (error.status === 401 || error.status === 403) {
    return `${action} needs an API key with the admin scope (${error.message}): enter it above.`;
  }
  return null;
}

// Checked here first: a topic without a name or a usable slug can be neither tried nor saved.
function checkIdentity(topic) {
  if (!topic.name) fieldError($("te-name"), "Give the topic a name.");
  else if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(topic.slug)) {
    fieldError($("te-slug"), "Lower-case letters, digits and single hyphens only.");
  } else return true;
  document.querySelector("[aria-invalid=true]").focus();
  return false;
}

// --- try, save --------------------------------------------------------------------------------

async function tryTopic(event) {
  event.preventDefault();
  clearErrors();
  const topic = formTopic();
  const result = $("try-result");
  const text = $("try-text").value;
  if (!checkIdentity(topic)) return;
  if (!text.trim()) {
    fieldError($("try-text"), "Paste a text to try the topic on.");
    $("try-text").focus();
    return;
  }
  const button = $("try-run");
  button.disabled = true;
  note("try-note", "Extracting…");
  clear(result);
  try {
    const outcome = await api("/v1/extract", {
      method: "POST",
      body: {
        text,
        published_at: $("try-date").value || new Date().toISOString().slice(0, 10),
        topic: topic.slug,
        registry: { topics: [topic] },
        explain: true,
      },
    });
    const count = outcome.observations.length;
    note("try-note", `${count} observation${count === 1 ? "" : "s"}.`);
    const topicNames = new Map(editor.registry.topics.map((t) => [t.slug, t.name]));
    topicNames.set(topic.slug, topic.name);
    renderDryRun(result, outcome, { actorNames: editor.registry.names, topicNames });
  } catch (error) {
    if (dryRunUnavailable(error)) {
      note("try-note", "");
      result.append(
        el(
          "p",
          { class: "notice", role: "alert" },
          `This server cannot try a topic yet: POST /v1/extract answered ${error.status}. ` +
            "Save the topic instead; the re-extraction of the stored articles shows what it finds.",
        ),
      );
    } else {
      note("try-note", refusal(error, "Trying a topic") || showErrors(error) || "See the fields above.", true);
    }
  } finally {
    button.disabled = false;
  }
}

// PATCH sends what the form shows; the slug is the address and stays.
function changes(topic) {
  const { slug, ...rest } = topic;
  return rest;
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const topic = formTopic();
  if (!checkIdentity(topic)) return;
  const button = $("te-save");
  const job = $("te-job");
  button.disabled = true;
  note("te-note", "Saving…");
  job.hidden = true;
  clear(job);
  try {
    const written = editor.slug
      ? await api(`/v1/topics/${encodeURIComponent(editor.slug)}`, { method: "PATCH", body: changes(topic) })
      : await api("/v1/topics", { method: "POST", body: topic });
    await editor.onTopicsChanged();
    setMode(written.slug);
    fillTopicLists(written.parent);
    window.history.replaceState(null, "", `#/topics/${encodeURIComponent(written.slug)}`);
    const timelines = el(
      "a",
      { class: "open-timelines", href: `#/?topic=${encodeURIComponent(written.slug)}` },
      `Open the timelines of ${written.name}`,
    );
    if (!written.reextraction) {
      note("te-note", "Saved. No stored article needed extracting again.");
      job.hidden = false;
      job.append(el("p", {}, timelines));
      return;
    }
    note("te-note", "Saved.");
    const finished = await followJob(written.reextraction, job);
    editor.onReextracted();
    job.append(el("p", {}, timelines));
    if (finished.state === "succeeded") timelines.focus();
  } catch (error) {
    note("te-note", refusal(error, "Saving a topic") || showErrors(error) || "See the fields above.", true);
  } finally {
    button.disabled = false;
  }
}

// --- wiring and routing -----------------------------------------------------------------------

export function wireEditor({ registry, onTopicsChanged, onReextracted }) {
  Object.assign(editor, { registry, onTopicsChanged, onReextracted });
  $("te-name").addEventListener("input", () => {
    if (!editor.slug && !editor.slugEdited) $("te-slug").value = slugify($("te-name").value);
  });
  $("te-slug").addEventListener("input", () => {
    editor.slugEdited = $("te-slug").value !== "";
  });
  $("te-pick").addEventListener("change", (event) => {
    const slug = event.target.value;
    window.location.hash = slug ? `#/topics/${encodeURIComponent(slug)}` : "#/topics";
  });
  $("topic-form").addEventListener("submit", save);
  $("try-form").addEventListener("submit", tryTopic);
  const date = $("try-date");
  if (!date.value) date.value = new Date().toISOString().slice(0, 10);
}

// The route: `slug` to edit a stored topic, null for a new one.
export async function openEditor(slug) {
  if (slug === editor.slug && slug !== null) return; // already open (after a save, say)
  clearErrors();
  note("te-note", "");
  $("te-job").hidden = true;
  clear($("te-job"));
  clear($("try-result"));
  note("try-note", "");
  const topic = slug ? await api(`/v1/topics/${encodeURIComponent(slug)}`) : null;
  setMode(slug);
  fill(topic);
}

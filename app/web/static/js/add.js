// The "add article" form: ingest through POST /v1/articles, then show what was extracted. The
// outcome is said next to the button and the result scrolled into view: below a long text, it
// would otherwise land out of sight.

import { api } from "./api.js";
import { clear, el } from "./dom.js";
import { observationCard } from "./evidence.js";

export function wireAddForm({ cardOptions, onIngested, status }) {
  const form = document.getElementById("add-form");
  const result = document.getElementById("add-result");
  const note = document.getElementById("add-note");
  const date = document.getElementById("add-date");
  if (!date.value) date.value = new Date().toISOString().slice(0, 10);
  const say = (text, error = false) => {
    note.textContent = text;
    note.classList.toggle("error", error);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const value = (name) => form.elements[name].value;
    const body = {
      url: value("url").trim(),
      title: value("title").trim() || null,
      published_at: value("published_at"),
      source: value("source").trim() || null,
      text: value("text"),
    };
    button.disabled = true;
    say("Ingesting…");
    clear(result);
    try {
      // wait: the form shows what was extracted, so it asks for the extraction in the answer
      const outcome = await api("/v1/articles?wait=true", { method: "POST", body });
      const article = await api(`/v1/articles/${outcome.article_id}`);
      onIngested();
      const count = article.observations.length;
      const counted = `${count} observation${count === 1 ? "" : "s"}`;
      clear(result).append(
        el("h2", { id: "add-result-title", tabindex: "-1" }, "Extracted from ", el("q", {}, article.title || article.url)),
        el(
          "p",
          { class: "ingest-status", dataset: { status: outcome.status } },
          `${outcome.status}: revision ${outcome.revision}, ${counted}.`,
        ),
        count
          ? el("div", { class: "obs-list" }, article.observations.map((o) => observationCard(o, cardOptions(article))))
          : el("p", {}, "No stance on a known topic by a known actor was found in this text."),
      );
      say(`Article ${outcome.status}: ${counted}, shown below.`);
      status.say(`Article ${outcome.status}: ${count} observation(s) extracted.`);
      const heading = result.querySelector("h2");
      heading.scrollIntoView({ block: "start" });
      heading.focus({ preventScroll: true });
    } catch (error) {
      clear(result);
      say(`Not added: ${error.message}`, true);
      status.error(error);
    } finally {
      button.disabled = false;
    }
  });
}

// The "add article" form: ingest through POST /v1/articles, then show what was extracted.

import { api } from "./api.js";
import { clear, el } from "./dom.js";
import { observationCard } from "./evidence.js";

export function wireAddForm({ cardOptions, onIngested, status }) {
  const form = document.getElementById("add-form");
  const result = document.getElementById("add-result");
  const date = document.getElementById("add-date");
  if (!date.value) date.value = new Date().toISOString().slice(0, 10);
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
    clear(result).append(el("p", { class: "small" }, "Ingesting…"));
    try {
      const outcome = await api("/v1/articles", { method: "POST", body });
      const article = await api(`/v1/articles/${outcome.article_id}`);
      onIngested();
      const count = article.observations.length;
      clear(result).append(
        el("h2", { id: "add-result-title" }, "Extracted from ", el("q", {}, article.title || article.url)),
        el(
          "p",
          { class: "ingest-status", dataset: { status: outcome.status } },
          `${outcome.status}: revision ${outcome.revision}, ${count} observation${count === 1 ? "" : "s"}.`,
        ),
        count
          ? el("div", { class: "obs-list" }, article.observations.map((o) => observationCard(o, cardOptions(article))))
          : el("p", {}, "No stance on a known topic by a known actor was found in this text."),
      );
      status.say(`Article ${outcome.status}: ${count} observation(s) extracted.`);
      result.querySelector("h2").setAttribute("tabindex", "-1");
      result.querySelector("h2").focus();
    } catch (error) {
      clear(result);
      status.error(error);
    } finally {
      button.disabled = false;
    }
  });
}

// A background job followed to its end (GET /v1/jobs/{id}) with a progress bar: the
// re-extraction a registry write starts.

import { api } from "./api.js";
import { clear, el } from "./dom.js";

const POLL_MS = 400;
const FINISHED = new Set(["succeeded", "failed"]);

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function progressText(job) {
  const parts = [`${job.done} of ${job.total} article${job.total === 1 ? "" : "s"} extracted again`];
  if (job.failed) parts.push(`${job.failed} failed`);
  if (job.missing) parts.push(`${job.missing} deleted meanwhile`);
  if (job.state === "queued") parts.push("waiting to start");
  if (job.state === "failed") parts.push(`the job failed${job.error ? `: ${job.error}` : ""}`);
  return `${parts.join(", ")}.`;
}

// started: {job_id, articles, status_url}; resolves with the finished job (JobRead).
export async function followJob(started, node) {
  const bar = el("progress", { id: `job-${started.job_id}-bar`, max: "1", value: "0" });
  const line = el("p", { class: "small job-line" }, `${started.articles} stored article(s) to extract again…`);
  node.hidden = false;
  node.dataset.jobId = String(started.job_id);
  node.dataset.state = "queued";
  clear(node).append(
    el("h3", {}, el("label", { for: bar.id }, "Re-extracting the stored articles")),
    bar,
    line,
  );
  for (;;) {
    const job = await api(started.status_url);
    bar.value = job.progress;
    bar.textContent = `${Math.round(job.progress * 100)}%`;
    line.textContent = progressText(job);
    node.dataset.state = job.state;
    if (FINISHED.has(job.state)) return job;
    await wait(POLL_MS);
  }
}

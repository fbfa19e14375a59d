// Boot and routing: #/ timelines (#/?topic=<slug> names the topic), #/review (the review queue,
// #/review?topic=<slug>&actor=<slug>), #/add, #/actor/<slug>, #/topic/<slug>, #/topics (the topic
// editor) and #/topics/<slug>.

import { allPages, apiKey, setApiKey } from "./api.js";
import * as dashboard from "./dashboard.js";
import { wireAddForm } from "./add.js";
import { renderActor, renderTopic } from "./pages.js";
import { openEditor, wireEditor } from "./topic-editor.js";
import * as queue from "./review-queue.js";

const VIEWS = ["dashboard", "review", "add", "actor", "topic", "topics"];

const status = {
  node: document.getElementById("status"),
  say(message) {
    this.node.classList.remove("error");
    this.node.textContent = message;
  },
  error(error) {
    this.node.classList.add("error");
    if (error && error.status === 401) {
      this.node.textContent = `${error.message}. Enter an API key above.`;
      document.getElementById("api-key").focus();
    } else if (error && error.status === 403) {
      this.node.textContent = `${error.message}.`;
    } else {
      this.node.textContent = `Something went wrong: ${error && error.message ? error.message : error}`;
    }
  },
};

async function loadRegistry() {
  const [topics, actors] = await Promise.all([allPages("/v1/topics"), allPages("/v1/actors")]);
  const byslug = new Map(actors.map((a) => [a.slug, a]));
  const members = new Map();
  for (const actor of actors) {
    for (const m of actor.memberships) {
      if (!members.has(m.parent)) members.set(m.parent, []);
      if (!members.get(m.parent).includes(actor.slug)) members.get(m.parent).push(actor.slug);
    }
  }
  return { topics, actors: byslug, members, names: new Map(actors.map((a) => [a.slug, a.name])) };
}

// Topics were added or changed: every list of them follows.
async function reloadTopics(registry) {
  registry.topics.splice(0, registry.topics.length, ...(await allPages("/v1/topics")));
  dashboard.setTopics();
  queue.setTopics();
}

function currentRoute() {
  const [path, query] = window.location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query || "") };
}

function showView(name) {
  const shown = document.querySelector("main .view:not([hidden])");
  if (shown && shown.id !== `view-${name}`) window.scrollTo(0, 0); // a new view starts at its top
  for (const view of VIEWS) document.getElementById(`view-${view}`).hidden = view !== name;
  for (const link of document.querySelectorAll("nav [data-route]")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function route(registry) {
  const { parts, params } = currentRoute();
  const openShift = (shift) => {
    window.location.hash = "#/";
    dashboard.showShift(shift);
  };
  const openTopic = (slug) => {
    window.location.hash = `#/?topic=${encodeURIComponent(slug)}`;
  };
  const fail = (error) => status.error(error);
  if (parts[0] === "add") {
    showView("add");
  } else if (parts[0] === "review") {
    showView("review");
    queue.openQueue({ topic: params.get("topic"), actor: params.get("actor") }).catch(fail);
  } else if (parts[0] === "topics") {
    showView("topics");
    openEditor(parts[1] || null).catch(fail);
  } else if (parts[0] === "actor" && parts[1]) {
    showView("actor");
    renderActor(document.getElementById("view-actor"), parts[1], { registry, onOpenShift: openShift }).catch(fail);
  } else if (parts[0] === "topic" && parts[1]) {
    showView("topic");
    renderTopic(document.getElementById("view-topic"), parts[1], {
      registry,
      onOpenShift: openShift,
      onOpenTopic: openTopic,
    }).catch(fail);
  } else {
    showView("dashboard");
    dashboard.show({ topic: params.get("topic") });
    return;
  }
  const heading = document.querySelector("main .view:not([hidden]) h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

let started = false;

function wireKeyForm() {
  const input = document.getElementById("api-key");
  input.value = apiKey();
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(input.value);
    status.say(input.value.trim() ? "API key saved in this browser." : "API key removed.");
    // a server without public reads shows nothing until the key arrives
    if (!started) {
      start();
      return;
    }
    dashboard.refresh().catch((error) => status.error(error));
    if (!document.getElementById("view-review").hidden) {
      const { params } = currentRoute();
      queue.openQueue({ topic: params.get("topic"), actor: params.get("actor") }).catch((e) => status.error(e));
    }
  });
}

async function start() {
  const { parts, params } = currentRoute();
  const named = parts.length ? null : params.get("topic");
  dashboard.prefetch(named);
  let registry;
  try {
    registry = await loadRegistry();
  } catch (error) {
    status.error(error);
    return;
  }
  started = true;
  wireAddForm({ cardOptions: dashboard.cardOptions, onIngested: dashboard.markStale, status });
  queue.wireQueue({ registry, status, onReviewed: dashboard.markStale });
  wireEditor({
    registry,
    onTopicsChanged: () => reloadTopics(registry),
    onReextracted: dashboard.markStale,
  });
  window.addEventListener("hashchange", () => route(registry));
  route(registry);
  await dashboard.init(registry, status, { topic: named });
}

wireKeyForm();
start();

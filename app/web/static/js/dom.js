// DOM built from text only: data never passes through innerHTML, so evidence sentences and
// titles that contain markup are shown as the characters they are.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// Only web links become hrefs: a stored url of "javascript:..." is shown, never followed.
export function safeHref(value) {
  if (!value) return null;
  try {
    const parsed = new URL(value, window.location.origin);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function externalLink(href, text) {
  const safe = safeHref(href);
  if (!safe) return el("span", { text });
  return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer" }, text);
}

export function fmtScore(value) {
  if (value === null || value === undefined) return "–";
  const fixed = Number(value).toFixed(2);
  return value > 0 ? `+${fixed}` : fixed;
}

export function fmtDate(iso) {
  return iso ? String(iso).slice(0, 10) : "";
}

export function bucketLabel(iso, interval) {
  if (interval === "month") return String(iso).slice(0, 7);
  if (interval === "week") return `week of ${fmtDate(iso)}`;
  return fmtDate(iso);
}

export function bucketEnd(iso, interval) {
  const start = new Date(iso);
  if (interval === "month") return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  const end = new Date(start.getTime());
  end.setUTCDate(end.getUTCDate() + (interval === "week" ? 7 : 1));
  return end;
}

export function actorHref(slug) {
  return `#/actor/${encodeURIComponent(slug)}`;
}

export function topicHref(slug) {
  return `#/topic/${encodeURIComponent(slug)}`;
}

export function directionText(direction) {
  return direction === "toward_support" ? "toward support" : "toward oppose";
}

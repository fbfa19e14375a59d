// The page talks to the same HTTP API as everyone else, with the same API keys.

const KEY_STORAGE = "stanceline.apiKey";

export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setApiKey(value) {
  const key = value.trim();
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.error ? body.error : null;
    super(detail && detail.message ? detail.message : `the server answered ${status}`);
    this.status = status;
    this.code = detail ? detail.code : null;
    this.field = detail ? detail.field : null;
    // a validation error lists every failed check: [{field, message}]
    this.details = detail && Array.isArray(detail.details) ? detail.details : [];
  }
}

function url(path, params) {
  const target = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) target.searchParams.append(name, String(item));
  }
  return target;
}

export async function api(path, { method = "GET", params, body } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Every item of a cursor-paged list.
export async function allPages(path, params = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { params: { ...params, limit: 1000, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

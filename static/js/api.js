// Small fetch wrapper for /api/v1/: session cookie + CSRF header, JSON in and out, errors as ApiError.

export class ApiError extends Error {
  constructor(status, detail, code, body) {
    super(detail || `Request failed (${status})`);
    this.status = status;
    this.code = code || "error";
    this.body = body;
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function describe(body, status) {
  if (!body || typeof body !== "object") return `Request failed (${status}).`;
  if (typeof body.detail === "string") return body.detail;
  // DRF field errors: {"field": ["message", ...]}
  for (const [field, messages] of Object.entries(body)) {
    const first = Array.isArray(messages) ? messages[0] : messages;
    if (typeof first === "string") return field === "non_field_errors" ? first : `${field}: ${first}`;
  }
  return `Request failed (${status}).`;
}

export async function api(method, path, body, { base = "/api/v1/", keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  // keepalive: the request outlives the page (a read marker sent while navigating away).
  const options = { method, headers, credentials: "same-origin", keepalive };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path.startsWith("/") ? path : base + path, options);
  } catch (error) {
    throw new ApiError(0, "You seem to be offline; try again in a moment.", "network");
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const detail = typeof data === "object" ? describe(data, response.status) : `Request failed (${response.status}).`;
    throw new ApiError(response.status, detail, data && data.code, data);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
export const put = (path, body = {}) => api("PUT", path, body);
export const patch = (path, body = {}) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

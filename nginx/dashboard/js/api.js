// The API client: same origin, `Authorization: Bearer <token>` on every request, the API's
// `{"error": "..."}` turned into an ApiError whose message is that sentence.

const TOKEN_KEY = "plugind.token";
const ROLE_KEY = "plugind.role";

export class ApiError extends Error {
  constructor(status, message, body = null, requestId = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.requestId = requestId;
  }
  /** The route is not there (yet): unknown path or method. */
  get routeMissing() {
    return this.status === 405 || (this.status === 404 && /no api route/i.test(this.message));
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get role() { return sessionStorage.getItem(ROLE_KEY); },
  get isAdmin() { return this.role === "admin"; },
  save(token, role) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ROLE_KEY, role);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ROLE_KEY);
  },
};

const listeners = new Set();
/** Called with (event) for "unauthorized" and "mutated" ({requiresRestart}) events. */
export function onApiEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function emit(event) { for (const fn of listeners) { try { fn(event); } catch (e) { console.warn(e); } } }

function statusText(status) {
  const known = { 400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 413: "Too large", 415: "Unsupported media type", 422: "Invalid", 500: "Server error",
    502: "Bad gateway", 503: "Unavailable", 504: "Timed out", 507: "No space left" };
  return known[status] || `HTTP ${status}`;
}

/**
 * api("GET", "/api/plugins") → the parsed JSON body. Options: body (sent as JSON), headers,
 * token (instead of the session's), signal.
 */
export async function api(method, path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const token = options.token !== undefined ? options.token : session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, credentials: "omit", cache: "no-cache", signal: options.signal };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, `Cannot reach plugind (${error && error.message ? error.message : error}). Check that the server is running.`);
  }
  const requestId = response.headers.get("X-Request-Id");
  const text = await response.text();
  let body = null;
  if (text) {
    try { body = JSON.parse(text); } catch { body = null; }
  }
  if (!response.ok) {
    const message = body && typeof body.error === "string" && body.error
      ? body.error
      : `${statusText(response.status)}: the server answered without an explanation.`;
    const error = new ApiError(response.status, message, body, requestId);
    if (response.status === 401 && options.token === undefined) emit({ type: "unauthorized", error });
    throw error;
  }
  if (method !== "GET" && body && typeof body === "object" && "requiresRestart" in body) {
    emit({ type: "mutated", requiresRestart: Boolean(body.requiresRestart) });
  } else if (method !== "GET") {
    emit({ type: "mutated", requiresRestart: false });
  }
  return body;
}

export const get = (path, options) => api("GET", path, options);
export const post = (path, body, options = {}) => api("POST", path, { ...options, body });
export const put = (path, body, options = {}) => api("PUT", path, { ...options, body });

/** Encodes one path segment (a plugin id or a scoped npm name: `@a/b` → `%40a%2Fb`). */
export const seg = (text) => encodeURIComponent(text);

/** Which role a token has; 401 (thrown) means the token is not valid. */
export async function probeRole(token) {
  // GET /api/session says which role the token carries (401 when it is not valid).
  const session = await api("GET", "/api/session", { token });
  return session.role === "admin" ? "admin" : "read";
}

export function newOperationId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function fetchOperation(id) {
  try {
    const body = await get(`/api/operations/${seg(id)}`);
    return body && body.operation ? body.operation : null;
  } catch {
    return null;
  }
}

/**
 * Starts a long change (install, uninstall, eject, sync, reinject, registry refresh) with its own
 * X-Operation-Id and polls GET /api/operations/:id while the POST runs. `onUpdate(operation)` gets
 * every state seen. Resolves {result, operation}; rejects with an ApiError carrying `.operation`
 * (with its logTail) when the API refused or the operation failed.
 */
export async function runOperation(path, body, onUpdate = () => {}, { intervalMs = 400 } = {}) {
  const id = newOperationId();
  let finished = false;
  const started = { id, state: "running", phase: "starting", progress: 0, logTail: [], error: null };
  onUpdate(started);
  const poller = (async () => {
    await sleep(Math.min(intervalMs, 300));
    while (!finished) {
      const op = await fetchOperation(id);
      if (finished) break;
      if (op) onUpdate(op);
      await sleep(intervalMs);
    }
  })();
  try {
    const result = await api("POST", path, { body: body === undefined ? {} : body, headers: { "X-Operation-Id": id } });
    finished = true;
    await poller;
    const op = (await fetchOperation(id)) || { ...started, state: "succeeded", phase: "done", progress: 1, result };
    onUpdate(op);
    return { result, operation: op };
  } catch (error) {
    finished = true;
    await poller;
    if (error instanceof ApiError && !error.routeMissing && error.status !== 0) {
      const otherId = error.body && error.body.operationId;
      const op = await fetchOperation(otherId && error.status === 409 ? otherId : id);
      if (op) {
        error.operation = op;
        if (!otherId || otherId === id) onUpdate(op);
      }
    }
    throw error;
  }
}

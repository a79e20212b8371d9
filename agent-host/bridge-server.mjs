// The runtime bridge (docs/runtime-bridge.md): HTTP/1.1 + JSON, answered by the host process from
// the supervisor's in-memory state, so status never waits on the runtime.
import http from 'node:http';
import { PROTOCOL } from './supervisor.mjs';

export const MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_CHECK_TIMEOUT_MS = 15000;
export const MAX_CHECK_TIMEOUT_MS = 600000;

class BridgeError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function send(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'X-Bridge-Protocol': String(PROTOCOL),
    'Cache-Control': 'no-store',
    ...extraHeaders,
  });
  res.end(text);
}

/** The request body as a JSON object; `{}` when empty. Refuses more than 64 KiB. */
function readJSONBody(req) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
      reject(new BridgeError(413, 'too_large', `the request body is over ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const chunks = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        reject(new BridgeError(413, 'too_large', `the request body is over ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (refused) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        resolve({});
        return;
      }
      let value;
      try {
        value = JSON.parse(text);
      } catch (error) {
        reject(new BridgeError(400, 'bad_request', `the body is not valid JSON: ${error.message}`));
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        reject(new BridgeError(400, 'bad_request', 'the body must be a JSON object'));
        return;
      }
      resolve(value);
    });
  });
}

async function handleCheck(supervisor, body) {
  const npm = body.package;
  if (typeof npm !== 'string' || npm === '') throw new BridgeError(400, 'bad_request', '"package" must be a non-empty string (an npm name)');
  let timeoutMs = DEFAULT_CHECK_TIMEOUT_MS;
  if (body.timeoutMs !== undefined && body.timeoutMs !== null) {
    if (typeof body.timeoutMs !== 'number' || !Number.isFinite(body.timeoutMs) || body.timeoutMs <= 0) {
      throw new BridgeError(400, 'bad_request', '"timeoutMs" must be a positive number of milliseconds');
    }
    timeoutMs = Math.min(Math.ceil(body.timeoutMs), MAX_CHECK_TIMEOUT_MS);
  }
  return supervisor.check(npm, timeoutMs);
}

function handleRestart(supervisor, body) {
  const reasons = body.reasons ?? [];
  if (!Array.isArray(reasons) || !reasons.every((r) => typeof r === 'string')) {
    throw new BridgeError(400, 'bad_request', '"reasons" must be an array of strings');
  }
  if (!supervisor.restart(reasons.slice(0, 100).map((r) => r.slice(0, 500)))) {
    throw new BridgeError(503, 'not_running', 'the agent host is shutting down');
  }
  return { status: 202, body: { ok: true, state: 'starting' } };
}

/** The route table: path → method → handler(supervisor, body) → {status, body}. */
const ROUTES = {
  '/v1/status': { GET: async (supervisor) => ({ status: 200, body: supervisor.status() }) },
  '/v1/plugins/check': { POST: handleCheck },
  '/v1/restart': { POST: handleRestart },
};

export function createBridgeServer(supervisor, { log } = {}) {
  const server = http.createServer(async (req, res) => {
    try {
      const pathname = (req.url ?? '/').split('?')[0];
      const route = Object.prototype.hasOwnProperty.call(ROUTES, pathname) ? ROUTES[pathname] : null;
      if (!route) throw new BridgeError(404, 'not_found', `no such bridge endpoint: ${req.method} ${pathname.slice(0, 200)}`);
      const handler = Object.prototype.hasOwnProperty.call(route, req.method) ? route[req.method] : null;
      if (!handler) {
        const allow = Object.keys(route).join(', ');
        send(res, 405, { error: `${pathname} answers ${allow} only`, code: 'method_not_allowed' }, { Allow: allow });
        req.resume();
        return;
      }
      const body = req.method === 'GET' ? (req.resume(), {}) : await readJSONBody(req);
      const result = await handler(supervisor, body);
      send(res, result.status, result.body);
    } catch (error) {
      if (error instanceof BridgeError) {
        // A refused body is not read further: close the connection after the answer.
        const extra = error.status === 413 ? { Connection: 'close' } : {};
        send(res, error.status, { error: error.message, code: error.code }, extra);
        if (error.status === 413) req.resume();
      } else {
        log?.(`bridge error on ${req.method} ${req.url}: ${error?.stack ?? error}`);
        if (!res.headersSent) send(res, 500, { error: 'internal error in the agent host', code: 'internal' });
        else res.destroy();
      }
    }
  });
  server.on('clientError', (error, socket) => {
    if (!socket.writable) return;
    const text = JSON.stringify({ error: 'malformed HTTP request', code: 'bad_request' });
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nX-Bridge-Protocol: ${PROTOCOL}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  });
  return server;
}

// Shared by the agent host's tests (test/*.test.mjs): plugin packages on disk, a host process on a
// temp socket, and HTTP over that socket. Kept outside test/ so test runners never take it for a test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../main.mjs', import.meta.url));

export function tempDir(prefix = 'agent-host-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a package directory: package.json from `manifest`, plus `files` (relative path → text). */
export function writePackage(dir, manifest, files = {}) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

export function directoryName(npm) {
  return npm.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** An installed package the way plugind lays it out: `<state>/plugins/installed/<dir>/node_modules/<npm>`. */
export function writeInstalled(stateDir, npm, manifestExtras, files) {
  const installDir = path.join(stateDir, 'plugins', 'installed', directoryName(npm));
  writePackage(installDir, { name: `plugind-install-${directoryName(npm)}`, private: true, dependencies: { [npm]: '1.0.0' } });
  return writePackage(path.join(installDir, 'node_modules', npm), { name: npm, version: '1.0.0', type: 'module', main: 'index.js', ...manifestExtras }, files);
}

export function writeEjected(stateDir, npm, manifestExtras, files) {
  return writePackage(path.join(stateDir, 'plugins', 'ejected', directoryName(npm)), { name: npm, version: '1.0.1', type: 'module', main: 'index.js', ...manifestExtras }, files);
}

export function writeBundled(bundledDir, npm, manifestExtras, files) {
  return writePackage(path.join(bundledDir, npm), { name: npm, version: '1.0.0', type: 'module', main: 'index.js', ...manifestExtras }, files);
}

export function writeJSON(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2), { mode: 0o600 });
}

/** One HTTP request over the unix socket (or loopback port); resolves with status, headers, parsed body. */
export function request(target, method, urlPath, body, { timeoutMs = 5000, rawBody, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const payload = rawBody !== undefined ? rawBody : body === undefined ? undefined : JSON.stringify(body);
    const where = typeof target === 'number' ? { host: '127.0.0.1', port: target } : { socketPath: target };
    const req = http.request({
      ...where,
      method,
      path: urlPath,
      agent: false,
      headers: { ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${urlPath} took more than ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(intervalMs);
  }
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The test's environment without PLUGIND_* variables, so an outer setting cannot change a test. */
export function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PLUGIND_')));
}

/**
 * Starts the host. Returns `{ proc, socket, stderr(), status(), waitForState(), stop() }`;
 * `stop()` sends SIGTERM and resolves with the exit code (SIGKILL after 8 s).
 */
export async function startHost({ dir, args = [], socket = path.join(dir, 'bridge.sock'), env = {} }) {
  const proc = spawn(process.execPath, [MAIN, ...(socket ? ['--socket', socket] : []), ...args], {
    env: { ...cleanEnv(), JOURNAL_STREAM: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c) => {
    stderr += c.toString('utf8');
  });
  proc.stdout.on('data', (c) => {
    stderr += c.toString('utf8');
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const host = {
    proc,
    socket,
    exited,
    stderr: () => stderr,
    status: () => request(host.socket, 'GET', '/v1/status'),
    async waitForState(state, { timeoutMs = 15000, generation } = {}) {
      return waitFor(async () => {
        const res = await host.status();
        if (res.json?.state === state && (generation === undefined || res.json.generation >= generation)) return res.json;
        return false;
      }, { timeoutMs, what: `state ${state}` });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  if (socket) {
    await waitFor(() => fs.existsSync(socket) || proc.exitCode !== null, { timeoutMs: 10000, what: 'the bridge socket' });
    if (proc.exitCode !== null) throw new Error(`the host exited early (${proc.exitCode}): ${stderr}`);
  }
  return host;
}

/** Kills a process group left behind by a failed test (best effort). */
export function killGroup(pid) {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export function pluginByPackage(status, npm) {
  return status.plugins.find((p) => p.package === npm);
}

// The host's process model: runtimes that stall or die while loading, bad configs, listening,
// signals, and what is left behind.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  MAIN, cleanEnv, tempDir, writeInstalled, writeBundled, writeJSON, request, startHost, waitFor, isAlive, killGroup, pluginByPackage, sleep,
} from '../test-support/host.mjs';

const roots = [];
const pids = new Set();
const hosts = [];

function fixture() {
  const root = tempDir();
  roots.push(root);
  const state = path.join(root, 'state');
  const bundled = path.join(root, 'bundled');
  fs.mkdirSync(state, { recursive: true });
  fs.mkdirSync(bundled, { recursive: true });
  return { root, state, bundled, configPath: path.join(root, 'milady.json') };
}

async function host(fx, extra = [], opts = {}) {
  const h = await startHost({
    dir: fx.root,
    args: ['--config', fx.configPath, '--state-dir', fx.state, '--bundled-dir', fx.bundled, '--core', '', '--optional-core', '', '--kill-grace-ms', '300', ...extra],
    ...opts,
  });
  hosts.push(h);
  return h;
}

const enabled = (...names) => ({ plugins: { entries: Object.fromEntries(names.map((n) => [n, { enabled: true }])) } });

after(async () => {
  for (const h of hosts) await h.stop();
  for (const pid of pids) killGroup(pid);
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

describe('the runtime while loading', { timeout: 60000 }, () => {
  it('restarts without a plugin whose init busy-loops, and loads the others', async () => {
    const fx = fixture();
    writeInstalled(fx.state, '@acme/first', {}, { 'index.js': `export default { name: 'first' };\n` });
    writeInstalled(fx.state, '@acme/busy', {}, { 'index.js': `export default { name: 'busy', init() { for (;;) {} } };\n` });
    writeInstalled(fx.state, '@acme/last', {}, { 'index.js': `export default { name: 'last' };\n` });
    writeJSON(fx.configPath, enabled('@acme/first', '@acme/busy', '@acme/last'));
    const h = await host(fx, ['--init-timeout-ms', '300']); // a stall is noticed after 2 × 300 + 2000 ms
    const first = await h.waitForState('starting');
    pids.add(first.pid);
    const s = await h.waitForState('running', { timeoutMs: 15000 });
    pids.add(s.pid);
    assert.notEqual(s.pid, first.pid);
    assert.ok(!isAlive(first.pid), 'the stuck runtime was killed');
    assert.equal(pluginByPackage(s, '@acme/first').loaded, true);
    assert.equal(pluginByPackage(s, '@acme/last').loaded, true);
    const busy = pluginByPackage(s, '@acme/busy');
    assert.equal(busy.loaded, false);
    assert.match(busy.error, /blocked the agent process for more than 2600 ms/);
  });

  it('restarts without a plugin that kills the process while importing', async () => {
    const fx = fixture();
    writeInstalled(fx.state, '@acme/exits', {}, { 'index.js': `process.exit(3);\n` });
    writeInstalled(fx.state, '@acme/fine', {}, { 'index.js': `export default { name: 'fine' };\n` });
    writeJSON(fx.configPath, enabled('@acme/exits', '@acme/fine'));
    const h = await host(fx);
    const s = await h.waitForState('running', { timeoutMs: 15000 });
    pids.add(s.pid);
    assert.equal(s.generation, 2);
    assert.match(pluginByPackage(s, '@acme/exits').error, /exited \(code 3\) while loading this plugin/);
    assert.equal(pluginByPackage(s, '@acme/fine').loaded, true);
  });

  it('keeps running when plugin code throws later, outside any call', async () => {
    const fx = fixture();
    writeInstalled(fx.state, '@acme/stray', {}, {
      'index.js': `export default { name: 'stray', init() { setTimeout(() => { throw new Error('stray async error'); }, 50); Promise.reject(new Error('nobody catches this')); } };\n`,
    });
    writeJSON(fx.configPath, enabled('@acme/stray'));
    const h = await host(fx);
    const s = await h.waitForState('running');
    pids.add(s.pid);
    await sleep(300);
    const later = (await h.status()).json;
    assert.equal(later.state, 'running');
    assert.equal(later.pid, s.pid);
    assert.equal(pluginByPackage(later, '@acme/stray').loaded, true);
    assert.match(h.stderr(), /uncaught exception in plugin code: stray async error/);
  });

  it('kills what a plugin spawned when the runtime restarts', async () => {
    const fx = fixture();
    const pidFile = path.join(fx.root, 'grandchild.pid');
    writeInstalled(fx.state, '@acme/spawner', {}, {
      'index.js': `import { spawn } from 'node:child_process';\nimport fs from 'node:fs';\n` +
        `export default { name: 'spawner', init() { const c = spawn('sleep', ['300'], { stdio: 'ignore' }); fs.writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); } };\n`,
    });
    writeJSON(fx.configPath, enabled('@acme/spawner'));
    const h = await host(fx);
    const s = await h.waitForState('running');
    pids.add(s.pid);
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
    pids.add(grandchild);
    assert.ok(isAlive(grandchild));
    assert.equal((await request(h.socket, 'POST', '/v1/restart', {})).status, 202);
    const again = await h.waitForState('running', { generation: s.generation + 1 });
    pids.add(again.pid);
    pids.add(Number(fs.readFileSync(pidFile, 'utf8')));
    await waitFor(() => !isAlive(grandchild), { timeoutMs: 5000, what: 'the grandchild to die' });
  });
});

describe('the agent config', { timeout: 30000 }, () => {
  it('a config that is not JSON: state failed with the reason, check 503, recovered by a restart', async () => {
    const fx = fixture();
    writeInstalled(fx.state, '@acme/fine', {}, { 'index.js': `export default { name: 'fine' };\n` });
    fs.writeFileSync(fx.configPath, '{ plugins: { entries: {} }, // JSON5\n}');
    const h = await host(fx);
    const s = await h.waitForState('failed');
    assert.equal(s.pid, null);
    assert.match(s.error, /is not valid JSON/);
    assert.ok(s.error.includes(fx.configPath));
    assert.deepEqual(s.plugins, []);
    const c = await request(h.socket, 'POST', '/v1/plugins/check', { package: '@acme/fine' });
    assert.equal(c.status, 503);
    assert.equal(c.json.code, 'not_running');

    writeJSON(fx.configPath, enabled('@acme/fine'));
    assert.equal((await request(h.socket, 'POST', '/v1/restart', { reasons: ['config fixed'] })).status, 202);
    const ok = await h.waitForState('running');
    pids.add(ok.pid);
    assert.equal(ok.error, null);
    assert.equal(pluginByPackage(ok, '@acme/fine').loaded, true);
  });

  it('a missing config file: core plugins only', async () => {
    const fx = fixture();
    writeBundled(fx.bundled, '@elizaos/plugin-sql', {}, { 'index.js': `export default { name: 'sql' };\n` });
    const h = await host(fx, ['--core', 'sql']);
    const s = await h.waitForState('running');
    pids.add(s.pid);
    assert.deepEqual(s.plugins.map((p) => [p.package, p.source, p.loaded]), [['@elizaos/plugin-sql', 'core', true]]);
  });

  it('Milady\'s default core and optional-core lists when none are given', async () => {
    const fx = fixture();
    writeJSON(fx.configPath, { plugins: { allow: ['@elizaos/plugin-discord', 'telegram'] } });
    const h = await startHost({ dir: fx.root, args: ['--config', fx.configPath, '--state-dir', fx.state] });
    hosts.push(h);
    const s = await h.waitForState('running');
    pids.add(s.pid);
    assert.equal(s.plugins.length, 20);
    assert.equal(s.plugins.filter((p) => p.source === 'core').length, 18);
    assert.deepEqual(s.plugins.filter((p) => p.source === 'optional-core').map((p) => p.package), ['@elizaos/plugin-discord', '@elizaos/plugin-telegram']);
    assert.ok(s.plugins.every((p) => p.error === 'not installed' && p.path === null));
  });
});

describe('listening and stopping', { timeout: 30000 }, () => {
  it('--port 0 listens on 127.0.0.1 and logs the port', async () => {
    const fx = fixture();
    writeJSON(fx.configPath, {});
    const h = await host(fx, ['--port', '0'], { socket: null });
    const line = await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(h.stderr()), { what: 'the listening line' });
    const port = Number(line[1]);
    const res = await waitFor(async () => {
      const r = await request(port, 'GET', '/v1/status');
      return r.json.state === 'running' ? r : false;
    });
    pids.add(res.json.pid);
    assert.equal(res.headers['x-bridge-protocol'], '1');
    const s = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
    assert.equal(s.remoteAddress, '127.0.0.1');
    s.destroy();
  });

  it('takes its address from the environment (PLUGIND_RUNTIME_BRIDGE, PLUGIND_AGENT_CONFIG, PLUGIND_STATE_DIR)', async () => {
    const fx = fixture();
    writeInstalled(fx.state, '@acme/fine', {}, { 'index.js': `export default { name: 'fine' };\n` });
    writeJSON(fx.configPath, enabled('@acme/fine'));
    const socket = path.join(fx.root, 'env.sock');
    const h = await startHost({
      dir: fx.root, socket: null, args: [],
      env: { PLUGIND_RUNTIME_BRIDGE: `unix:${socket}`, PLUGIND_AGENT_CONFIG: fx.configPath, PLUGIND_STATE_DIR: fx.state, PLUGIND_CORE_PLUGINS: '', PLUGIND_OPTIONAL_CORE_PLUGINS: ',' },
    });
    hosts.push(h);
    await waitFor(() => fs.existsSync(socket), { what: 'the socket' });
    h.socket = socket;
    const s = await h.waitForState('running');
    pids.add(s.pid);
    // An empty variable means "not set": Milady's 18 core plugins, none of them installed here.
    assert.equal(s.plugins.filter((p) => p.source === 'core').length, 18);
    assert.equal(pluginByPackage(s, '@acme/fine').loaded, true);
  });

  it('replaces a stale socket, refuses a live one and a regular file', async () => {
    const fx = fixture();
    writeJSON(fx.configPath, {});
    const socket = path.join(fx.root, 'bridge.sock');
    // A stale socket: bound, then its server gone without unlinking (as after SIGKILL).
    const stale = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.exit(0))`]);
    assert.equal(stale.status, 0);
    assert.ok(fs.lstatSync(socket).isSocket());
    const h = await host(fx);
    const s = await h.waitForState('running');
    pids.add(s.pid);
    assert.match(h.stderr(), /removed a stale socket/);

    const second = spawnSync(process.execPath, [MAIN, '--socket', socket, '--config', fx.configPath, '--state-dir', fx.state], { timeout: 10000, env: cleanEnv() });
    assert.equal(second.status, 1);
    assert.match(second.stderr.toString(), /another process is already answering/);
    assert.equal((await h.status()).status, 200, 'the first host still answers');

    const file = path.join(fx.root, 'not-a-socket');
    fs.writeFileSync(file, 'keep me');
    const third = spawnSync(process.execPath, [MAIN, '--socket', file, '--config', fx.configPath, '--state-dir', fx.state], { timeout: 10000, env: cleanEnv() });
    assert.equal(third.status, 1);
    assert.match(third.stderr.toString(), /is not a socket/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
  });

  it('the runtime exits by itself when the host is killed outright', async () => {
    const fx = fixture();
    writeJSON(fx.configPath, {});
    const h = await host(fx);
    const s = await h.waitForState('running');
    pids.add(s.pid);
    h.proc.kill('SIGKILL');
    await h.exited;
    await waitFor(() => !isAlive(s.pid), { timeoutMs: 5000, what: 'the orphaned runtime to exit' });
  });

  it('SIGINT stops it like SIGTERM', async () => {
    const fx = fixture();
    writeJSON(fx.configPath, {});
    const h = await host(fx);
    const s = await h.waitForState('running');
    pids.add(s.pid);
    h.proc.kill('SIGINT');
    assert.deepEqual(await h.exited, { code: 0, signal: null });
    assert.ok(!fs.existsSync(h.socket));
    await waitFor(() => !isAlive(s.pid), { timeoutMs: 3000, what: 'the runtime to exit' });
  });

  it('usage errors exit 64 with a message', () => {
    const run = (...args) => spawnSync(process.execPath, [MAIN, ...args], { timeout: 10000, env: cleanEnv() });
    let r = run('--state-dir', '/tmp');
    assert.equal(r.status, 64);
    assert.match(r.stderr.toString(), /--socket <path> or --port <n>/);
    r = run('--socket', '/tmp/x.sock', '--port', '1');
    assert.equal(r.status, 64);
    r = run('--port', 'abc');
    assert.equal(r.status, 64);
    r = run('--bogus');
    assert.equal(r.status, 64);
    r = run('--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout.toString(), /usage: node agent-host\/main.mjs/);
  });
});

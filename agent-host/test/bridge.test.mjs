// End to end: plugin packages on disk, the host on a temp unix socket, the bridge over HTTP.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  tempDir, writeInstalled, writeEjected, writeBundled, writeJSON, request, startHost, waitFor, isAlive, killGroup,
  pluginByPackage, sleep,
} from '../test-support/host.mjs';

const SECRET = 'sk-acme-very-secret-value-0123456789';
const INIT_TIMEOUT_MS = 1500;

const plugin = (body) => `export default ${body};\n`;

function buildFixtures(root) {
  const state = path.join(root, 'state');
  const bundled = path.join(root, 'bundled');
  fs.mkdirSync(state, { recursive: true });

  writeBundled(bundled, '@elizaos/plugin-core-good', {}, { 'index.js': plugin(`{ name: 'core-good', description: 'core' }`) });
  writeBundled(bundled, '@elizaos/plugin-opt', {}, { 'index.js': plugin(`{ name: 'opt', init() {} }`) });
  writeBundled(bundled, '@elizaos/plugin-opt-off', {}, { 'index.js': plugin(`{ name: 'opt-off' }`) });

  writeInstalled(state, 'good-plugin', {}, {
    'index.js': plugin(`{
      name: 'good',
      async init(config, runtime) {
        if (config.SOME_NUMBER !== '42') throw new Error('settings are not strings: ' + typeof config.SOME_NUMBER);
        if (runtime.getSetting('SOME_FLAG') !== 'true') throw new Error('getSetting does not read env');
        if (runtime.getSetting('NOT_SET') !== null) throw new Error('getSetting of an unset key is not null');
        if (runtime.agentId !== 'plugind-agent' || runtime.character.name !== 'agent') throw new Error('runtime shape');
        if (process.env.SOME_NUMBER !== '42') throw new Error('process.env not populated');
        if (process.env.NODE_OPTIONS === '--inspect') throw new Error('a blocked key reached process.env');
      },
      async testConnection(runtime) {
        return { ok: true, message: 'connected as ' + runtime.agentId, details: { latencyMs: 3 } };
      },
    }`),
  });
  writeInstalled(state, '@acme/plugin-throws', {}, { 'index.js': `throw new Error('boom while importing acme');\n` });
  writeInstalled(state, '@acme/plugin-missing-dep', {}, { 'index.js': `import 'acme-left-pad-that-does-not-exist';\nexport default { name: 'x' };\n` });
  writeInstalled(state, '@acme/not-a-plugin', {}, { 'index.js': `export default { version: 3 };\nexport const helper = 1;\n` });
  writeInstalled(state, '@acme/plugin-needs-setting', {}, {
    'index.js': plugin(`{
      name: 'needs-setting',
      init(config) { if (!config.ACME_TOKEN) throw new Error('ACME_TOKEN is required'); },
    }`),
  });
  writeInstalled(state, '@acme/plugin-check-fail', {}, {
    'index.js': plugin(`{ name: 'check-fail', async testConnection() { throw new Error('invalid credentials for acme'); } }`),
  });
  writeInstalled(state, '@acme/plugin-check-false', {}, {
    'index.js': plugin(`{ name: 'check-false', healthCheck() { return false; } }`),
  });
  writeInstalled(state, '@acme/plugin-check-hang', {}, {
    'index.js': plugin(`{ name: 'check-hang', testConnection() { return new Promise(() => {}); } }`),
  });
  writeInstalled(state, '@acme/plugin-check-busy', {}, {
    'index.js': plugin(`{ name: 'check-busy', testConnection() { for (;;) {} } }`),
  });
  writeInstalled(state, '@acme/plugin-nocheck', {}, { 'index.js': plugin(`{ name: 'nocheck' }`) });
  writeInstalled(state, '@acme/plugin-ejected', {}, { 'index.js': plugin(`{ name: 'installed-copy' }`) });
  writeEjected(state, '@acme/plugin-ejected', {}, { 'index.js': plugin(`{ name: 'ejected-copy' }`) });
  // CommonJS behind a nested conditional export map, the entry not at the root.
  writeInstalled(state, '@acme/plugin-exports', {
    type: 'commonjs',
    main: 'wrong.js',
    exports: { './package.json': './package.json', '.': { types: './dist/index.d.ts', require: './dist/index.cjs', node: { import: './dist/index.cjs' } } },
  }, { 'dist/index.cjs': `module.exports = { name: 'exports-map', healthCheck: () => ({ healthy: true, message: 'fine' }) };\n` });
  writeInstalled(state, '@acme/plugin-named', {}, { 'index.js': `export const plugin = { name: 'named' };\n` });
  writeInstalled(state, '@acme/plugin-init-timeout', {}, { 'index.js': plugin(`{ name: 'slow', init() { return new Promise(() => {}); } }`) });
  writeInstalled(state, '@acme/plugin-disabled', {}, { 'index.js': plugin(`{ name: 'disabled' }`) });
  writeInstalled(state, '@acme/plugin-secret', {}, {
    'index.js': plugin(`{ name: 'secret', init(config) { throw new Error('rejected key ' + config.ACME_SECRET); } }`),
  });

  const config = {
    env: { ACME_SECRET: SECRET, SOME_NUMBER: 42, SOME_FLAG: true, NODE_OPTIONS: '--inspect', EMPTY: null },
    plugins: {
      allow: ['opt'],
      entries: {
        'good-plugin': { enabled: true },
        '@acme/plugin-throws': { enabled: true },
        '@acme/plugin-missing-dep': { enabled: true },
        '@acme/not-a-plugin': { enabled: true },
        '@acme/plugin-needs-setting': { enabled: true },
        '@acme/plugin-check-fail': { enabled: true },
        '@acme/plugin-check-false': { enabled: true },
        '@acme/plugin-check-hang': { enabled: true },
        '@acme/plugin-check-busy': { enabled: true },
        '@acme/plugin-nocheck': { enabled: true },
        '@acme/plugin-ejected': { enabled: true },
        '@acme/plugin-exports': { enabled: true },
        '@acme/plugin-named': { enabled: true },
        '@acme/plugin-init-timeout': { enabled: true },
        '@acme/plugin-disabled': { enabled: false },
        '@acme/plugin-not-installed': { enabled: true },
        '@acme/plugin-secret': { enabled: true },
        'opt-off': { enabled: true }, // optional-core: only plugins.allow enables it
      },
      installs: { 'good-plugin': { source: 'npm', version: '1.0.0' } },
    },
    features: { unrelated: true },
  };
  const configPath = path.join(root, 'milady.json');
  writeJSON(configPath, config);
  return { state, bundled, config, configPath };
}

describe('the bridge, end to end', { timeout: 120000 }, () => {
  let root;
  let fx;
  let host;
  let firstStatus;
  const childPids = new Set();

  const check = (npm, timeoutMs = 3000, opts = {}) => request(host.socket, 'POST', '/v1/plugins/check', { package: npm, timeoutMs }, { timeoutMs: timeoutMs + 3000, ...opts });

  before(async () => {
    root = tempDir();
    fx = buildFixtures(root);
    host = await startHost({
      dir: root,
      args: ['--config', fx.configPath, '--state-dir', fx.state, '--bundled-dir', fx.bundled,
        '--init-timeout-ms', String(INIT_TIMEOUT_MS), '--kill-grace-ms', '500',
        '--core', '@elizaos/plugin-core-good,@elizaos/plugin-core-missing', '--optional-core', 'opt,opt-off'],
    });
    firstStatus = await host.waitForState('running', { timeoutMs: 20000 });
    childPids.add(firstStatus.pid);
  });

  after(async () => {
    if (host) await host.stop();
    for (const pid of childPids) killGroup(pid);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('answers status with the protocol header, JSON and the documented fields', async () => {
    const res = await host.status();
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-bridge-protocol'], '1');
    const s = res.json;
    assert.equal(s.protocol, 1);
    assert.equal(s.state, 'running');
    assert.equal(typeof s.pid, 'number');
    assert.ok(isAlive(s.pid));
    assert.ok(!Number.isNaN(Date.parse(s.startedAt)));
    for (const p of s.plugins) {
      assert.deepEqual(Object.keys(p).sort(), ['error', 'loaded', 'package', 'path', 'pluginName', 'source']);
    }
  });

  it('creates the socket with mode 0600', () => {
    assert.equal(fs.statSync(host.socket).mode & 0o777, 0o600);
  });

  it('loads what the enabled rule says, from where the contract says', () => {
    const s = firstStatus;
    const p = (npm) => pluginByPackage(s, npm);
    assert.deepEqual(p('@elizaos/plugin-core-good'), {
      package: '@elizaos/plugin-core-good', pluginName: 'core-good', source: 'core',
      path: path.join(fx.bundled, '@elizaos/plugin-core-good'), loaded: true, error: null,
    });
    assert.deepEqual(p('@elizaos/plugin-core-missing'), {
      package: '@elizaos/plugin-core-missing', pluginName: null, source: 'core', path: null, loaded: false, error: 'not installed',
    });
    assert.equal(p('@elizaos/plugin-opt').source, 'optional-core');
    assert.equal(p('@elizaos/plugin-opt').loaded, true, 'optional-core enabled by its short id in plugins.allow');
    assert.equal(p('@elizaos/plugin-opt-off'), undefined, 'optional-core not in allow is not loaded, whatever entries say');
    assert.equal(p('@acme/plugin-disabled'), undefined);

    const good = p('good-plugin');
    assert.equal(good.loaded, true, good.error);
    assert.equal(good.pluginName, 'good');
    assert.equal(good.source, 'installed');
    assert.equal(good.path, path.join(fx.state, 'plugins/installed/good-plugin/node_modules/good-plugin'));

    const ejected = p('@acme/plugin-ejected');
    assert.equal(ejected.source, 'ejected');
    assert.equal(ejected.pluginName, 'ejected-copy');
    assert.equal(ejected.path, path.join(fx.state, 'plugins/ejected/_acme_plugin-ejected'));
    assert.equal(ejected.loaded, true);

    assert.equal(p('@acme/plugin-exports').pluginName, 'exports-map');
    assert.equal(p('@acme/plugin-exports').loaded, true, p('@acme/plugin-exports').error);
    assert.equal(p('@acme/plugin-named').loaded, true);
    assert.equal(p('@acme/plugin-nocheck').loaded, true);
  });

  it('reports the real error text of each failure', () => {
    const p = (npm) => pluginByPackage(firstStatus, npm);
    assert.equal(p('@acme/plugin-throws').loaded, false);
    assert.equal(p('@acme/plugin-throws').error, 'boom while importing acme');
    assert.equal(p('@acme/plugin-missing-dep').loaded, false);
    assert.match(p('@acme/plugin-missing-dep').error, /Cannot find package 'acme-left-pad-that-does-not-exist'/);
    assert.match(p('@acme/not-a-plugin').error, /^no plugin object exported/);
    assert.equal(p('@acme/plugin-needs-setting').error, 'ACME_TOKEN is required');
    assert.equal(p('@acme/plugin-needs-setting').pluginName, 'needs-setting');
    assert.equal(p('@acme/plugin-init-timeout').error, `init timed out after ${INIT_TIMEOUT_MS} ms`);
    assert.deepEqual(p('@acme/plugin-not-installed'), {
      package: '@acme/plugin-not-installed', pluginName: null, source: 'bundled', path: null, loaded: false, error: 'not installed',
    });
    // The bridge carries the real text (plugind scrubs it); the log never shows a setting's value.
    assert.equal(p('@acme/plugin-secret').error, `rejected key ${SECRET}`);
    assert.ok(host.stderr().includes('failed @acme/plugin-secret'));
    assert.ok(!host.stderr().includes(SECRET), 'a secret reached the log');
    assert.ok(!host.stderr().includes('--inspect'), 'an env value reached the log');
  });

  it('runs checks: pass with details, throw, false, healthCheck object, none', async () => {
    let res = await check('good-plugin');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-bridge-protocol'], '1');
    assert.equal(res.json.ok, true);
    assert.equal(res.json.message, 'connected as plugind-agent');
    assert.deepEqual(res.json.details, { latencyMs: 3 });
    assert.equal(typeof res.json.durationMs, 'number');

    res = await check('@acme/plugin-check-fail');
    assert.equal(res.status, 200);
    assert.deepEqual({ ok: res.json.ok, message: res.json.message }, { ok: false, message: 'invalid credentials for acme' });

    res = await check('@acme/plugin-check-false');
    assert.equal(res.status, 200);
    assert.equal(res.json.ok, false);
    assert.match(res.json.message, /healthCheck\(\) returned false/);

    res = await check('@acme/plugin-exports');
    assert.equal(res.json.ok, true);
    assert.equal(res.json.message, 'fine');

    res = await check('@acme/plugin-nocheck');
    assert.equal(res.status, 200);
    assert.deepEqual({ ok: res.json.ok, message: res.json.message }, { ok: true, message: 'nocheck is loaded; it has no check' });
  });

  it('answers 409 not_loaded for a failed or unknown plugin', async () => {
    for (const npm of ['@acme/plugin-throws', '@acme/plugin-not-installed', '@nobody/unknown', 'check-fail']) {
      const res = await check(npm);
      assert.equal(res.status, 409, npm);
      assert.equal(res.json.code, 'not_loaded');
      assert.equal(typeof res.json.error, 'string');
    }
  });

  it('answers 504 when an async check hangs, within the timeout, and keeps the runtime', async () => {
    const before = (await host.status()).json;
    const started = Date.now();
    const res = await check('@acme/plugin-check-hang', 400);
    const took = Date.now() - started;
    assert.equal(res.status, 504);
    assert.deepEqual(res.json, { error: 'check timed out after 400 ms', code: 'timeout' });
    assert.ok(took >= 390 && took < 2500, `took ${took} ms`);
    await sleep(1300); // past the liveness probe
    const after = (await host.status()).json;
    assert.equal(after.state, 'running');
    assert.equal(after.pid, before.pid, 'a responsive runtime is not restarted');
    assert.equal((await check('good-plugin')).json.ok, true);
  });

  it('rejects bad requests: 404, 405, 400, 413', async () => {
    let res = await request(host.socket, 'GET', '/v1/nothing');
    assert.equal(res.status, 404);
    assert.equal(res.json.code, 'not_found');
    assert.equal(res.headers['x-bridge-protocol'], '1');
    assert.equal(res.headers['content-type'], 'application/json');

    res = await request(host.socket, 'POST', '/v1/status', {});
    assert.equal(res.status, 405);
    assert.equal(res.json.code, 'method_not_allowed');
    assert.equal(res.headers.allow, 'GET');

    res = await request(host.socket, 'POST', '/v1/plugins/check', undefined, { rawBody: '{"package": ' });
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'bad_request');

    res = await request(host.socket, 'POST', '/v1/plugins/check', undefined, { rawBody: '[1]' });
    assert.equal(res.status, 400);

    res = await request(host.socket, 'POST', '/v1/plugins/check', { timeoutMs: 100 });
    assert.equal(res.status, 400);
    res = await request(host.socket, 'POST', '/v1/plugins/check', { package: 'good-plugin', timeoutMs: 'soon' });
    assert.equal(res.status, 400);
    res = await request(host.socket, 'POST', '/v1/restart', { reasons: 'one' });
    assert.equal(res.status, 400);

    res = await request(host.socket, 'POST', '/v1/restart', undefined, { rawBody: JSON.stringify({ reasons: ['x'.repeat(70 * 1024)] }) });
    assert.equal(res.status, 413);
    assert.equal(res.json.code, 'too_large');
    assert.equal((await host.status()).json.state, 'running', 'a refused restart does not restart');
  });

  it('answers status immediately while plugins load', async () => {
    // The runtime is loading (init-timeout plugin takes INIT_TIMEOUT_MS); status must not wait for it.
    const res = await request(host.socket, 'POST', '/v1/restart', { reasons: ['test: status while loading'] });
    assert.equal(res.status, 202);
    const started = Date.now();
    const s = (await request(host.socket, 'GET', '/v1/status', undefined, { timeoutMs: 1000 })).json;
    assert.ok(Date.now() - started < 1000);
    assert.equal(s.state, 'starting');
    const running = await host.waitForState('running', { timeoutMs: 20000 });
    childPids.add(running.pid);
  });

  it('restarts a runtime that busy-loops in a check, after answering 504 in time', async () => {
    const before = (await host.status()).json;
    const started = Date.now();
    const res = await check('@acme/plugin-check-busy', 500);
    const took = Date.now() - started;
    assert.equal(res.status, 504);
    assert.equal(res.json.code, 'timeout');
    assert.ok(took < 2500, `took ${took} ms`);
    // Status still answers while the runtime is stuck.
    const during = await request(host.socket, 'GET', '/v1/status', undefined, { timeoutMs: 1000 });
    assert.equal(during.status, 200);
    const after = await waitFor(async () => {
      const s = (await host.status()).json;
      return s.state === 'running' && s.generation > before.generation ? s : false;
    }, { timeoutMs: 20000, what: 'a fresh runtime' });
    childPids.add(after.pid);
    assert.notEqual(after.pid, before.pid);
    assert.match(after.restartReasons.join(' '), /stopped responding during the check of @acme\/plugin-check-busy/);
    await waitFor(() => !isAlive(before.pid), { timeoutMs: 5000, what: 'the stuck runtime to be killed' });
    assert.equal(pluginByPackage(after, '@acme/plugin-check-busy').loaded, true);
  });

  it('restarts on request: the fresh runtime re-reads the config and plugin folders', async () => {
    const before = (await host.status()).json;
    const config = JSON.parse(fs.readFileSync(fx.configPath, 'utf8'));
    config.env.ACME_TOKEN = 'tok-123456';
    config.plugins.entries['good-plugin'].enabled = false;
    writeJSON(fx.configPath, config);
    // A newly installed plugin appears after the restart.
    writeInstalled(fx.state, '@acme/plugin-new', {}, { 'index.js': plugin(`{ name: 'new' }`) });
    config.plugins.entries['@acme/plugin-new'] = { enabled: true };
    writeJSON(fx.configPath, config);

    const res = await request(host.socket, 'POST', '/v1/restart', { reasons: ['needs-setting: ACME_TOKEN changed', 'good-plugin was disabled'] });
    assert.equal(res.status, 202);
    assert.deepEqual(res.json, { ok: true, state: 'starting' });
    assert.equal(res.headers['x-bridge-protocol'], '1');
    const immediately = (await host.status()).json;
    assert.equal(immediately.state, 'starting');
    assert.deepEqual(immediately.restartReasons, ['needs-setting: ACME_TOKEN changed', 'good-plugin was disabled']);

    const after = await host.waitForState('running', { timeoutMs: 20000, generation: before.generation + 1 });
    childPids.add(after.pid);
    assert.notEqual(after.pid, before.pid);
    assert.ok(!isAlive(before.pid), 'the old runtime is gone');
    assert.equal(pluginByPackage(after, '@acme/plugin-needs-setting').loaded, true);
    assert.equal(pluginByPackage(after, '@acme/plugin-needs-setting').error, null);
    assert.equal(pluginByPackage(after, 'good-plugin'), undefined, 'a disabled plugin is not loaded');
    assert.equal(pluginByPackage(after, '@acme/plugin-new').loaded, true);
    assert.equal((await check('good-plugin')).status, 409);
  });

  it('several restarts in a row end in one running runtime', async () => {
    const before = (await host.status()).json;
    for (let i = 0; i < 4; i++) {
      assert.equal((await request(host.socket, 'POST', '/v1/restart', { reasons: [`burst ${i}`] })).status, 202);
    }
    const after = await host.waitForState('running', { timeoutMs: 20000 });
    childPids.add(after.pid);
    assert.deepEqual(after.restartReasons, ['burst 3']);
    await sleep(300);
    const settled = (await host.status()).json;
    assert.equal(settled.state, 'running');
    assert.equal(settled.pid, after.pid);
    assert.ok(isAlive(after.pid));
    assert.ok(!isAlive(before.pid));
  });

  it('survives its runtime being killed: state failed, status still fast, check 503, restart recovers', async () => {
    const before = (await host.status()).json;
    assert.equal(before.state, 'running');
    process.kill(before.pid, 'SIGKILL');
    const failed = await host.waitForState('failed', { timeoutMs: 5000 });
    assert.equal(failed.pid, null);
    assert.deepEqual(failed.lastExit.signal, 'SIGKILL');
    assert.match(failed.error, /exited unexpectedly \(signal SIGKILL\)/);
    assert.ok(failed.plugins.length > 0, 'the last known plugins stay listed');
    assert.ok(failed.plugins.every((p) => p.loaded === false), 'nothing is loaded in a dead runtime');
    assert.match(pluginByPackage(failed, '@acme/plugin-nocheck').error, /exited unexpectedly/);
    assert.equal(pluginByPackage(failed, '@acme/plugin-throws').error, 'boom while importing acme', 'earlier failures keep their text');

    const started = Date.now();
    const res = await request(host.socket, 'GET', '/v1/status', undefined, { timeoutMs: 1000 });
    assert.ok(Date.now() - started < 1000);
    assert.equal(res.json.state, 'failed');

    const c = await check('@acme/plugin-nocheck');
    assert.equal(c.status, 503);
    assert.equal(c.json.code, 'not_running');

    await sleep(1000);
    assert.equal((await host.status()).json.state, 'failed', 'no automatic restart');

    assert.equal((await request(host.socket, 'POST', '/v1/restart', { reasons: ['recover'] })).status, 202);
    const after = await host.waitForState('running', { timeoutMs: 20000 });
    childPids.add(after.pid);
    assert.equal(after.error, null);
    assert.equal(pluginByPackage(after, '@acme/plugin-nocheck').loaded, true);
  });

  it('stops on SIGTERM: exit 0, runtime gone, socket removed', async () => {
    const s = (await host.status()).json;
    const result = await host.stop();
    assert.deepEqual(result, { code: 0, signal: null });
    assert.ok(!fs.existsSync(host.socket), 'the socket is removed');
    await waitFor(() => !isAlive(s.pid), { timeoutMs: 3000, what: 'the runtime to exit' });
    assert.match(host.stderr(), /SIGTERM: stopping/);
  });
});

// The host's pure parts: the enabled rule and plugin locations, entry resolution, plugin objects and
// check answers, options, the log scrubber.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  planPlugins, shortId, configKey, directoryName, settingsFromConfig, readAgentConfig, isBlockedKey, MILADY_CORE, MILADY_OPTIONAL_CORE,
} from '../plan.mjs';
import { resolvePackageEntry } from '../package-entry.mjs';
import { findPluginObject, interpretCheckValue, errorText, withTimeout } from '../plugin-object.mjs';
import { parseOptions, UsageError } from '../options.mjs';
import { secretScrubber } from '../log.mjs';
import { tempDir, writePackage, writeInstalled, writeEjected, writeBundled } from '../test-support/host.mjs';

const roots = [];
const temp = () => {
  const dir = tempDir('agent-host-unit-');
  roots.push(dir);
  return dir;
};
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

describe('ids and names', () => {
  it('short ids, config keys and install directories follow the contract', () => {
    assert.equal(shortId('@elizaos/plugin-discord'), 'discord');
    assert.equal(shortId('@acme/plugin-x'), 'x');
    assert.equal(shortId('plugin-'), 'plugin-');
    assert.equal(shortId('eliza-thing'), 'eliza-thing');
    assert.equal(configKey('@elizaos/plugin-discord'), 'discord');
    assert.equal(configKey('@acme/plugin-x'), '@acme/plugin-x');
    assert.equal(configKey('@elizaos/core'), '@elizaos/core');
    assert.equal(directoryName('@elizaos/plugin-discord'), '_elizaos_plugin-discord');
    assert.equal(directoryName('Weird.Name_ok-1'), 'Weird.Name_ok-1');
    assert.equal(directoryName('a+b~c'), 'a_b_c');
  });

  it('Milady\'s lists: 18 core and 14 optional-core', () => {
    assert.equal(MILADY_CORE.length, 18);
    assert.equal(MILADY_OPTIONAL_CORE.length, 14);
    assert.ok(MILADY_CORE.includes('@elizaos/plugin-sql'));
    assert.ok(MILADY_OPTIONAL_CORE.includes('@elizaos/plugin-claude-code-workbench'));
  });

  it('blocked keys never become process environment', () => {
    for (const key of ['NODE_OPTIONS', 'node_options', 'LD_PRELOAD', 'DYLD_INSERT_LIBRARIES', 'PATH', 'NPM_CONFIG_REGISTRY', 'PLUGIND_X', 'HOME']) {
      assert.ok(isBlockedKey(key), key);
    }
    for (const key of ['OPENAI_API_KEY', 'EVM_PRIVATE_KEY', 'DATABASE_URL', 'GITHUB_TOKEN']) assert.ok(!isBlockedKey(key), key);
  });
});

describe('the agent config', () => {
  it('settings are every env value as a string', () => {
    assert.deepEqual(settingsFromConfig({ env: { A: 'x', N: 42, F: 1.5, B: false, Z: null, O: { k: [1] } } }),
      { A: 'x', N: '42', F: '1.5', B: 'false', O: '{"k":[1]}' });
    assert.deepEqual(settingsFromConfig({}), {});
    assert.deepEqual(settingsFromConfig({ env: [1, 2] }), {});
  });

  it('reads strict JSON objects only; a missing file is empty', () => {
    const dir = temp();
    assert.deepEqual(readAgentConfig(path.join(dir, 'none.json')), { config: {}, missing: true });
    fs.writeFileSync(path.join(dir, 'a.json'), '{"env": {}}');
    assert.deepEqual(readAgentConfig(path.join(dir, 'a.json')).config, { env: {} });
    fs.writeFileSync(path.join(dir, 'b.json'), '{env: {}}');
    assert.throws(() => readAgentConfig(path.join(dir, 'b.json')), /is not valid JSON/);
    fs.writeFileSync(path.join(dir, 'c.json'), '[]');
    assert.throws(() => readAgentConfig(path.join(dir, 'c.json')), /not a JSON object/);
  });
});

describe('the plan: what loads, from where', () => {
  const setup = () => {
    const root = temp();
    const stateDir = path.join(root, 'state');
    const bundledDir = path.join(root, 'bundled');
    fs.mkdirSync(stateDir);
    return { root, stateDir, bundledDir };
  };
  const plan = (fx, config, core = ['@elizaos/plugin-sql'], optionalCore = ['@elizaos/plugin-discord', '@elizaos/plugin-vision']) =>
    planPlugins({ config, stateDir: fx.stateDir, bundledDir: fx.bundledDir, core, optionalCore });

  it('core always; optional-core only by plugins.allow (npm name or short id); others by entries.enabled === true', () => {
    const fx = setup();
    const result = plan(fx, {
      plugins: {
        allow: ['vision', 'not-optional'],
        entries: {
          discord: { enabled: true }, // optional-core: entries do not enable it
          sql: { enabled: false }, // core: cannot be disabled
          openai: { enabled: true },
          anthropic: { enabled: 'true' }, // only the boolean true enables
          '@acme/x': { enabled: true },
          'not-optional': {}, // allow does nothing for a plugin that is not optional-core
        },
      },
    });
    assert.deepEqual(result.map((p) => p.package), ['@elizaos/plugin-sql', '@elizaos/plugin-vision', '@elizaos/plugin-openai', '@acme/x']);
    assert.deepEqual(result.map((p) => p.source), ['core', 'optional-core', 'bundled', 'bundled']);
    assert.ok(result.every((p) => p.path === null && p.error === 'not installed'));
    assert.deepEqual(plan(fx, { plugins: { allow: ['@elizaos/plugin-discord'] } }).map((p) => p.package), ['@elizaos/plugin-sql', '@elizaos/plugin-discord']);
  });

  it('an ejected copy wins over an installed package, which wins over the bundled one', () => {
    const fx = setup();
    writeBundled(fx.bundledDir, '@elizaos/plugin-openai', {}, { 'index.js': '' });
    writeBundled(fx.bundledDir, '@elizaos/plugin-sql', {}, { 'index.js': '' });
    writeInstalled(fx.stateDir, '@elizaos/plugin-openai', {}, { 'index.js': '' });
    writeInstalled(fx.stateDir, '@acme/x', {}, { 'index.js': '' });
    writeEjected(fx.stateDir, '@acme/x', {}, { 'index.js': '' });
    // An ejected directory is known by its package.json name, not its folder name.
    writePackage(path.join(fx.stateDir, 'plugins/ejected/renamed-folder'), { name: '@acme/y' });
    const result = plan(fx, { plugins: { entries: { openai: { enabled: true }, '@acme/x': { enabled: true }, '@acme/y': { enabled: true } } } });
    assert.deepEqual(result.map((p) => [p.package, p.source, p.path && path.relative(fx.root, p.path)]), [
      ['@elizaos/plugin-sql', 'core', 'bundled/@elizaos/plugin-sql'],
      ['@elizaos/plugin-openai', 'installed', 'state/plugins/installed/_elizaos_plugin-openai/node_modules/@elizaos/plugin-openai'],
      ['@acme/x', 'ejected', 'state/plugins/ejected/_acme_x'],
      ['@acme/y', 'ejected', 'state/plugins/ejected/renamed-folder'],
    ]);
    assert.ok(result.every((p) => p.error === null));
  });

  it('an install record\'s installPath is honoured', () => {
    const fx = setup();
    const elsewhere = path.join(fx.root, 'elsewhere');
    writePackage(path.join(elsewhere, 'node_modules', '@acme/z'), { name: '@acme/z' });
    const result = plan(fx, { plugins: { entries: { '@acme/z': { enabled: true } }, installs: { '@acme/z': { installPath: elsewhere } } } }, []);
    assert.deepEqual(result.map((p) => [p.source, p.path]), [['installed', path.join(elsewhere, 'node_modules', '@acme/z')]]);
  });

  it('a bare entries key is an unscoped package only when that package exists and no @elizaos/plugin-<key> does', () => {
    const fx = setup();
    writeInstalled(fx.stateDir, 'left-plugin', {}, { 'index.js': '' });
    writeBundled(fx.bundledDir, 'bundled-unscoped', {}, { 'index.js': '' });
    const result = plan(fx, { plugins: { entries: { 'left-plugin': { enabled: true }, 'bundled-unscoped': { enabled: true }, ghost: { enabled: true } } } }, []);
    assert.deepEqual(result.map((p) => [p.package, p.source]), [
      ['left-plugin', 'installed'], ['bundled-unscoped', 'bundled'], ['@elizaos/plugin-ghost', 'bundled'],
    ]);
    // An install record alone names the package too (its code may be missing: "not installed").
    const recorded = plan(fx, { plugins: { entries: { gone: { enabled: true } }, installs: { gone: { version: '1.0.0' } } } }, []);
    assert.deepEqual(recorded, [{ package: 'gone', source: 'installed', path: null, error: 'not installed' }]);
  });

  it('tolerates junk in the config', () => {
    const fx = setup();
    for (const config of [{}, { plugins: null }, { plugins: { entries: [], allow: 'x', installs: 3 } }, { plugins: { entries: { a: null, b: 1 } } }]) {
      assert.deepEqual(plan(fx, config, []), []);
    }
  });
});

describe('entry resolution (like Node for a package directory)', () => {
  const pkg = (manifest, files) => writePackage(path.join(temp(), 'p'), manifest, files);
  const rel = (dir) => path.relative(dir, resolvePackageEntry(dir));

  it('exports as a string, "." subpaths, nested conditions in key order, arrays', () => {
    assert.equal(rel(pkg({ exports: './a.js', main: 'b.js' }, { 'a.js': '', 'b.js': '' })), 'a.js');
    assert.equal(rel(pkg({ exports: { '.': './a.js', './x': './x.js' } }, { 'a.js': '' })), 'a.js');
    assert.equal(rel(pkg({ exports: { types: './t.d.ts', import: './esm.js', require: './cjs.js' } }, { 'esm.js': '', 'cjs.js': '' })), 'esm.js');
    assert.equal(rel(pkg({ exports: { '.': { require: './cjs.js', default: './d.js' } } }, { 'cjs.js': '', 'd.js': '' })), 'd.js');
    assert.equal(rel(pkg({ exports: { '.': { import: { types: './x.d.ts', default: './dist/i.mjs' } } } }, { 'dist/i.mjs': '' })), 'dist/i.mjs');
    assert.equal(rel(pkg({ exports: { '.': { browser: './b.js', node: './n.js' } } }, { 'b.js': '', 'n.js': '' })), 'n.js');
    assert.equal(rel(pkg({ exports: { '.': [{ worker: './w.js' }, './fallback.js'] } }, { 'fallback.js': '' })), 'fallback.js');
    // CommonJS-only maps still load through import().
    assert.equal(rel(pkg({ exports: { '.': { require: './only.cjs' } } }, { 'only.cjs': '' })), 'only.cjs');
  });

  it('then main (with Node\'s extensions and index files), then index.js', () => {
    assert.equal(rel(pkg({ main: 'lib/start' }, { 'lib/start.js': '' })), path.join('lib', 'start.js'));
    assert.equal(rel(pkg({ main: 'lib' }, { 'lib/index.js': '' })), path.join('lib', 'index.js'));
    assert.equal(rel(pkg({ main: 'missing.js' }, { 'index.js': '' })), 'index.js');
    assert.equal(rel(pkg({}, { 'index.js': '' })), 'index.js');
  });

  it('says what is wrong', () => {
    assert.throws(() => resolvePackageEntry(pkg({ exports: { './sub': './s.js' } }, {})), /has no "\." entry/);
    assert.throws(() => resolvePackageEntry(pkg({ exports: { '.': { browser: './b.js' } } }, {})), /has no "\." entry/);
    assert.throws(() => resolvePackageEntry(pkg({ exports: './gone.js' }, {})), /entry point \.\/gone\.js .* does not exist/);
    assert.throws(() => resolvePackageEntry(pkg({ exports: '../outside.js' }, {})), /must start with "\.\/"/);
    assert.throws(() => resolvePackageEntry(pkg({ exports: './../../x.js' }, {})), /outside the package/);
    assert.throws(() => resolvePackageEntry(pkg({ main: 'nope.js' }, {})), /"main"\) does not exist/);
    assert.throws(() => resolvePackageEntry(pkg({}, {})), /no entry point/);
    const dir = path.join(temp(), 'broken');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), '{');
    assert.throws(() => resolvePackageEntry(dir), /cannot read .*package\.json/);
  });
});

describe('plugin objects and checks', () => {
  it('finds the plugin in default, named `plugin`, or CommonJS default.default', () => {
    const p = { name: 'p' };
    assert.equal(findPluginObject({ default: p }), p);
    assert.equal(findPluginObject({ default: { version: 1 }, plugin: p }), p);
    assert.equal(findPluginObject({ default: { default: p } }), p);
    assert.equal(findPluginObject({ default: { name: '' } }), null);
    assert.equal(findPluginObject({ default: 'p' }), null);
    assert.equal(findPluginObject({ other: p }), null);
    assert.equal(findPluginObject({ default: { name: 3 } }), null);
  });

  it('reads check answers as documented', () => {
    assert.deepEqual(interpretCheckValue(false, 'p', 'testConnection'), { ok: false, message: 'p: testConnection() returned false' });
    assert.deepEqual(interpretCheckValue(true, 'p', 'testConnection'), { ok: true, message: 'p: testConnection() passed' });
    assert.deepEqual(interpretCheckValue(undefined, 'p', 'healthCheck'), { ok: true, message: 'p: healthCheck() passed' });
    assert.deepEqual(interpretCheckValue({ ok: false, message: 'bad key', details: { code: 401 } }, 'p', 't'), { ok: false, message: 'bad key', details: { code: 401 } });
    assert.deepEqual(interpretCheckValue({ ok: true }, 'p', 't'), { ok: true, message: 'p: t() passed' });
    assert.deepEqual(interpretCheckValue({ healthy: false }, 'p', 'healthCheck'), { ok: false, message: 'p: healthCheck() failed' });
    assert.deepEqual(interpretCheckValue({ status: 'up' }, 'p', 't'), { ok: true, message: 'p: t() passed', details: { status: 'up' } });
    assert.deepEqual(interpretCheckValue('pong', 'p', 't'), { ok: true, message: 'pong' });
    const circular = { ok: true };
    circular.details = circular;
    assert.deepEqual(interpretCheckValue(circular, 'p', 't'), { ok: true, message: 'p: t() passed' });
    assert.equal(interpretCheckValue({ ok: true, details: 'x'.repeat(20000) }, 'p', 't').details.truncated, true);
  });

  it('error texts are the real message, bounded', () => {
    assert.equal(errorText(new Error('real')), 'real');
    assert.equal(errorText('thrown string'), 'thrown string');
    assert.equal(errorText({ code: 1 }), '{"code":1}');
    assert.equal(errorText(undefined), 'undefined was thrown');
    assert.equal(errorText(new Error('x'.repeat(5000))).length, 4001);
  });

  it('withTimeout rejects with the given message', async () => {
    await assert.rejects(withTimeout(new Promise(() => {}), 20, 'init timed out after 20 ms'), { message: 'init timed out after 20 ms' });
    assert.equal(await withTimeout(Promise.resolve(5), 20, 'x'), 5);
  });
});

describe('options', () => {
  const base = ['--socket', '/run/x.sock'];
  it('defaults', () => {
    const o = parseOptions(base, {});
    assert.equal(o.stateDir, '/var/lib/plugind');
    assert.equal(o.configPath, '/var/lib/plugind/milady.json');
    assert.equal(o.bundledDir, null);
    assert.equal(o.socket, '/run/x.sock');
    assert.equal(o.port, null);
    assert.equal(o.initTimeoutMs, 10000);
    assert.deepEqual(o.core, MILADY_CORE);
    assert.deepEqual(o.optionalCore, MILADY_OPTIONAL_CORE);
  });

  it('flags win over the environment; lists accept short ids; "" means none', () => {
    const env = { PLUGIND_STATE_DIR: '/s', PLUGIND_AGENT_CONFIG: '/c.json', PLUGIND_CORE_PLUGINS: 'sql', PLUGIND_AGENT_INIT_TIMEOUT_MS: '500' };
    let o = parseOptions([...base, '--state-dir=/t'], env);
    assert.equal(o.stateDir, '/t');
    assert.equal(o.configPath, '/c.json');
    assert.deepEqual(o.core, ['@elizaos/plugin-sql']);
    assert.equal(o.initTimeoutMs, 500);
    o = parseOptions([...base, '--core', '', '--optional-core', 'a, @x/y ,a'], env);
    assert.deepEqual(o.core, []);
    assert.deepEqual(o.optionalCore, ['@elizaos/plugin-a', '@x/y']);
    o = parseOptions([...base, '--core', 'a,b', '--optional-core', 'b,c'], {});
    assert.deepEqual(o.optionalCore, ['@elizaos/plugin-c'], 'a name in both lists is core');
  });

  it('the address from --port, PLUGIND_AGENT_* or PLUGIND_RUNTIME_BRIDGE', () => {
    assert.equal(parseOptions(['--port', '0'], {}).port, 0);
    assert.equal(parseOptions([], { PLUGIND_AGENT_PORT: '8123' }).port, 8123);
    assert.equal(parseOptions([], { PLUGIND_AGENT_SOCKET: '/a.sock' }).socket, '/a.sock');
    assert.equal(parseOptions([], { PLUGIND_RUNTIME_BRIDGE: 'unix:/b.sock' }).socket, '/b.sock');
    assert.equal(parseOptions([], { PLUGIND_RUNTIME_BRIDGE: 'http://127.0.0.1:9000' }).port, 9000);
    assert.equal(parseOptions(['--port', '1'], { PLUGIND_AGENT_SOCKET: '/a.sock' }).socket, null, 'a flag replaces the environment\'s address');
    assert.throws(() => parseOptions([], { PLUGIND_RUNTIME_BRIDGE: 'http://0.0.0.0:9000' }), UsageError);
    assert.throws(() => parseOptions([], { PLUGIND_RUNTIME_BRIDGE: 'none' }), UsageError);
    assert.throws(() => parseOptions([], {}), UsageError);
    assert.throws(() => parseOptions(['--port', '70000'], {}), UsageError);
    assert.throws(() => parseOptions(['--port'], {}), UsageError);
    assert.throws(() => parseOptions([...base, '--init-timeout-ms', '0'], {}), UsageError);
    assert.throws(() => parseOptions(['--socket', '/' + 'd'.repeat(120) + '/b.sock'], {}), /too long/);
  });

  it('the socket mode: 0600 unless 0660 is asked for (plugind in the host\'s group)', () => {
    assert.equal(parseOptions(base, {}).socketMode, 0o600);
    assert.equal(parseOptions([...base, '--socket-mode', '0660'], {}).socketMode, 0o660);
    assert.equal(parseOptions(base, { PLUGIND_AGENT_SOCKET_MODE: '660' }).socketMode, 0o660);
    assert.throws(() => parseOptions([...base, '--socket-mode', '0666'], {}), /0600 or 0660/);
    assert.throws(() => parseOptions([...base, '--socket-mode', '0777'], {}), UsageError);
  });
});

describe('the log scrubber', () => {
  it('replaces every setting value of 4+ characters, longest first', () => {
    const scrub = secretScrubber({ A: 'sk-secret-1234', B: 'sk-secret', C: 'abc', D: '' });
    assert.equal(scrub('key sk-secret-1234 and sk-secret and abc'), 'key **** and **** and abc');
  });
});


// The agent runtime: a child process of the host (main.mjs) that imports and initialises the plugins
// and runs their checks. It talks to the host over the IPC channel only; if the host goes away it
// exits. Its options arrive as one JSON argument (see Supervisor#fork).
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { planPlugins, readAgentConfig, settingsFromConfig, isBlockedKey } from './plan.mjs';
import { resolvePackageEntry } from './package-entry.mjs';
import { findPluginObject, errorText, withTimeout, checkFunction, interpretCheckValue } from './plugin-object.mjs';
import { createLogger, secretScrubber } from './log.mjs';

const log = createLogger(`agent-host[runtime ${process.pid}]`);
const options = JSON.parse(process.argv[2] ?? '{}');
const initTimeoutMs = options.initTimeoutMs ?? 10000;

/** The agent config's `env`, every value a string. */
let currentSettings = {};
let scrub = (text) => String(text);
/** npm name → plugin object, for loaded plugins only. */
const loaded = new Map();
let runtime = null;

function send(message) {
  if (process.connected) process.send(message, undefined, undefined, () => {});
}

/** Tells the host why this runtime cannot run, then exits once the message is out. */
function fatal(error, code) {
  log(`cannot start: ${errorText(error)}`);
  if (process.connected) process.send({ type: 'fatal', error: errorText(error) }, undefined, undefined, () => process.exit(code));
  else process.exit(code);
}

// The host is gone (crashed or killed): nothing is left to answer to.
process.on('disconnect', () => process.exit(0));
// A plugin's stray async error must not take the other plugins down with it.
process.on('uncaughtException', (error) => log(`uncaught exception in plugin code: ${scrub(errorText(error))}`));
process.on('unhandledRejection', (reason) => log(`unhandled promise rejection in plugin code: ${scrub(errorText(reason))}`));

async function loadPlugin(entry) {
  const file = resolvePackageEntry(entry.path);
  const namespace = await withTimeout(import(pathToFileURL(file).href), initTimeoutMs, `import timed out after ${initTimeoutMs} ms`);
  const plugin = findPluginObject(namespace);
  if (!plugin) {
    throw new Error('no plugin object exported (expected a default export or a named `plugin` export: an object with a string `name`)');
  }
  entry.pluginName = plugin.name;
  if (typeof plugin.init === 'function') {
    const config = { ...currentSettings }; // a copy each: one plugin cannot change another's settings
    await withTimeout(Promise.resolve().then(() => plugin.init(config, runtime)), initTimeoutMs, `init timed out after ${initTimeoutMs} ms`);
  }
  return plugin;
}

async function start() {
  let config;
  try {
    const read = readAgentConfig(options.configPath);
    config = read.config;
    if (read.missing) log(`agent config ${options.configPath} does not exist; loading core plugins only`);
  } catch (error) {
    fatal(error, 78);
    return;
  }
  currentSettings = settingsFromConfig(config);
  scrub = secretScrubber(currentSettings);
  // Plugins that read process.env see the agent's settings too (never the blocked keys).
  for (const [key, value] of Object.entries(currentSettings)) if (!isBlockedKey(key)) process.env[key] = value;
  runtime = {
    agentId: 'plugind-agent',
    character: { name: 'agent' },
    getSetting: (key) => (Object.prototype.hasOwnProperty.call(currentSettings, key) ? currentSettings[key] : null),
  };

  const plan = planPlugins({
    config, stateDir: options.stateDir, bundledDir: options.bundledDir, core: options.core, optionalCore: options.optionalCore,
  });
  const entries = plan.map((item) => ({ package: item.package, pluginName: null, source: item.source, path: item.path, loaded: false, error: item.error }));
  send({ type: 'plan', plugins: entries });
  log(`loading ${entries.length} plugins (${Object.keys(currentSettings).length} settings)`);

  for (const entry of entries) {
    const skipped = options.skip?.[entry.package];
    if (skipped) {
      entry.error = skipped;
    } else if (entry.path !== null) {
      send({ type: 'loading', package: entry.package });
      try {
        loaded.set(entry.package, await loadPlugin(entry));
        entry.loaded = true;
      } catch (error) {
        entry.error = errorText(error);
      }
    }
    if (entry.loaded) log(`loaded ${entry.package} (plugin ${JSON.stringify(entry.pluginName)}, ${entry.source}, ${entry.path})`);
    else log(`failed ${entry.package} (${entry.source}${entry.path ? ', ' + entry.path : ''}): ${scrub(entry.error)}`);
    send({ type: 'plugin', plugin: entry });
  }
  const failed = entries.filter((e) => !e.loaded).length;
  log(`ready: ${entries.length - failed} loaded, ${failed} failed`);
  send({ type: 'ready' });
}

async function runCheck({ id, package: npm }) {
  const plugin = loaded.get(npm);
  if (!plugin) {
    send({ type: 'check-result', id, notLoaded: true });
    return;
  }
  const started = performance.now();
  let result;
  const check = checkFunction(plugin);
  if (!check) {
    result = { ok: true, message: `${plugin.name} is loaded; it has no check` };
  } else {
    try {
      result = interpretCheckValue(await check.fn.call(plugin, runtime), plugin.name, check.name);
    } catch (error) {
      result = { ok: false, message: errorText(error) };
    }
  }
  result.durationMs = Math.round(performance.now() - started);
  log(`check ${npm}: ${result.ok ? 'ok' : 'failed'} in ${result.durationMs} ms: ${scrub(result.message)}`);
  send({ type: 'check-result', id, result });
}

process.on('message', (message) => {
  if (message?.type === 'check') runCheck(message);
  else if (message?.type === 'ping') send({ type: 'pong', id: message.id });
});

start().catch((error) => fatal(error, 70));

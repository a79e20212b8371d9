// What the agent loads and where its code is: the contract's one `enabled` rule (section 2) applied
// to the agent config file and the plugin folders. Pure functions of the file system; no imports of
// plugin code here.
import fs from 'node:fs';
import path from 'node:path';

export const ELIZAOS_PREFIX = '@elizaos/plugin-';

/** Milady's 18 core plugins: always loaded. */
export const MILADY_CORE = [
  'sql', 'local-embedding', 'secrets-manager', 'form', 'knowledge', 'rolodex', 'trajectory-logger', 'agent-orchestrator',
  'coding-agent', 'cron', 'shell', 'plugin-manager', 'agent-skills', 'pdf', 'trust', 'todo', 'personality', 'experience',
].map((id) => ELIZAOS_PREFIX + id);

/** Milady's 14 optional-core plugins: loaded only when `plugins.allow` names them. */
export const MILADY_OPTIONAL_CORE = [
  'cua', 'obsidian', 'code', 'repoprompt', 'claude-code-workbench', 'computeruse', 'browser', 'vision', 'cli', 'discord',
  'telegram', 'twitch', 'edge-tts', 'elevenlabs',
].map((id) => ELIZAOS_PREFIX + id);

/** The npm name without `@scope/` and without a leading `plugin-`. */
export function shortId(npmName) {
  let name = npmName;
  if (name.startsWith('@') && name.includes('/')) name = name.slice(name.indexOf('/') + 1);
  if (name.startsWith('plugin-') && name.length > 'plugin-'.length) name = name.slice('plugin-'.length);
  return name;
}

/** The key under `plugins.entries`: the short id for `@elizaos/plugin-*`, else the npm name. */
export function configKey(npmName) {
  return npmName.startsWith(ELIZAOS_PREFIX) ? shortId(npmName) : npmName;
}

/** Milady's install directory rule: every character outside `[A-Za-z0-9._-]` becomes `_`. */
export function directoryName(npmName) {
  return npmName.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Contract section 2: values the agent must never take from the config into its environment. */
export function isBlockedKey(key) {
  const upper = key.toUpperCase();
  const exact = [
    'NODE_OPTIONS', 'NODE_PATH', 'NODE_EXTRA_CA_CERTS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'LD_PRELOAD', 'LD_LIBRARY_PATH',
    'LD_AUDIT', 'PATH', 'HOME', 'SHELL', 'BUN_OPTIONS', 'BUN_INSTALL', 'PYTHONPATH', 'MILADY_API_TOKEN',
    'ELIZA_SERVER_AUTH_TOKEN',
  ];
  return exact.includes(upper) || upper.startsWith('DYLD_') || upper.startsWith('NPM_CONFIG_') || upper.startsWith('PLUGIND_');
}

/**
 * Reads the agent config. A missing file is an empty config (a fresh agent: core plugins only);
 * a file that is not strict JSON, or not an object, throws with the reason.
 */
export function readAgentConfig(configPath) {
  let text;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return { config: {}, missing: true };
    throw new Error(`cannot read the agent config ${configPath}: ${error.message}`);
  }
  let config;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new Error(`the agent config ${configPath} is not valid JSON: ${error.message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new Error(`the agent config ${configPath} is not a JSON object`);
  }
  return { config, missing: false };
}

/** `env.<KEY>` of the agent config, every value as a string (what plugins get as settings). */
export function settingsFromConfig(config) {
  const env = isObject(config.env) ? config.env : {};
  const settings = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'string') settings[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') settings[key] = String(value);
    else settings[key] = JSON.stringify(value);
  }
  return settings;
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readJSON(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function isPackageDir(dir) {
  try {
    return fs.statSync(path.join(dir, 'package.json')).isFile();
  } catch {
    return false;
  }
}

function listDirs(root) {
  try {
    return fs.readdirSync(root, { withFileTypes: true })
      .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || d.isSymbolicLink()))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * The plugin folders under the state directory: ejected copies by package name, install records and
 * install directories.
 */
export function scanPluginFolders({ stateDir, config }) {
  const ejectedRoot = path.join(stateDir, 'plugins', 'ejected');
  const installRoot = path.join(stateDir, 'plugins', 'installed');
  const ejected = new Map();
  for (const dir of listDirs(ejectedRoot)) {
    const full = path.join(ejectedRoot, dir);
    const name = readJSON(path.join(full, 'package.json'))?.name;
    if (typeof name === 'string' && name && !ejected.has(name)) ejected.set(name, full);
  }
  const installs = isObject(config.plugins) && isObject(config.plugins.installs) ? config.plugins.installs : {};
  // Unscoped npm names present on disk or in records, to read `plugins.entries` keys right.
  const knownNames = new Set([...ejected.keys(), ...Object.keys(installs)]);
  for (const dir of listDirs(installRoot)) {
    const deps = readJSON(path.join(installRoot, dir, 'package.json'))?.dependencies;
    if (isObject(deps)) for (const name of Object.keys(deps)) if (directoryName(name) === dir) knownNames.add(name);
  }
  return { ejectedRoot, installRoot, ejected, installs, knownNames };
}

/**
 * Where a package's code is: an ejected copy wins, then an installed package, then the bundled
 * plugins directory. Returns `{ kind: 'ejected'|'installed'|'bundled', path }` or null.
 */
export function locatePackage(npmName, { folders, bundledDir }) {
  const ejected = folders.ejected.get(npmName);
  if (ejected) return { kind: 'ejected', path: ejected };
  const candidates = [];
  const record = folders.installs[npmName];
  if (isObject(record) && typeof record.installPath === 'string' && record.installPath) {
    candidates.push(path.join(record.installPath, 'node_modules', npmName));
  }
  candidates.push(path.join(folders.installRoot, directoryName(npmName), 'node_modules', npmName));
  for (const dir of candidates) if (isPackageDir(dir)) return { kind: 'installed', path: dir };
  if (bundledDir) {
    const dir = path.join(bundledDir, npmName);
    if (isPackageDir(dir)) return { kind: 'bundled', path: dir };
  }
  return null;
}

/**
 * Every plugin the agent loads, in load order (core, allowed optional-core, then enabled entries in
 * the config's order), each as `{ package, source, path, error }`; `error` is "not installed" when
 * no code was found, else null.
 */
export function planPlugins({ config, stateDir, bundledDir, core, optionalCore }) {
  const folders = scanPluginFolders({ stateDir, config });
  const coreSet = new Set(core);
  const optionalSet = new Set(optionalCore);
  const exists = (npm) => locatePackage(npm, { folders, bundledDir }) !== null;

  // A config key (or allow item) back to an npm name: scoped names are themselves; a bare word is an
  // unscoped package only when such a package is known and no `@elizaos/plugin-<word>` is.
  const npmNameOf = (key) => {
    if (key.startsWith('@') || key.includes('/')) return key;
    const elizaos = ELIZAOS_PREFIX + key;
    if (coreSet.has(elizaos) || optionalSet.has(elizaos) || exists(elizaos)) return elizaos;
    if (folders.knownNames.has(key) || exists(key)) return key;
    return elizaos;
  };

  const plugins = isObject(config.plugins) ? config.plugins : {};
  const allow = Array.isArray(plugins.allow) ? plugins.allow.filter((x) => typeof x === 'string' && x) : [];
  const allowed = new Set(allow.map(npmNameOf));
  const entries = isObject(plugins.entries) ? plugins.entries : {};

  const wanted = [];
  const seen = new Set();
  const want = (npm, role) => {
    if (seen.has(npm)) return;
    seen.add(npm);
    wanted.push({ npm, role });
  };
  for (const npm of core) want(npm, 'core');
  for (const npm of optionalCore) if (allowed.has(npm)) want(npm, 'optional-core');
  for (const [key, entry] of Object.entries(entries)) {
    if (!isObject(entry) || entry.enabled !== true) continue;
    const npm = npmNameOf(key);
    if (coreSet.has(npm) || optionalSet.has(npm)) continue; // core: always; optional-core: `allow` decides
    want(npm, 'other');
  }

  return wanted.map(({ npm, role }) => {
    const found = locatePackage(npm, { folders, bundledDir });
    let source;
    if (found && found.kind !== 'bundled') source = found.kind;
    else if (role !== 'other') source = role;
    else source = found ? 'bundled' : (isObject(folders.installs[npm]) ? 'installed' : 'bundled');
    return { package: npm, source, path: found ? found.path : null, error: found ? null : 'not installed' };
  });
}

// Command line and environment of the agent host. A flag wins over its environment variable.
import path from 'node:path';
import { MILADY_CORE, MILADY_OPTIONAL_CORE, ELIZAOS_PREFIX } from './plan.mjs';

export const USAGE = `usage: node agent-host/main.mjs --config <agent config json> --state-dir <plugind state dir>
         [--bundled-dir <dir>] (--socket <unix path> | --port <n>) [--init-timeout-ms 10000]
         [--core a,b,...] [--optional-core a,b,...] [--kill-grace-ms 2000] [--max-old-space-mb <n>]

  --config           the agent config file (env PLUGIND_AGENT_CONFIG; default <state dir>/milady.json)
  --state-dir        plugind's state directory, holding plugins/installed and plugins/ejected
                     (env PLUGIND_STATE_DIR; default /var/lib/plugind)
  --bundled-dir      the agent's own node_modules: core, optional-core and catalogue plugins
                     (env PLUGIND_BUNDLED_PLUGINS_DIR; default none)
  --socket           answer the bridge on this unix socket, created with mode 0600
                     (env PLUGIND_AGENT_SOCKET, or PLUGIND_RUNTIME_BRIDGE=unix:<path>)
  --socket-mode      the socket's mode instead, 0600 or 0660 (0660: plugind reaches it through the
                     host's group, when the two run as different users; env PLUGIND_AGENT_SOCKET_MODE)
  --port             answer the bridge on 127.0.0.1:<port> instead; 0 picks a free port
                     (env PLUGIND_AGENT_PORT, or PLUGIND_RUNTIME_BRIDGE=http://127.0.0.1:<port>)
  --init-timeout-ms  bound on each plugin's import and each init() (env PLUGIND_AGENT_INIT_TIMEOUT_MS)
  --core             core plugins, npm names, comma-separated; "" for none (env PLUGIND_CORE_PLUGINS;
                     default Milady's 18)
  --optional-core    optional-core plugins (env PLUGIND_OPTIONAL_CORE_PLUGINS; default Milady's 14)
  --kill-grace-ms    SIGTERM→SIGKILL grace when stopping the runtime (env PLUGIND_AGENT_KILL_GRACE_MS)
  --max-old-space-mb V8 heap limit of the runtime process (env PLUGIND_AGENT_MAX_OLD_SPACE_MB)`;

export class UsageError extends Error {}

const FLAGS = {
  '--config': 'config',
  '--state-dir': 'stateDir',
  '--bundled-dir': 'bundledDir',
  '--socket': 'socket',
  '--socket-mode': 'socketMode',
  '--port': 'port',
  '--init-timeout-ms': 'initTimeoutMs',
  '--core': 'core',
  '--optional-core': 'optionalCore',
  '--kill-grace-ms': 'killGraceMs',
  '--max-old-space-mb': 'maxOldSpaceMb',
};

const ENV = {
  config: 'PLUGIND_AGENT_CONFIG',
  stateDir: 'PLUGIND_STATE_DIR',
  bundledDir: 'PLUGIND_BUNDLED_PLUGINS_DIR',
  socket: 'PLUGIND_AGENT_SOCKET',
  socketMode: 'PLUGIND_AGENT_SOCKET_MODE',
  port: 'PLUGIND_AGENT_PORT',
  initTimeoutMs: 'PLUGIND_AGENT_INIT_TIMEOUT_MS',
  core: 'PLUGIND_CORE_PLUGINS',
  optionalCore: 'PLUGIND_OPTIONAL_CORE_PLUGINS',
  killGraceMs: 'PLUGIND_AGENT_KILL_GRACE_MS',
  maxOldSpaceMb: 'PLUGIND_AGENT_MAX_OLD_SPACE_MB',
};

function integer(name, text, min, max) {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${name} must be a whole number, not "${text}"`);
  const value = Number(text.trim());
  if (value < min || value > max) throw new UsageError(`${name} must be between ${min} and ${max}`);
  return value;
}

/** A comma-separated list of npm names; a bare word `x` means `@elizaos/plugin-x`. */
function nameList(text) {
  return [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean)
    .map((name) => (name.startsWith('@') || name.includes('/') ? name : ELIZAOS_PREFIX + name)))];
}

/** Parsed options, or a UsageError. `{ help: true }` for --help. */
export function parseOptions(argv, env = process.env) {
  const raw = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const key = FLAGS[arg];
    if (!key) throw new UsageError(`unknown argument: ${arg}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      value = argv[++i];
    }
    raw[key] = value;
  }
  const fromEnv = (key) => (raw[key] !== undefined ? raw[key] : (env[ENV[key]] !== undefined && env[ENV[key]] !== '' ? env[ENV[key]] : undefined));
  // An explicitly empty --core "" means no core plugins; an empty variable means "not set".
  const listOption = (key) => (raw[key] !== undefined ? raw[key] : env[ENV[key]] || undefined);

  const stateDir = path.resolve(fromEnv('stateDir') ?? '/var/lib/plugind');
  const configPath = path.resolve(fromEnv('config') ?? path.join(stateDir, 'milady.json'));
  const bundled = fromEnv('bundledDir');

  let socket = raw.socket;
  let port = raw.port;
  if (socket !== undefined && port !== undefined) throw new UsageError('give --socket or --port, not both');
  if (socket === undefined && port === undefined) {
    socket = fromEnv('socket');
    port = fromEnv('port');
    if (socket !== undefined && port !== undefined) throw new UsageError(`set ${ENV.socket} or ${ENV.port}, not both`);
    if (socket === undefined && port === undefined && env.PLUGIND_RUNTIME_BRIDGE) {
      const bridge = env.PLUGIND_RUNTIME_BRIDGE;
      const loopback = /^http:\/\/127\.0\.0\.1:(\d+)\/?$/.exec(bridge);
      if (bridge.startsWith('unix:')) socket = bridge.slice('unix:'.length);
      else if (loopback) port = loopback[1];
      else throw new UsageError(`PLUGIND_RUNTIME_BRIDGE must be unix:<path> or http://127.0.0.1:<port> for the host, not "${bridge}"`);
    }
  }
  if (socket === undefined && port === undefined) throw new UsageError('give --socket <path> or --port <n>');
  if (socket !== undefined && socket === '') throw new UsageError('--socket needs a path');
  if (socket !== undefined && Buffer.byteLength(path.resolve(socket)) > 107) {
    throw new UsageError(`the socket path ${path.resolve(socket)} is too long: a unix socket path has at most 107 bytes`);
  }

  const socketModeText = fromEnv('socketMode') ?? '0600';
  if (!['0600', '0660', '600', '660'].includes(socketModeText)) throw new UsageError(`--socket-mode must be 0600 or 0660, not "${socketModeText}"`);
  const initTimeout = fromEnv('initTimeoutMs');
  const killGrace = fromEnv('killGraceMs');
  const heap = fromEnv('maxOldSpaceMb');
  const coreText = listOption('core');
  const optionalText = listOption('optionalCore');
  const core = coreText !== undefined ? nameList(coreText) : [...MILADY_CORE];
  // A name in both lists is core: always loaded.
  const optionalCore = (optionalText !== undefined ? nameList(optionalText) : [...MILADY_OPTIONAL_CORE]).filter((n) => !core.includes(n));
  return {
    help: false,
    configPath,
    stateDir,
    bundledDir: bundled !== undefined ? path.resolve(bundled) : null,
    socket: socket !== undefined ? path.resolve(socket) : null,
    socketMode: parseInt(socketModeText, 8),
    port: port !== undefined ? integer('--port', port, 0, 65535) : null,
    initTimeoutMs: initTimeout !== undefined ? integer('--init-timeout-ms', initTimeout, 1, 3600000) : 10000,
    killGraceMs: killGrace !== undefined ? integer('--kill-grace-ms', killGrace, 0, 600000) : 2000,
    maxOldSpaceMb: heap !== undefined ? integer('--max-old-space-mb', heap, 16, 1048576) : null,
    core,
    optionalCore,
  };
}

// The host's side of the process model: it forks the runtime (runtime.mjs), keeps the last known
// state of every plugin, runs checks with a deadline it enforces itself, and restarts the runtime.
// Nothing here waits on the runtime to answer a status: the state is always in memory.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from './log.mjs';

export const PROTOCOL = 1;
const RUNTIME_SCRIPT = fileURLToPath(new URL('./runtime.mjs', import.meta.url));

/** Sends a signal to the runtime's process group (it runs detached), else to the process itself. */
function signalGroup(pid, signal) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

const exitText = (code, signal) => (signal ? `signal ${signal}` : `code ${code}`);

/** A bridge answer: HTTP status and JSON body. */
const answer = (status, body) => ({ status, body });
const failure = (status, code, error) => answer(status, { error, code });

export class Supervisor {
  #options;
  #log;
  #state = 'stopped';
  #child = null;
  /** npm name → `{package, pluginName, source, path, loaded, error}`, in load order. */
  #plugins = new Map();
  #startedAt = null;
  #readyAt = null;
  #error = null;
  #lastExit = null;
  #generation = 0;
  #restartReasons = [];
  /** Plugins that stalled or killed the runtime while loading: skipped until the next requested restart. */
  #quarantine = new Map();
  #loading = null;
  #watchdog = null;
  #dying = new Set();
  #token = 0;
  #stopping = false;
  #checkSeq = 0;
  #pending = new Map();

  /**
   * options: configPath, stateDir, bundledDir (or null), core, optionalCore (npm names),
   * initTimeoutMs, killGraceMs, probeTimeoutMs, maxOldSpaceMb (or null).
   */
  constructor(options, { log = createLogger('agent-host') } = {}) {
    this.#options = { killGraceMs: 2000, probeTimeoutMs: 1000, maxOldSpaceMb: null, ...options };
    this.#log = log;
  }

  /** No plugin event for this long while loading one means the runtime's event loop is stuck. */
  get #loadStallMs() {
    return 2 * this.#options.initTimeoutMs + 2000;
  }

  status() {
    const alive = this.#child !== null && this.#child.pid !== undefined && (this.#state === 'starting' || this.#state === 'running');
    return {
      protocol: PROTOCOL,
      state: this.#state,
      pid: alive ? this.#child.pid : null,
      startedAt: this.#startedAt,
      plugins: [...this.#plugins.values()].map((p) => ({ ...p })),
      readyAt: this.#readyAt,
      generation: this.#generation,
      error: this.#error,
      lastExit: this.#lastExit,
      restartReasons: [...this.#restartReasons],
      hostPid: process.pid,
    };
  }

  start() {
    this.#stopping = false;
    this.#spawn();
  }

  #spawn() {
    const o = this.#options;
    const args = {
      configPath: o.configPath, stateDir: o.stateDir, bundledDir: o.bundledDir, core: o.core, optionalCore: o.optionalCore,
      initTimeoutMs: o.initTimeoutMs, skip: Object.fromEntries(this.#quarantine),
    };
    const execArgv = o.maxOldSpaceMb ? [`--max-old-space-size=${o.maxOldSpaceMb}`] : [];
    this.#generation += 1;
    this.#state = 'starting';
    this.#plugins = new Map();
    this.#error = null;
    this.#readyAt = null;
    this.#loading = null;
    this.#startedAt = new Date().toISOString();
    let child;
    try {
      // Its own process group, so a restart also kills whatever a plugin spawned.
      child = fork(RUNTIME_SCRIPT, [JSON.stringify(args)], { detached: true, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    } catch (error) {
      this.#fail(`cannot start the agent runtime: ${error.message}`);
      return;
    }
    this.#child = child;
    child.on('message', (message) => this.#onMessage(child, message));
    child.on('exit', (code, signal) => this.#onExit(child, code, signal));
    child.on('error', (error) => {
      if (child === this.#child && child.pid === undefined) this.#fail(`cannot start the agent runtime: ${error.message}`);
    });
    if (child.pid !== undefined) this.#log(`runtime started: pid ${child.pid}, generation ${this.#generation}`);
  }

  #fail(error) {
    this.#log(error);
    this.#child = null;
    this.#state = 'failed';
    this.#error = error;
  }

  #onMessage(child, message) {
    if (child !== this.#child || message === null || typeof message !== 'object') return;
    switch (message.type) {
      case 'plan':
        this.#plugins = new Map(message.plugins.map((p) => [p.package, p]));
        break;
      case 'loading':
        this.#loading = message.package;
        this.#armWatchdog(child, message.package);
        break;
      case 'plugin':
        this.#disarmWatchdog();
        this.#loading = null;
        this.#plugins.set(message.plugin.package, message.plugin);
        break;
      case 'ready': {
        this.#disarmWatchdog();
        this.#state = 'running';
        this.#readyAt = new Date().toISOString();
        const list = [...this.#plugins.values()];
        this.#log(`runtime pid ${child.pid} running: ${list.filter((p) => p.loaded).length} of ${list.length} plugins loaded`);
        break;
      }
      case 'fatal':
        child.fatal = message.error;
        break;
      case 'check-result':
      case 'pong': {
        const pending = this.#pending.get(message.id);
        if (pending && pending.child === child) pending.settle(message);
        break;
      }
      default:
        break;
    }
  }

  #armWatchdog(child, npm) {
    this.#disarmWatchdog();
    const ms = this.#loadStallMs;
    this.#watchdog = setTimeout(() => {
      if (child !== this.#child || this.#loading !== npm) return;
      const why = `loading blocked the agent process for more than ${ms} ms (a busy loop in its import or init?); the agent was restarted without it`;
      this.#log(`runtime pid ${child.pid} stalled while loading ${npm}; restarting without it`);
      this.#quarantine.set(npm, why);
      this.#replace({ keepQuarantine: true });
    }, ms);
  }

  #disarmWatchdog() {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    this.#watchdog = null;
  }

  #onExit(child, code, signal) {
    // Whatever a plugin spawned into the group goes with it.
    signalGroup(child.pid, 'SIGKILL');
    this.#settlePending(child, failure(503, 'not_running', `the agent runtime exited (${exitText(code, signal)})`));
    if (child !== this.#child) return; // a child being replaced on purpose
    this.#child = null;
    this.#disarmWatchdog();
    this.#lastExit = { code, signal, at: new Date().toISOString() };
    if (this.#stopping) {
      this.#state = 'stopped';
      return;
    }
    if (child.fatal) {
      this.#state = 'failed';
      this.#error = child.fatal;
      this.#log(`runtime pid ${child.pid} could not start (${exitText(code, signal)}); state failed until a restart is requested`);
      return;
    }
    const npm = this.#loading;
    if (this.#state === 'starting' && npm && !this.#quarantine.has(npm)) {
      this.#quarantine.set(npm, `the agent process exited (${exitText(code, signal)}) while loading this plugin; the agent was restarted without it`);
      this.#log(`runtime pid ${child.pid} exited (${exitText(code, signal)}) while loading ${npm}; restarting without it`);
      this.#spawn();
      return;
    }
    this.#state = 'failed';
    this.#error = `the agent runtime exited unexpectedly (${exitText(code, signal)})`;
    for (const plugin of this.#plugins.values()) {
      if (plugin.loaded || plugin.error === null) {
        plugin.loaded = false;
        plugin.error = this.#error;
      }
    }
    this.#log(`runtime pid ${child.pid} exited unexpectedly (${exitText(code, signal)}); state failed until a restart is requested`);
  }

  /** Stops a runtime: SIGTERM to its group, SIGKILL after the grace period. */
  #kill(child) {
    const done = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        signalGroup(child.pid, 'SIGKILL');
        resolve();
        return;
      }
      const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), this.#options.killGraceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      signalGroup(child.pid, 'SIGTERM');
    });
    this.#dying.add(done);
    done.then(() => this.#dying.delete(done));
    return done;
  }

  /** Requested restart: answers at once; the fresh runtime re-reads the config and plugin folders. */
  restart(reasons = []) {
    if (this.#stopping) return false;
    this.#restartReasons = reasons;
    this.#log(`restart requested${reasons.length ? ': ' + reasons.join('; ') : ''}`);
    this.#replace({ keepQuarantine: false });
    return true;
  }

  #replace({ keepQuarantine }) {
    const token = ++this.#token;
    if (!keepQuarantine) this.#quarantine.clear();
    this.#disarmWatchdog();
    const old = this.#child;
    this.#child = null;
    this.#state = 'starting';
    this.#plugins = new Map();
    this.#error = null;
    this.#startedAt = null;
    this.#readyAt = null;
    this.#loading = null;
    if (old) {
      this.#settlePending(old, failure(503, 'not_running', 'the agent runtime was restarted during the check'));
      this.#kill(old);
    }
    Promise.all([...this.#dying]).then(() => {
      if (token === this.#token && !this.#stopping) this.#spawn();
    });
  }

  /** Runs a loaded plugin's check; the deadline holds even if the runtime never answers. */
  check(npm, timeoutMs) {
    const child = this.#child;
    if (!child || child.pid === undefined || (this.#state !== 'running' && this.#state !== 'starting')) {
      return Promise.resolve(failure(503, 'not_running', `the agent runtime is not running (state ${this.#state})`));
    }
    const entry = this.#plugins.get(npm);
    if (!entry || !entry.loaded) {
      const why = this.#state === 'starting' ? ' yet; the agent is starting' : '';
      return Promise.resolve(failure(409, 'not_loaded', `${npm} is not loaded in the agent runtime${why}`));
    }
    const id = ++this.#checkSeq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#log(`check ${npm}: timed out after ${timeoutMs} ms`);
        resolve(failure(504, 'timeout', `check timed out after ${timeoutMs} ms`));
        this.#probe(child, npm);
      }, timeoutMs);
      this.#pending.set(id, {
        child,
        settle: (message) => {
          clearTimeout(timer);
          this.#pending.delete(id);
          if (message.status) resolve(message);
          else if (message.notLoaded) resolve(failure(409, 'not_loaded', `${npm} is not loaded in the agent runtime`));
          else resolve(answer(200, message.result));
        },
      });
      try {
        child.send({ type: 'check', id, package: npm, timeoutMs });
      } catch (error) {
        this.#pending.get(id)?.settle(failure(503, 'not_running', `the agent runtime is not reachable: ${error.message}`));
      }
    });
  }

  /** After a timed-out check: a runtime that cannot answer a ping is busy-looping, so it is replaced. */
  #probe(child, npm) {
    if (child !== this.#child || child.probing) return;
    child.probing = true;
    const id = ++this.#checkSeq;
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      child.probing = false;
      if (child !== this.#child) return;
      this.#log(`runtime pid ${child.pid} did not answer within ${this.#options.probeTimeoutMs} ms after the check of ${npm} timed out; restarting it`);
      this.#restartReasons = [`the agent runtime stopped responding during the check of ${npm}`];
      this.#replace({ keepQuarantine: false });
    }, this.#options.probeTimeoutMs);
    this.#pending.set(id, {
      child,
      settle: () => {
        clearTimeout(timer);
        this.#pending.delete(id);
        child.probing = false;
      },
    });
    try {
      child.send({ type: 'ping', id });
    } catch {
      // the exit handler deals with a dead runtime
    }
  }

  #settlePending(child, result) {
    for (const pending of [...this.#pending.values()]) if (pending.child === child) pending.settle(result);
  }

  /** Shutdown: no more restarts; the runtime is stopped (SIGKILL after the grace period). */
  async stop() {
    this.#stopping = true;
    this.#token += 1;
    this.#disarmWatchdog();
    this.#state = 'stopped';
    const old = this.#child;
    this.#child = null;
    if (old) {
      this.#settlePending(old, failure(503, 'not_running', 'the agent host is shutting down'));
      this.#kill(old);
    }
    await Promise.all([...this.#dying]);
  }

  /** Last-resort cleanup when the host exits abruptly. */
  killNow() {
    if (this.#child) signalGroup(this.#child.pid, 'SIGKILL');
  }
}

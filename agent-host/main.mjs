#!/usr/bin/env node
// The reference agent host: answers the runtime bridge (docs/runtime-bridge.md) and supervises the
// agent runtime, a child process that loads the plugins. Node >= 18, no dependencies.
import fs from 'node:fs';
import net from 'node:net';
import { parseOptions, UsageError, USAGE } from './options.mjs';
import { Supervisor } from './supervisor.mjs';
import { createBridgeServer } from './bridge-server.mjs';
import { createLogger } from './log.mjs';

const log = createLogger('agent-host');

/** A leftover socket from a crashed host is removed; a live one, or a non-socket file, is not. */
async function clearStaleSocket(socketPath) {
  let info;
  try {
    info = fs.lstatSync(socketPath);
  } catch (error) {
    if (error.code === 'ENOENT') return;
    throw error;
  }
  if (!info.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  const live = await new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another process is already answering on ${socketPath}`);
  fs.unlinkSync(socketPath);
  log(`removed a stale socket ${socketPath}`);
}

function listen(server, options) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (options.socket) {
      // Created 0600 from the start (no window where others could connect), then given its mode (0600, or 0660
      // for plugind in the host's group).
      const previous = process.umask(0o177);
      server.listen(options.socket, () => {
        process.umask(previous);
        fs.chmodSync(options.socket, options.socketMode ?? 0o600);
        server.off('error', reject);
        resolve(`unix:${options.socket}`);
      });
    } else {
      server.listen(options.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(`http://127.0.0.1:${server.address().port}`);
      });
    }
  });
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`agent-host: ${error.message}\n${USAGE}\n`);
    process.exit(64);
  }
  if (options.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }

  const supervisor = new Supervisor(options, { log });
  const server = createBridgeServer(supervisor, { log });
  let socketInode = null;
  const removeSocket = () => {
    if (!options.socket || socketInode === null) return;
    try {
      // Only our own socket: a newer host may already have replaced it.
      if (fs.lstatSync(options.socket).ino === socketInode) fs.unlinkSync(options.socket);
    } catch {
      // already gone
    }
    socketInode = null;
  };

  try {
    if (options.socket) await clearStaleSocket(options.socket);
    const address = await listen(server, options);
    if (options.socket) socketInode = fs.lstatSync(options.socket).ino;
    log(`listening on ${address} (bridge protocol 1); config ${options.configPath}, state ${options.stateDir}, ` +
      `bundled ${options.bundledDir ?? '(none)'}, ${options.core.length} core and ${options.optionalCore.length} optional-core plugins`);
  } catch (error) {
    log(`cannot listen: ${error.message}`);
    process.exit(1);
  }

  let shuttingDown = false;
  const shutdown = async (signal) => {
    if (shuttingDown) {
      log(`${signal} again: exiting now`);
      supervisor.killNow();
      removeSocket();
      process.exit(0);
    }
    shuttingDown = true;
    log(`${signal}: stopping`);
    // Never hang on the way out.
    setTimeout(() => {
      supervisor.killNow();
      removeSocket();
      process.exit(0);
    }, options.killGraceMs + 5000).unref();
    server.close();
    const stopped = supervisor.stop();
    server.closeIdleConnections?.();
    await stopped;
    server.closeAllConnections?.();
    removeSocket();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => supervisor.restart(['SIGHUP']));
  process.on('exit', () => {
    supervisor.killNow();
    removeSocket();
  });
  process.on('uncaughtException', (error) => {
    log(`internal error: ${error?.stack ?? error}`);
    process.exit(1);
  });

  supervisor.start();
}

main().catch((error) => {
  log(`cannot start: ${error?.stack ?? error}`);
  process.exit(1);
});

// An example ElizaOS plugin: one command-line tool. Its check runs `<command> --version` on this machine.
import { execFile } from 'node:child_process';

const DEFAULT_COMMAND = 'git';

function commandOf(value) {
  return typeof value === 'string' && value.trim() ? value.trim() : DEFAULT_COMMAND;
}

function version(command) {
  return new Promise((resolve) => {
    execFile(command, ['--version'], { timeout: 5000, maxBuffer: 64 * 1024 }, (error, stdout, stderr) => {
      resolve({ error, output: `${stdout}${stderr}`.trim().split('\n')[0] ?? '' });
    });
  });
}

const plugin = {
  name: 'command-check',
  description: 'Lets the agent run one command-line tool.',
  actions: [],
  providers: [],

  async init(config) {
    const command = commandOf(config?.CHECK_COMMAND);
    if (/\s/.test(command)) throw new Error(`CHECK_COMMAND must be one program, not a command line ('${command}')`);
  },

  async testConnection(runtime) {
    const command = commandOf(runtime?.getSetting?.('CHECK_COMMAND'));
    const { error, output } = await version(command);
    if (error?.code === 'ENOENT') {
      return { ok: false, message: `CHECK_COMMAND ${command} is not installed on this machine (not found on the agent's PATH); install it or set CHECK_COMMAND to a program that is.` };
    }
    if (error) return { ok: false, message: `${command} --version failed (${error.killed ? 'timed out' : `exit ${error.code ?? error.signal}`}): ${output}` };
    return { ok: true, message: `${command} runs here: ${output}`, details: { command, version: output } };
  },
};

export default plugin;

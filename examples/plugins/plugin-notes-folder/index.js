// An example ElizaOS plugin: a folder of notes. Its check looks at the folder on this machine.
import fs from 'node:fs/promises';
import path from 'node:path';

const DEFAULT_DIR = '/tmp';

function notesDir(settings) {
  const value = settings?.NOTES_DIR ?? process.env.NOTES_DIR;
  return value && value.trim() ? value.trim() : DEFAULT_DIR;
}

const plugin = {
  name: 'notes-folder',
  description: 'Gives the agent a folder of notes to read, and checks that the folder is there.',
  actions: [],
  providers: [],

  async init(config) {
    const dir = notesDir(config);
    // A relative path would depend on the agent's working directory: refuse it at load time.
    if (!path.isAbsolute(dir)) throw new Error(`NOTES_DIR must be an absolute path, not '${dir}'`);
  },

  async testConnection(runtime) {
    const dir = notesDir({ NOTES_DIR: runtime?.getSetting?.('NOTES_DIR') ?? undefined });
    let stat;
    try {
      stat = await fs.stat(dir);
    } catch (error) {
      const why = error.code === 'ENOENT' ? 'does not exist' : error.code === 'EACCES' ? 'cannot be reached by the agent' : error.message;
      return { ok: false, message: `NOTES_DIR ${dir} ${why} on this machine; set it to a folder the agent can read.` };
    }
    if (!stat.isDirectory()) return { ok: false, message: `NOTES_DIR ${dir} is a file, not a folder; set it to a folder the agent can read.` };
    let names;
    try {
      names = await fs.readdir(dir);
    } catch (error) {
      return { ok: false, message: `NOTES_DIR ${dir} is not readable by the agent (${error.code ?? error.message}); give it read access.` };
    }
    return { ok: true, message: `NOTES_DIR ${dir} is readable: ${names.length} entr${names.length === 1 ? 'y' : 'ies'}.`, details: { dir, entries: names.length } };
  },
};

export default plugin;

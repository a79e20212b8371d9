// node examples-catalogue.mjs BASE_CATALOGUE EXAMPLES_DIR REPOS_DIR OUT — writes OUT: BASE_CATALOGUE's
// plugin-index-v1 with one entry per example plugin (from its package.json), each naming its git
// repository under REPOS_DIR as a file:// URL. Used by scripts/run; plugind's own catalogue is untouched.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [base, examplesDir, reposDir, out] = process.argv.slice(2);
const catalogue = JSON.parse(fs.readFileSync(base, 'utf8'));
const plugins = Array.isArray(catalogue.plugins) ? catalogue.plugins : [];
for (const dir of fs.readdirSync(examplesDir).sort()) {
  const manifestPath = path.join(examplesDir, dir, 'package.json');
  if (!fs.existsSync(manifestPath)) continue;
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const parameters = manifest.agentConfig?.pluginParameters ?? {};
  const id = manifest.name.replace(/^@[^/]+\//, '').replace(/^plugin-/, '');
  const entry = {
    id,
    name: id.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(' '),
    npmName: manifest.name,
    description: manifest.description,
    category: 'feature',
    envKey: Object.entries(parameters).find(([, p]) => p.required)?.[0] ?? null,
    configKeys: Object.keys(parameters),
    version: manifest.version,
    pluginParameters: parameters,
    repository: pathToFileURL(path.join(reposDir, dir)).href,
  };
  const at = plugins.findIndex((p) => p.npmName === entry.npmName);
  if (at >= 0) plugins[at] = entry;
  else plugins.push(entry);
}
catalogue.plugins = plugins;
catalogue.count = plugins.length;
fs.writeFileSync(`${out}.tmp`, JSON.stringify(catalogue, null, 2) + '\n');
fs.renameSync(`${out}.tmp`, out);

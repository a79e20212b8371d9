// A package directory's entry file, found the way Node resolves `import('<package>')`:
// `exports` (a string, or the "." subpath with conditions, nested), then `main`, then `index.js`.
import fs from 'node:fs';
import path from 'node:path';

// What Node matches for import(); `require` only as a last resort for CommonJS-only export maps.
const IMPORT_CONDITIONS = new Set(['node', 'import', 'module-sync', 'default']);
const REQUIRE_CONDITIONS = new Set(['node', 'require', 'default']);

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The "." target of an `exports` value (string, array, conditions object or subpath map), or null. */
function rootExport(exportsField) {
  if (typeof exportsField === 'string' || Array.isArray(exportsField)) return exportsField;
  if (exportsField === null || typeof exportsField !== 'object') return null;
  const keys = Object.keys(exportsField);
  if (keys.length > 0 && keys.every((k) => k.startsWith('.'))) {
    return Object.prototype.hasOwnProperty.call(exportsField, '.') ? exportsField['.'] : null;
  }
  return exportsField; // a conditions object stands for "."
}

/** Picks a target string through nested conditions (object key order decides, as in Node). */
function pickTarget(value, conditions) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const item of value) {
      const target = pickTarget(item, conditions);
      if (target !== null) return target;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [condition, nested] of Object.entries(value)) {
      if (!conditions.has(condition)) continue;
      const target = pickTarget(nested, conditions);
      if (target !== null) return target;
    }
  }
  return null;
}

/**
 * The absolute path of the file to import for the package in `dir`. Throws an Error whose message
 * says what is wrong (it becomes the plugin's load error).
 */
export function resolvePackageEntry(packageDir) {
  const dir = path.resolve(packageDir);
  const manifestPath = path.join(dir, 'package.json');
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${manifestPath}: ${error.message}`);
  }
  if (manifest === null || typeof manifest !== 'object') throw new Error(`${manifestPath} is not a JSON object`);

  if (manifest.exports !== undefined && manifest.exports !== null) {
    const root = rootExport(manifest.exports);
    const target = root === null ? null : (pickTarget(root, IMPORT_CONDITIONS) ?? pickTarget(root, REQUIRE_CONDITIONS));
    if (target === null) throw new Error(`package.json "exports" of ${dir} has no "." entry for import`);
    if (!target.startsWith('./')) throw new Error(`package.json "exports" target "${target}" must start with "./"`);
    const file = path.resolve(dir, target);
    if (file !== dir && !file.startsWith(dir + path.sep)) {
      throw new Error(`package.json "exports" target "${target}" points outside the package`);
    }
    if (!isFile(file)) throw new Error(`the entry point ${target} (package.json "exports") does not exist in ${dir}`);
    return file;
  }

  if (typeof manifest.main === 'string' && manifest.main) {
    const main = path.resolve(dir, manifest.main);
    for (const candidate of [main, main + '.js', main + '.mjs', main + '.cjs', main + '.json',
      path.join(main, 'index.js'), path.join(main, 'index.mjs'), path.join(main, 'index.cjs')]) {
      if (isFile(candidate)) return candidate;
    }
    // Node falls back to index.js when "main" is missing.
    if (!isFile(path.join(dir, 'index.js'))) {
      throw new Error(`the entry point ${manifest.main} (package.json "main") does not exist in ${dir}`);
    }
  }
  const index = path.join(dir, 'index.js');
  if (isFile(index)) return index;
  throw new Error(`no entry point in ${dir}: package.json has no "exports" or "main", and there is no index.js`);
}

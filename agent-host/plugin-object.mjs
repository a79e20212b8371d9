// The plugin object inside an imported module, and how the answer of its check is read.

const MAX_TEXT = 4000;
const MAX_DETAILS_BYTES = 16 * 1024;

/** An ElizaOS plugin: an object with a string `name`. */
export function isPluginObject(value) {
  return value !== null && typeof value === 'object' && typeof value.name === 'string' && value.name !== '';
}

/**
 * The plugin a module exports: its default export, else a named `plugin` export. A CommonJS module
 * that set `exports.default` arrives as `{ default: { default: plugin } }`.
 */
export function findPluginObject(moduleNamespace) {
  const candidates = [moduleNamespace?.default, moduleNamespace?.plugin, moduleNamespace?.default?.default];
  return candidates.find(isPluginObject) ?? null;
}

/** The real text of whatever was thrown. */
export function errorText(thrown) {
  let text;
  if (thrown instanceof Error) text = thrown.message || thrown.name || 'Error';
  else if (typeof thrown === 'string') text = thrown;
  else {
    try {
      text = thrown === undefined ? 'undefined was thrown' : JSON.stringify(thrown) ?? String(thrown);
    } catch {
      text = String(thrown);
    }
  }
  return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + '…' : text;
}

/** Resolves with the promise's value, or rejects with `message` after `ms` milliseconds. */
export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The check a plugin offers: `testConnection`, else `healthCheck`, else null. */
export function checkFunction(plugin) {
  if (typeof plugin.testConnection === 'function') return { name: 'testConnection', fn: plugin.testConnection };
  if (typeof plugin.healthCheck === 'function') return { name: 'healthCheck', fn: plugin.healthCheck };
  return null;
}

function jsonDetails(value) {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return undefined;
    if (text.length > MAX_DETAILS_BYTES) return { truncated: true, note: `details over ${MAX_DETAILS_BYTES} bytes were dropped` };
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * `{ok, message, details?}` from what a check returned: `false` fails; an object with a boolean `ok`
 * (or `healthy`) is used as it is; `true`, `undefined`, `null` and anything else pass.
 */
export function interpretCheckValue(value, pluginName, checkName) {
  if (value === false) return { ok: false, message: `${pluginName}: ${checkName}() returned false` };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const flag = typeof value.ok === 'boolean' ? value.ok : (typeof value.healthy === 'boolean' ? value.healthy : null);
    if (flag !== null) {
      const message = typeof value.message === 'string' && value.message
        ? value.message
        : `${pluginName}: ${checkName}() ${flag ? 'passed' : 'failed'}`;
      const result = { ok: flag, message: message.slice(0, MAX_TEXT) };
      const details = jsonDetails(value.details);
      if (details !== undefined) result.details = details;
      return result;
    }
    const result = { ok: true, message: `${pluginName}: ${checkName}() passed` };
    const details = jsonDetails(value);
    if (details !== undefined) result.details = details;
    return result;
  }
  if (typeof value === 'string' && value) return { ok: true, message: value.slice(0, MAX_TEXT) };
  return { ok: true, message: `${pluginName}: ${checkName}() passed` };
}

// An example ElizaOS plugin: announces events to a webhook. Its check POSTs a test event there.
const TIMEOUT_MS = 5000;

function setting(runtime, key) {
  const value = runtime?.getSetting?.(key) ?? process.env[key];
  return typeof value === 'string' && value.trim() ? value.trim() : null;
}

function parseUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`WEBHOOK_URL '${text}' is not a URL; set it to an http(s) URL such as http://127.0.0.1:8099/hook`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`WEBHOOK_URL must be http or https, not ${url.protocol.slice(0, -1)}`);
  }
  return url;
}

/** POSTs one JSON event; resolves with the status, rejects with a sentence when the URL cannot be reached. */
export async function post(urlText, secret, event) {
  const url = parseUrl(urlText);
  const headers = { 'content-type': 'application/json', 'user-agent': 'plugind-example-webhook-ping/1.0' };
  if (secret) headers['x-webhook-secret'] = secret;
  let response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(event), signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = error.cause?.code ?? error.cause?.message ?? error.name ?? error.message;
    throw new Error(`cannot reach WEBHOOK_URL ${url.origin}${url.pathname} (${cause}); start the receiver or fix the URL`);
  }
  await response.arrayBuffer().catch(() => undefined);
  return response;
}

const plugin = {
  name: 'webhook-ping',
  description: 'Lets the agent announce events to a webhook.',
  actions: [],
  providers: [],

  async init(config) {
    // Unset is allowed (the check says what to do); a value that can never work fails the load.
    if (config?.WEBHOOK_URL) parseUrl(config.WEBHOOK_URL);
  },

  async testConnection(runtime) {
    const urlText = setting(runtime, 'WEBHOOK_URL');
    if (!urlText) return { ok: false, message: 'WEBHOOK_URL is not set; set it to the URL the agent should POST its events to.' };
    const started = Date.now();
    let response;
    try {
      response = await post(urlText, setting(runtime, 'WEBHOOK_SECRET'), { event: 'plugind.test', at: new Date().toISOString() });
    } catch (error) {
      return { ok: false, message: error.message };
    }
    const ms = Date.now() - started;
    if (response.ok) return { ok: true, message: `POST ${urlText} answered ${response.status} in ${ms} ms.`, details: { status: response.status } };
    return { ok: false, message: `POST ${urlText} answered ${response.status} ${response.statusText}; the receiver refused the test event.`, details: { status: response.status } };
  },
};

export default plugin;

// The dashboard's shell: sign-in, the section router (#/plugins, #/registry, #/activity, …), the restart
// banner, and notices. Each section lives in views/*.js and exports render(root, params, ctx).

import { api, get, post, session, probeRole, onApiEvent } from "./api.js";
import { h, clear, append, errorBox, uid } from "./dom.js";
import * as pluginsView from "./views/plugins.js";
import * as pluginPanel from "./views/plugin-panel.js";
import * as registryView from "./views/registry.js";
import * as installedView from "./views/installed.js";
import * as coreView from "./views/core.js";
import * as runtimeView from "./views/runtime.js";
import * as agentRegistryView from "./views/agent-registry.js";
import * as activityView from "./views/activity.js";
import * as manifestView from "./views/manifest.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const sessionBox = document.getElementById("session-box");
const roleBadge = document.getElementById("role-badge");
const banner = document.getElementById("restart-banner");
const notices = document.getElementById("notices");

const ROUTES = {
  plugins: { title: "Plugins", view: pluginsView },
  plugin: { title: "Plugin", view: pluginPanel, nav: "plugins" },
  registry: { title: "Registry", view: registryView },
  installed: { title: "Installed", view: installedView },
  core: { title: "Core", view: coreView },
  runtime: { title: "Runtime", view: runtimeView },
  activity: { title: "Activity", view: activityView },
  "agent-registry": { title: "Agent registry", view: agentRegistryView },
  manifest: { title: "Manifest", view: manifestView },
};

let cleanup = null;
let current = null; // {name, update}
let renderCount = 0;
let runtimeTimer = null;
let lastRuntime = null;

// --- notices ----------------------------------------------------------------------------------

/** A short message at the top right; errors and warnings stay until dismissed, others leave after 6 s. */
function notify(message, kind = "info") {
  const item = h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "notice-text" }, message),
    h("button", { type: "button", class: "notice-close", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"));
  notices.append(item);
  while (notices.children.length > 5) notices.firstElementChild.remove();
  if (kind !== "error" && kind !== "warning") setTimeout(() => item.remove(), 6000);
}

function notifyError(error, prefix) {
  const text = (prefix ? prefix + ": " : "") + (error && error.message ? error.message : String(error));
  notify(text, "error");
}

// --- the runtime banner -------------------------------------------------------------------------

let bannerKey = null;
function renderBanner(runtime) {
  lastRuntime = runtime;
  // Rebuilt only when what it says changes, so a poll never steals focus from its button.
  const key = runtime && runtime.pendingRestart ? JSON.stringify([runtime.attached, runtime.pendingRestartReasons, session.isAdmin]) : "";
  if (key === bannerKey) return;
  bannerKey = key;
  clear(banner);
  banner.classList.remove("banner-error");
  if (!runtime || !runtime.pendingRestart) {
    banner.hidden = true;
    return;
  }
  const reasons = runtime.pendingRestartReasons || [];
  const restartButton = session.isAdmin
    ? h("button", { type: "button", class: "button button-primary", id: "restart-now", "data-mutates": "true", onclick: restartNow }, "Restart now")
    : null;
  append(banner, [
    h("div", { class: "banner-text" },
      h("strong", {}, runtime.attached ? "The agent needs a restart to apply changes." : "Changes wait for the agent to start."),
      reasons.length ? h("ul", { class: "banner-reasons" }, reasons.map((r) => h("li", {}, r))) : null,
      session.isAdmin ? null : h("div", { class: "small muted" }, "An admin can restart it from here.")),
    restartButton]);
  banner.hidden = false;
}

/** The runtime state could not be read (plugind down, nginx 502…): say so instead of going quiet. */
function renderBannerError(error) {
  lastRuntime = null;
  const key = "error:" + error.message;
  if (key === bannerKey) return;
  bannerKey = key;
  clear(banner);
  banner.append(h("div", { class: "banner-text" },
    h("strong", {}, "The runtime state cannot be read: "), error.message,
    error.status ? h("span", { class: "muted small" }, ` (HTTP ${error.status})`) : ""));
  banner.classList.add("banner-error");
  banner.hidden = false;
}

async function restartNow(event) {
  const button = event.currentTarget;
  button.disabled = true;
  button.textContent = "Restarting…";
  try {
    await post("/api/runtime/restart");
    notify("The agent was asked to restart.", "success");
  } catch (error) {
    notifyError(error, "Restart failed");
  } finally {
    button.disabled = false;
    button.textContent = "Restart now";
    refreshRuntime();
  }
}

export async function refreshRuntime() {
  if (!session.token) return null;
  try {
    const runtime = await get("/api/runtime");
    renderBanner(runtime);
    document.dispatchEvent(new CustomEvent("plugind:runtime", { detail: runtime }));
    return runtime;
  } catch (error) {
    if (error.status !== 401) renderBannerError(error);
    return null;
  }
}

function startRuntimePolling() {
  stopRuntimePolling();
  refreshRuntime();
  runtimeTimer = setInterval(() => { if (!document.hidden) refreshRuntime(); }, 5000);
}

function stopRuntimePolling() {
  if (runtimeTimer) clearInterval(runtimeTimer);
  runtimeTimer = null;
}

onApiEvent((event) => {
  if (event.type === "unauthorized") {
    signOut("plugind no longer accepts this token; sign in again.");
  } else if (event.type === "mutated") {
    // A change may have queued a restart (or a restart may have cleared it): look again soon.
    setTimeout(refreshRuntime, 150);
    if (event.requiresRestart) setTimeout(refreshRuntime, 1200);
  }
});

// --- sign-in ------------------------------------------------------------------------------------

function renderLogin(message) {
  teardownView();
  nav.hidden = true;
  sessionBox.hidden = true;
  banner.hidden = true;
  document.body.classList.remove("role-read", "role-admin");
  bannerKey = null;
  document.title = "Sign in — plugind";
  clear(main);
  const tokenId = uid("token");
  const errorArea = h("div", { class: "form-error", id: "login-error", "aria-live": "assertive" });
  if (message) errorArea.append(h("div", { class: "message message-info", role: "status" }, message));
  const input = h("input", {
    // "current-password": what the token is to a password manager ("off" on a password field is ignored by browsers, and axe-core flags it).
    id: tokenId, name: "token", type: "password", autocomplete: "current-password", spellcheck: "false", required: true,
    class: "input", "aria-describedby": `${tokenId}-help`,
  });
  const button = h("button", { type: "submit", class: "button button-primary", id: "sign-in" }, "Sign in");
  const form = h("form", { class: "login-form", id: "login-form", novalidate: true },
    h("h1", {}, "Sign in to plugind"),
    h("p", { class: "muted" }, "Manage the agent's plugins: configure, install, update and restart."),
    h("label", { for: tokenId, class: "field-label" }, "Access token"),
    input,
    h("p", { id: `${tokenId}-help`, class: "help" },
      "An admin token can change everything; a read token shows a read-only view. Create one with ",
      h("code", { id: "token-command" }, "plugind token create --role admin"),
      " (on the host plugind runs on). The token is kept in this tab only (session storage)."),
    errorArea,
    h("div", { class: "form-actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(errorArea);
    const token = input.value.trim();
    if (!token) {
      errorArea.append(h("div", { class: "message message-error", role: "alert" }, "Enter a token."));
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = "Signing in…";
    try {
      const role = await probeRole(token);
      session.save(token, role);
      startApp();
    } catch (error) {
      errorArea.append(errorBox(error, "Sign-in failed"));
      input.select();
    } finally {
      button.disabled = false;
      button.textContent = "Sign in";
    }
  });
  main.append(h("section", { class: "login", "aria-labelledby": "login-heading" }, form));
  // The exact command for this plugind (its state directory, scripts/run's wrapper); open, so no token is sent.
  api("GET", "/api/sign-in", { token: null })
    .then((hint) => {
      const code = document.getElementById("token-command");
      if (code && hint && typeof hint.tokenCommand === "string") code.textContent = hint.tokenCommand;
    })
    .catch(() => {});
  form.querySelector("h1").id = "login-heading";
  input.focus();
}

function signOut(message) {
  stopRuntimePolling();
  session.clear();
  if (location.hash && location.hash !== "#/") history.replaceState(null, "", "#/");
  renderLogin(message);
}

document.getElementById("sign-out").addEventListener("click", () => signOut("Signed out."));
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

// --- routing ------------------------------------------------------------------------------------

function parseHash() {
  const hash = location.hash || "";
  if (!hash.startsWith("#/")) return { name: "plugins", params: [] };
  const parts = hash.slice(2).split("/").filter((p) => p !== "").map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  let name = parts[0] || "plugins";
  let params = parts.slice(1);
  if (name === "plugins" && params.length) { name = "plugin"; }
  if (!ROUTES[name]) return { name: "plugins", params: [] };
  return { name, params };
}

function teardownView() {
  renderCount += 1;
  if (typeof cleanup === "function") {
    try { cleanup(); } catch (error) { console.warn(error); }
  }
  cleanup = null;
  current = null;
}

/** A view's render may return a cleanup function, or {cleanup, update(params)} to take new params in place. */
function adopt(name, handle) {
  if (typeof handle === "function") cleanup = handle;
  else if (handle && typeof handle === "object") {
    cleanup = handle.cleanup || null;
    if (typeof handle.update === "function") current = { name, update: handle.update };
  }
}

function route() {
  if (!session.token) return renderLogin();
  const { name, params } = parseHash();
  const def = ROUTES[name];
  if (current && current.name === name) {
    current.update(params);
    return;
  }
  const focusMain = cleanup !== null || current !== null || main.querySelector(".view");
  teardownView();
  const generation = renderCount;
  const navName = def.nav || name;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === navName) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${def.title} — plugind`;
  clear(main);
  const root = h("div", { class: `view view-${name}`, id: `view-${name}` });
  main.append(root);
  const ctx = {
    isAdmin: session.isAdmin,
    notify,
    notifyError,
    refreshRuntime,
    get runtime() { return lastRuntime; },
    alive: () => generation === renderCount,
    navigate: (hash) => { location.hash = hash; },
  };
  try {
    const result = def.view.render(root, params, ctx);
    if (result && typeof result.then === "function") {
      result.then((handle) => {
        if (generation === renderCount) adopt(name, handle);
        else if (typeof handle === "function") handle();
        else if (handle && handle.cleanup) handle.cleanup();
      })
        .catch((error) => { root.append(errorBox(error)); console.warn(error); });
    } else {
      adopt(name, result);
    }
    if (focusMain) main.focus({ preventScroll: true });
  } catch (error) {
    root.append(errorBox(error));
    console.warn(error);
  }
}

function startApp() {
  nav.hidden = false;
  sessionBox.hidden = false;
  document.body.classList.toggle("role-read", !session.isAdmin);
  document.body.classList.toggle("role-admin", session.isAdmin);
  roleBadge.textContent = session.isAdmin ? "admin" : "read-only";
  roleBadge.className = session.isAdmin ? "badge badge-accent" : "badge badge-warning";
  roleBadge.title = session.isAdmin ? "This token may change everything." : "This token may only look: changes are hidden.";
  startRuntimePolling();
  if (!location.hash.startsWith("#/") || location.hash === "#/") history.replaceState(null, "", "#/plugins");
  route();
}

window.addEventListener("hashchange", () => { if (location.hash.startsWith("#/")) route(); });
document.documentElement.dataset.ready = "true";

if (session.token && session.role) startApp();
else renderLogin();


// Agent registry: whether this agent is registered, register, update its public URI, sync now,
// and the configuration.

import { get, post } from "../api.js";
import { h, clear, errorBox, loading, badge, timeEl, uid, externalLink } from "../dom.js";

export async function render(root, _params, ctx) {
  root.append(h("div", { class: "view-head" },
    h("h1", {}, "Agent registry"),
    h("p", { class: "muted" }, "Publish this agent (name, public URI, plugin list) to an agent registry and keep it current.")));
  const statusBox = h("section", { class: "panel", "aria-labelledby": "ar-status-title", id: "agent-registry-status" },
    h("h2", { id: "ar-status-title" }, "Status"), loading());
  const configBox = h("section", { class: "panel", "aria-labelledby": "ar-config-title", id: "agent-registry-config" },
    h("h2", { id: "ar-config-title" }, "Configuration"), loading());
  root.append(statusBox, configBox);

  const result = h("div", { class: "ar-result", "aria-live": "polite" });

  async function action(label, path, body, button) {
    button.disabled = true;
    clear(result);
    try {
      const r = await post(path, body);
      result.append(h("div", { class: "message message-success", role: "status" },
        `${label}: done${r && r.agentId ? ` (agent id ${r.agentId})` : ""}.`));
      await load();
    } catch (error) {
      result.append(errorBox(error, label));
    } finally {
      button.disabled = false;
    }
  }

  function controls(status) {
    if (!ctx.isAdmin) return null;
    const uriId = uid("uri");
    const uri = h("input", { id: uriId, type: "url", class: "input", placeholder: "https://agent.example.com", value: status && status.uri ? status.uri : "" }); // no autocomplete: "url" means your home page
    const register = h("button", { type: "button", class: "button button-primary", id: "ar-register", "data-mutates": "true" }, status && status.registered ? "Register again" : "Register");
    const update = h("button", { type: "button", class: "button", id: "ar-update-uri", "data-mutates": "true" }, "Update URI");
    const sync = h("button", { type: "button", class: "button", id: "ar-sync", "data-mutates": "true", disabled: Boolean(status && !status.registered) }, "Sync now");
    register.addEventListener("click", () => action("Register", "/api/registry/register", uri.value.trim() ? { uri: uri.value.trim() } : {}, register));
    update.addEventListener("click", () => {
      if (!uri.value.trim()) { clear(result); result.append(h("div", { class: "message message-error", role: "alert" }, "Enter the agent's public URI first.")); uri.focus(); return; }
      action("Update URI", "/api/registry/update-uri", { uri: uri.value.trim() }, update);
    });
    sync.addEventListener("click", () => action("Sync", "/api/registry/sync", undefined, sync));
    return h("div", { class: "ar-controls" },
      h("div", { class: "tool tool-grow" }, h("label", { for: uriId }, "Public URI of this agent"), uri),
      h("div", { class: "button-row" }, register, update, sync), result);
  }

  async function load() {
    let status = null;
    try {
      status = await get("/api/registry/status");
      if (!ctx.alive()) return;
      clear(statusBox).append(h("h2", { id: "ar-status-title" }, "Status"), h("dl", { class: "facts" },
        h("dt", {}, "Registered"), h("dd", {}, status.registered ? badge("registered", "success") : badge("not registered", "neutral")),
        h("dt", {}, "Agent id"), h("dd", {}, status.agentId ? h("code", {}, status.agentId) : "—"),
        h("dt", {}, "Registry"), h("dd", {}, externalLink(status.registryUrl)),
        h("dt", {}, "Public URI"), h("dd", {}, status.uri || "—"),
        h("dt", {}, "Last sync"), h("dd", {}, timeEl(status.lastSyncAt)),
        h("dt", {}, "Next sync"), h("dd", {}, timeEl(status.nextSyncAt)),
        h("dt", {}, "Last error"), h("dd", {}, status.lastError || "—")));
    } catch (error) {
      if (!ctx.alive()) return;
      clear(statusBox).append(h("h2", { id: "ar-status-title" }, "Status"), errorBox(error, "The agent registry status is not available"));
    }
    const buttons = controls(status);
    if (buttons) statusBox.append(buttons);
    try {
      const config = await get("/api/registry/config");
      if (!ctx.alive()) return;
      clear(configBox).append(h("h2", { id: "ar-config-title" }, "Configuration"), h("dl", { class: "facts" },
        h("dt", {}, "Registry URL"), h("dd", {}, externalLink(config.registryUrl)),
        h("dt", {}, "Register automatically"), h("dd", {}, config.autoRegister ? "yes" : "no"),
        h("dt", {}, "Sync interval"), h("dd", {}, typeof config.syncInterval === "number" ? `${Math.round(config.syncInterval / 1000)} s` : "—")),
        h("p", { class: "muted small" }, "Change these in plugind's settings (agentRegistryUrl, …) and restart plugind."));
    } catch (error) {
      if (!ctx.alive()) return;
      clear(configBox).append(h("h2", { id: "ar-config-title" }, "Configuration"), errorBox(error, "The agent registry configuration is not available"));
    }
  }

  await load();
  return null;
}

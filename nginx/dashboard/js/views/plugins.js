// Plugins: every plugin plugind knows, with filters, the enabled switch, status and badges.

import { get, put, seg } from "../api.js";
import { h, clear, errorBox, loading, debounce, toggleSwitch, setSwitch, badge, uid } from "../dom.js";
import { categoryLabel, statusOf, statusCell, configBadges, pluginHash } from "./common.js";

const state = { text: "", category: "", status: "" }; // kept while the tab lives

export async function render(root, _params, ctx) {
  root.append(h("div", { class: "view-head" },
    h("h1", {}, "Plugins"),
    h("p", { class: "muted" }, "Enable, configure and check the agent's plugins. Changes to enabled plugins restart the agent.")));
  const body = h("div", {}, loading("Loading plugins…"));
  root.append(body);

  let plugins;
  let coreNames = new Set();
  try {
    const [list, core] = await Promise.all([
      get("/api/plugins"),
      get("/api/plugins/core").catch(() => null),
    ]);
    plugins = list.plugins || [];
    if (core) for (const c of core.core || []) coreNames.add(c.npmName || c.name);
  } catch (error) {
    clear(body).append(errorBox(error, "Could not load the plugins"));
    return;
  }
  if (!ctx.alive()) return;
  clear(body);

  // --- toolbar ---
  const textId = uid("filter");
  const catId = uid("category");
  const statusId = uid("status");
  const categories = [...new Set(plugins.map((p) => p.category).filter(Boolean))].sort();
  const textInput = h("input", { id: textId, type: "search", class: "input", placeholder: "Name, id, description or key", value: state.text }); // no name, so no form history; autocomplete "off" is only for text fields (axe-core)
  const catSelect = h("select", { id: catId, class: "input" },
    h("option", { value: "" }, "All categories"),
    categories.map((c) => h("option", { value: c, selected: state.category === c }, categoryLabel(c))));
  const statusSelect = h("select", { id: statusId, class: "input" },
    [["", "Any status"], ["active", "Active"], ["not-loaded", "Enabled but not loaded"], ["disabled", "Disabled"],
     ["enabled", "Enabled"], ["unconfigured", "Needs configuration"], ["invalid", "With validation errors"]]
      .map(([value, label]) => h("option", { value, selected: state.status === value }, label)));
  const counter = h("p", { class: "muted counter", id: "plugins-count", "aria-live": "polite" });
  body.append(h("div", { class: "toolbar", role: "search" },
    h("div", { class: "tool" }, h("label", { for: textId }, "Filter"), textInput),
    h("div", { class: "tool" }, h("label", { for: catId }, "Category"), catSelect),
    h("div", { class: "tool" }, h("label", { for: statusId }, "Status"), statusSelect),
    counter));

  // --- table ---
  const tbody = h("tbody", {});
  const table = h("table", { class: "table plugins-table", id: "plugins-table" },
    h("caption", { class: "visually-hidden" }, "Plugins, one row each"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Enabled"),
      h("th", { scope: "col" }, "Plugin"),
      h("th", { scope: "col" }, "Category"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Configuration"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tbody);
  const empty = h("p", { class: "empty", hidden: true }, "No plugin matches these filters.");
  body.append(h("div", { class: "table-wrap" }, table), empty);

  const rows = new Map(); // id → {plugin, tr, key}

  function searchText(p) {
    return [p.id, p.name, p.npmName, p.description, p.category, ...(p.parameters || []).map((x) => x.key)]
      .filter(Boolean).join(" ").toLowerCase();
  }

  function matches(p) {
    if (state.category && p.category !== state.category) return false;
    const s = state.status;
    if (s) {
      if (s === "enabled" && !p.enabled) return false;
      if (s === "unconfigured" && p.configured) return false;
      if (s === "invalid" && !(p.validationErrors || []).length) return false;
      if (["active", "not-loaded", "disabled"].includes(s) && statusOf(p) !== s) return false;
    }
    if (state.text) {
      const hay = searchText(p);
      for (const word of state.text.toLowerCase().split(/\s+/).filter(Boolean)) if (!hay.includes(word)) return false;
    }
    return true;
  }

  function applyFilters() {
    let shown = 0;
    for (const { plugin, tr } of rows.values()) {
      const visible = matches(plugin);
      tr.hidden = !visible;
      if (visible) shown += 1;
    }
    counter.textContent = `Showing ${shown} of ${rows.size} plugins`;
    empty.hidden = shown !== 0;
  }

  function rowFor(plugin) {
    const isCore = coreNames.has(plugin.npmName);
    const sw = toggleSwitch({
      checked: plugin.enabled,
      label: plugin.name || plugin.id, // its state is the switch's own, never a stale "Enable …"
      disabled: !ctx.isAdmin || isCore,
      onchange: (checked, input) => setEnabled(plugin, checked, input),
    });
    if (isCore) sw.title = "Core plugins are always enabled.";
    const tr = h("tr", { "data-id": plugin.id, "data-status": statusOf(plugin) },
      h("td", { "data-label": "Enabled", class: "cell-switch" }, sw),
      h("td", { "data-label": "Plugin", class: "cell-name" },
        h("a", { href: pluginHash(plugin.id), class: "plugin-link" }, plugin.name || plugin.id),
        isCore ? badge("core", "accent", "Always loaded") : null,
        h("div", { class: "muted small" }, h("code", {}, plugin.npmName || plugin.id),
          plugin.version ? ` · ${plugin.version}` : "", plugin.source && plugin.source !== "bundled" ? ` · ${plugin.source}` : ""),
        plugin.description ? h("div", { class: "description small" }, plugin.description) : null),
      h("td", { "data-label": "Category" }, categoryLabel(plugin.category)),
      h("td", { "data-label": "Status" }, statusCell(plugin)),
      h("td", { "data-label": "Configuration" }, configBadges(plugin)),
      h("td", { "data-label": "", class: "cell-actions" },
        h("a", { href: pluginHash(plugin.id), class: "button button-small", "aria-label": `Open ${plugin.name || plugin.id}` },
          ctx.isAdmin ? "Configure" : "Details")));
    return tr;
  }

  function upsert(plugin) {
    const key = JSON.stringify(plugin);
    const existing = rows.get(plugin.id);
    if (existing && existing.key === key) return;
    const tr = rowFor(plugin);
    if (existing) existing.tr.replaceWith(tr);
    else tbody.append(tr);
    rows.set(plugin.id, { plugin, tr, key });
  }

  async function setEnabled(plugin, checked, input) {
    input.disabled = true;
    try {
      const result = await put(`/api/plugins/${seg(plugin.id)}`, { enabled: checked });
      upsert(result.plugin);
      applyFilters();
      const again = rows.get(result.plugin.id);
      if (again) again.tr.querySelector("input[role=switch]").focus(); // the row was rebuilt: keep the keyboard there
      ctx.notify(`${result.plugin.name || plugin.id} ${checked ? "enabled" : "disabled"}${result.requiresRestart ? "; the agent restarts to apply it" : ""}.`, "success");
      // Accepted without its required settings: say which ones, until dismissed.
      for (const warning of result.warnings || []) ctx.notify(warning, "warning");
    } catch (error) {
      setSwitch(input, !checked);
      ctx.notifyError(error, `Could not ${checked ? "enable" : "disable"} ${plugin.name || plugin.id}`);
    } finally {
      if (input.isConnected) {
        input.disabled = false;
        if (!document.activeElement || document.activeElement === document.body) input.focus();
      }
    }
  }

  const fragment = document.createDocumentFragment();
  for (const plugin of plugins) {
    const tr = rowFor(plugin);
    rows.set(plugin.id, { plugin, tr, key: JSON.stringify(plugin) });
    fragment.append(tr);
  }
  tbody.append(fragment);
  applyFilters();

  const onText = debounce(() => { state.text = textInput.value.trim(); applyFilters(); }, 120);
  textInput.addEventListener("input", onText);
  catSelect.addEventListener("change", () => { state.category = catSelect.value; applyFilters(); });
  statusSelect.addEventListener("change", () => { state.status = statusSelect.value; applyFilters(); });

  // The runtime restarted (or settled): isActive and loadError may have changed.
  let lastStamp = null;
  const onRuntime = async (event) => {
    const rt = event.detail || {};
    const stamp = `${rt.state}|${rt.startedAt}|${rt.pendingRestart}`;
    if (lastStamp !== null && stamp !== lastStamp && ctx.alive()) {
      try {
        const fresh = await get("/api/plugins");
        if (!ctx.alive()) return;
        for (const p of fresh.plugins || []) upsert(p);
        applyFilters();
      } catch { /* the next poll tries again */ }
    }
    lastStamp = stamp;
  };
  document.addEventListener("plugind:runtime", onRuntime);
  return () => { onText.cancel(); document.removeEventListener("plugind:runtime", onRuntime); };
}

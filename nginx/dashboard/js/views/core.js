// Core: the always-loaded core plugins and the optional-core ones with their switches.

import { get, post } from "../api.js";
import { h, clear, errorBox, loading, badge, toggleSwitch, setSwitch } from "../dom.js";

export async function render(root, _params, ctx) {
  root.append(h("div", { class: "view-head" },
    h("h1", {}, "Core plugins"),
    h("p", { class: "muted" }, "Core plugins are always loaded. Optional-core plugins are off until you turn them on; a change restarts the agent.")));
  const statusLine = h("div", { id: "core-status" });
  const body = h("div", {}, loading());
  root.append(statusLine, body);

  let shownKey = null;
  async function load(keepFocusOn = null) {
    let list;
    try {
      const [core, status] = await Promise.all([get("/api/plugins/core"), get("/api/core/status").catch((e) => ({ error: e }))]);
      list = core;
      clear(statusLine);
      if (status.error) statusLine.append(errorBox(status.error, "Core status"));
      else if (status.available === false) statusLine.append(h("div", { class: "message message-warning", role: "status" }, "The core plugin policy could not be loaded: the lists below may be incomplete."));
    } catch (error) {
      if (ctx.alive()) clear(body).append(errorBox(error, "Could not load the core plugins"));
      return;
    }
    if (!ctx.alive()) return;
    const key = JSON.stringify(list);
    if (key === shownKey) return; // unchanged: keep the rows (and the keyboard focus) as they are
    shownKey = key;
    const focused = document.activeElement && document.activeElement.closest("tr[data-name]");
    const focusName = keepFocusOn || (focused ? focused.dataset.name : null);
    clear(body);
    const loadedBadge = (p) => (p.loaded ? badge("loaded", "success") : badge("not loaded", "neutral"));
    const optional = (list.optionalCore || []).map((p) => h("tr", { "data-name": p.name },
      h("td", { "data-label": "Enabled", class: "cell-switch" }, toggleSwitch({
        // Named by the plugin alone: its state is the switch's own ("vision, switch, off"), never a stale "Enable …".
        checked: Boolean(p.enabled), label: p.name, disabled: !ctx.isAdmin,
        onchange: async (checked, input) => {
          input.disabled = true;
          try {
            const r = await post("/api/plugins/core/toggle", { name: p.npmName || p.name, enabled: checked });
            ctx.notify(`${p.name} ${checked ? "enabled" : "disabled"}${r.requiresRestart ? "; the agent restarts to apply it" : ""}.`, "success");
            await load(p.name);
          } catch (error) {
            setSwitch(input, !checked);
            input.disabled = false;
            input.focus();
            ctx.notifyError(error, `Could not ${checked ? "enable" : "disable"} ${p.name}`);
          }
        },
      })),
      h("td", { "data-label": "Plugin" }, h("a", { href: `#/plugins/${encodeURIComponent(p.name)}` }, p.name), h("div", { class: "muted small" }, h("code", {}, p.npmName || ""))),
      h("td", { "data-label": "Runtime" }, loadedBadge(p))));
    const core = (list.core || []).map((p) => h("tr", { "data-name": p.name },
      h("td", { "data-label": "Plugin" }, h("a", { href: `#/plugins/${encodeURIComponent(p.name)}` }, p.name), h("div", { class: "muted small" }, h("code", {}, p.npmName || ""))),
      h("td", { "data-label": "Runtime" }, loadedBadge(p)),
      h("td", { "data-label": "Required" }, badge("always on", "accent"))));
    body.append(
      h("section", { class: "panel", "aria-labelledby": "optional-title" },
        h("h2", { id: "optional-title" }, `Optional core (${optional.length})`),
        h("div", { class: "table-wrap" }, h("table", { class: "table", id: "optional-core-table" },
          h("thead", {}, h("tr", {}, ["Enabled", "Plugin", "Runtime"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, optional)))),
      h("section", { class: "panel", "aria-labelledby": "core-title" },
        h("h2", { id: "core-title" }, `Core (${core.length})`),
        h("div", { class: "table-wrap" }, h("table", { class: "table", id: "core-table" },
          h("thead", {}, h("tr", {}, ["Plugin", "Runtime", "Required"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, core)))));
    if (focusName) {
      const again = body.querySelector(`tr[data-name="${CSS.escape(focusName)}"] input`);
      if (again) again.focus();
    }
  }

  await load();
  let lastStamp = null;
  const onRuntime = (event) => {
    const rt = event.detail || {};
    const stamp = `${rt.state}|${rt.startedAt}`;
    if (lastStamp !== null && stamp !== lastStamp && ctx.alive()) load();
    lastStamp = stamp;
  };
  document.addEventListener("plugind:runtime", onRuntime);
  return () => document.removeEventListener("plugind:runtime", onRuntime);
}

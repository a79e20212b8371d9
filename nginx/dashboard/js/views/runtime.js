// Runtime: the agent process as plugind sees it, pending restart reasons, Restart now, and the
// recent operations.

import { get, post } from "../api.js";
import { h, clear, errorBox, loading, badge, timeEl } from "../dom.js";

export async function render(root, _params, ctx) {
  root.append(h("div", { class: "view-head" },
    h("h1", {}, "Runtime"),
    h("p", { class: "muted" }, "The agent process that loads the plugins, reached over the runtime bridge.")));
  const stateBox = h("section", { class: "panel", "aria-labelledby": "runtime-title", id: "runtime-state" },
    h("h2", { id: "runtime-title" }, "Agent"), loading());
  const opsBox = h("section", { class: "panel", "aria-labelledby": "ops-title", id: "operations" },
    h("h2", { id: "ops-title" }, "Recent operations"), loading());
  root.append(stateBox, opsBox);

  const out = h("div", { "aria-live": "polite", id: "runtime-restart-result" }); // survives re-renders
  let shownKey = null;
  function showRuntime(rt) {
    const key = JSON.stringify(rt);
    if (key === shownKey) return; // unchanged: keep the button (and the keyboard focus) where it is
    shownKey = key;
    const hadFocus = stateBox.contains(document.activeElement) && document.activeElement.id === "runtime-restart";
    clear(stateBox).append(h("h2", { id: "runtime-title" }, "Agent"));
    // Running with plugins that failed to load is not healthy: a warning that says how many.
    const failed = rt.failedPlugins || [];
    const stateKind = rt.state === "running" ? (failed.length ? "warning" : "success")
      : rt.state === "unreachable" || rt.state === "crashed" ? "danger" : "warning";
    const stateText = rt.state === "running" && failed.length
      ? `running — ${failed.length} plugin${failed.length === 1 ? "" : "s"} failed to load`
      : rt.state;
    stateBox.append(h("dl", { class: "facts" },
      h("dt", {}, "Bridge"), h("dd", {}, rt.attached ? "attached" : "no runtime attached (runtimeBridge: none)"),
      h("dt", {}, "State"), h("dd", { id: "runtime-state-value" }, rt.state ? badge(stateText, stateKind) : h("span", { class: "muted" }, "—")),
      h("dt", {}, "Plugins"), h("dd", { id: "runtime-plugins" }, rt.loadedPlugins === null || rt.loadedPlugins === undefined
        ? h("span", { class: "muted" }, "—")
        : [`${rt.loadedPlugins} loaded`, failed.length ? `, ${failed.length} failed: ` : "",
          failed.length ? h("ul", { class: "plain-list", id: "runtime-failed-plugins" },
            failed.map((name) => h("li", {}, h("a", { href: `#/plugins/${encodeURIComponent(name)}` }, h("code", {}, name))))) : null]),
      h("dt", {}, "Process"), h("dd", {}, rt.pid ? `pid ${rt.pid}` : "—"),
      h("dt", {}, "Started"), h("dd", {}, timeEl(rt.startedAt)),
      h("dt", {}, "Last restart asked"), h("dd", {}, timeEl(rt.lastRestartAt)),
      h("dt", {}, "Pending restart"), h("dd", {}, rt.pendingRestart
        ? h("ul", { class: "plain-list", id: "pending-reasons" }, (rt.pendingRestartReasons || []).map((r) => h("li", {}, r)))
        : "none")));
    if (ctx.isAdmin) {
      const button = h("button", { type: "button", class: "button", id: "runtime-restart", "data-mutates": "true", disabled: !rt.attached }, "Restart the agent now");
      button.addEventListener("click", async () => {
        button.disabled = true;
        clear(out);
        try {
          await post("/api/runtime/restart");
          out.append(h("div", { class: "message message-success", role: "status" }, "The agent was asked to restart."));
        } catch (error) {
          out.append(errorBox(error, "Restart"));
        } finally {
          button.disabled = false;
          ctx.refreshRuntime();
        }
      });
      stateBox.append(h("div", { class: "button-row" }, button), out);
      if (hadFocus) button.focus();
    }
  }

  async function loadOps() {
    try {
      const ops = (await get("/api/operations?limit=20")).operations || [];
      if (!ctx.alive()) return;
      clear(opsBox).append(h("h2", { id: "ops-title" }, "Recent operations"));
      if (!ops.length) { opsBox.append(h("p", { class: "empty" }, "No operation has run yet.")); return; }
      opsBox.append(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "operations-table" },
        h("thead", {}, h("tr", {}, ["Kind", "Target", "State", "Started", "Finished", "Error"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, ops.map((o) => h("tr", {},
          h("td", { "data-label": "Kind" }, o.kind),
          h("td", { "data-label": "Target" }, h("code", {}, o.target)),
          h("td", { "data-label": "State" }, badge(o.state, o.state === "succeeded" ? "success" : o.state === "failed" ? "danger" : "accent"), o.phase && !["succeeded", "failed"].includes(o.state) ? h("span", { class: "muted small op-phase" }, ` ${o.phase}`) : null), // a finished one's phase only repeats its state ("failed failed")
          h("td", { "data-label": "Started" }, timeEl(o.startedAt)),
          h("td", { "data-label": "Finished" }, timeEl(o.finishedAt)),
          h("td", { "data-label": "Error", class: "small" }, o.error || "")))))));
    } catch (error) {
      if (ctx.alive()) clear(opsBox).append(h("h2", { id: "ops-title" }, "Recent operations"), errorBox(error, "Operations"));
    }
  }

  try {
    showRuntime(await get("/api/runtime"));
  } catch (error) {
    if (ctx.alive()) clear(stateBox).append(h("h2", { id: "runtime-title" }, "Agent"), errorBox(error, "Could not read the runtime"));
  }
  await loadOps();
  const onRuntime = (event) => { if (ctx.alive() && event.detail) showRuntime(event.detail); };
  document.addEventListener("plugind:runtime", onRuntime);
  return () => document.removeEventListener("plugind:runtime", onRuntime);
}

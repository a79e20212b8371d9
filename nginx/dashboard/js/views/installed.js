// Installed and Ejected: the packages plugind installed (versions, dates, updates, security
// advisories, Uninstall) and the local copies (upstream, local changes, Sync / Reinject).

import { get, seg, ApiError } from "../api.js";
import { h, clear, errorBox, loading, badge, uid, timeEl, confirmDialog } from "../dom.js";
import { operationBlock } from "../operation.js";
import { advisoryCell, installAsking } from "../compat.js";

function shortId(name) {
  return name.replace(/^@[^/]+\//, "").replace(/^plugin-/, "");
}

export async function render(root, _params, ctx) {
  root.append(h("div", { class: "view-head" },
    h("h1", {}, "Installed"),
    h("p", { class: "muted" }, "Packages plugind installed from npm, and plugins ejected to a local copy.")));
  const op = operationBlock("Working");
  const installedBox = h("section", { class: "panel", "aria-labelledby": "installed-title", id: "installed-section" },
    h("h2", { id: "installed-title" }, "Installed packages"), loading());
  const ejectedBox = h("section", { class: "panel", "aria-labelledby": "ejected-title", id: "ejected-section" },
    h("h2", { id: "ejected-title" }, "Ejected plugins"), loading());
  root.append(op.element, installedBox, ejectedBox);

  const reload = () => Promise.all([loadInstalled(), loadEjected()]);

  async function runOp(label, path, body) {
    op.element.querySelector(".op-label").textContent = label;
    for (const b of root.querySelectorAll("button[data-mutates]")) b.disabled = true;
    try {
      const result = await op.run(path, body);
      ctx.notify(`${label}: done${result && result.requiresRestart ? "; the agent restarts to apply it" : ""}.`, "success");
      return { result };
    } catch (error) {
      return { error };
    } finally {
      if (ctx.alive()) await reload();
    }
  }

  async function loadInstalled() {
    let list;
    try {
      list = (await get("/api/plugins/installed")).plugins || [];
    } catch (error) {
      if (!ctx.alive()) return;
      clear(installedBox).append(h("h2", { id: "installed-title" }, "Installed packages"), errorBox(error, "The installed packages could not be listed"));
      return;
    }
    if (!ctx.alive()) return;
    clear(installedBox).append(h("h2", { id: "installed-title" }, "Installed packages"));
    if (!list.length) {
      installedBox.append(h("p", { class: "empty" }, "Nothing is installed yet. Find plugins in the ", h("a", { href: "#/registry" }, "registry"), "."));
      return;
    }
    const rows = list.map((p) => {
      const actions = [];
      if (ctx.isAdmin) {
        if (p.updateAvailable) {
          const update = h("button", { type: "button", class: "button button-small button-primary", "data-mutates": "true", "data-action": "update" }, `Update to ${p.latestVersion}`);
          update.addEventListener("click", () => installAsking(async (body) => {
            const { result, error } = await runOp(`Update ${p.name}`, "/api/plugins/install", body);
            if (error) throw error;
            return result;
          }, { name: p.name, version: p.latestVersion }).catch(() => { /* the block shows the API's message */ }));
          actions.push(update);
        }
        const uninstall = h("button", { type: "button", class: "button button-small button-danger", "data-mutates": "true", "data-action": "uninstall", "aria-label": `Uninstall ${p.name}` }, "Uninstall");
        uninstall.addEventListener("click", async () => {
          const purgeId = uid("purge");
          const purge = h("input", { type: "checkbox", id: purgeId });
          const ok = await confirmDialog({
            title: `Uninstall ${p.name}?`, confirmLabel: "Uninstall", danger: true,
            message: `Version ${p.version || "?"} is removed from disk and from the agent's config; the agent restarts if it was loaded.`,
            body: h("p", { class: "inline-check" }, purge, h("label", { for: purgeId }, "also remove the settings only this plugin uses")),
          });
          if (ok) await runOp(`Uninstall ${p.name}`, "/api/plugins/uninstall", purge.checked ? { name: p.name, purgeConfig: true } : { name: p.name });
        });
        actions.push(uninstall);
      }
      return h("tr", { "data-name": p.name },
        h("td", { "data-label": "Package" }, h("a", { href: `#/plugins/${encodeURIComponent(shortId(p.name))}` }, h("code", {}, p.name)),
          p.missing ? badge("directory missing", "danger", p.installPath || "") : null),
        h("td", { "data-label": "Version" }, p.version || "—"),
        h("td", { "data-label": "Latest" }, p.latestVersion || h("span", { class: "muted" }, "unknown"),
          p.updateAvailable ? badge("update available", "accent") : null),
        h("td", { "data-label": "Installed" }, timeEl(p.installedAt)),
        h("td", { "data-label": "Source" }, p.source || "—"),
        h("td", { "data-label": "Advisories", class: "cell-advisories" }, advisoryCell(p.advisories)),
        h("td", { "data-label": "", class: "cell-actions" }, actions));
    });
    installedBox.append(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "installed-table" },
      h("thead", {}, h("tr", {}, ["Package", "Version", "Latest", "Installed", "Source", "Advisories"].map((t) => h("th", { scope: "col" }, t)),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, rows))));
  }

  async function loadEjected() {
    let list;
    try {
      list = (await get("/api/plugins/ejected")).plugins || [];
    } catch (error) {
      if (!ctx.alive()) return;
      clear(ejectedBox).append(h("h2", { id: "ejected-title" }, "Ejected plugins"), errorBox(error, "The ejected plugins could not be listed"));
      return;
    }
    if (!ctx.alive()) return;
    clear(ejectedBox).append(h("h2", { id: "ejected-title" }, "Ejected plugins"));
    if (!list.length) {
      ejectedBox.append(h("p", { class: "empty" }, "No plugin is ejected. Eject an installed plugin from its page to edit its source."));
      return;
    }
    const rows = list.map((p) => {
      const up = p.upstream || {};
      const id = shortId(p.name);
      const actions = [];
      if (ctx.isAdmin) {
        const sync = h("button", { type: "button", class: "button button-small", "data-mutates": "true", "data-action": "sync" }, "Sync");
        sync.addEventListener("click", () => runOp(`Sync ${p.name}`, `/api/plugins/${seg(id)}/sync`, {}));
        const reinject = h("button", { type: "button", class: "button button-small button-danger", "data-mutates": "true", "data-action": "reinject" }, "Reinject");
        reinject.addEventListener("click", async () => {
          const ok = await confirmDialog({ title: `Reinject ${p.name}?`, confirmLabel: "Reinject", danger: true,
            message: "The agent goes back to the installed package; the local copy is archived, never deleted." });
          if (!ok) return;
          const { error } = await runOp(`Reinject ${p.name}`, `/api/plugins/${seg(id)}/reinject`, {});
          if (error instanceof ApiError && error.status === 409) {
            const force = await confirmDialog({ title: "Reinject anyway?", confirmLabel: "Reinject anyway", danger: true,
              message: `${error.message} Reinjecting anyway archives the copy with its changes.` });
            if (force) await runOp(`Reinject ${p.name}`, `/api/plugins/${seg(id)}/reinject`, { force: true });
          }
        });
        actions.push(sync, reinject);
      }
      const changes = [];
      if (p.localChanges) changes.push(badge(typeof p.localChanges === "number" ? `${p.localChanges} changed files` : "local changes", "warning"));
      if (p.localCommits) changes.push(badge(`${p.localCommits} local commit${p.localCommits === 1 ? "" : "s"}`, "accent"));
      if (typeof p.upstreamCommits === "number" && p.upstreamCommits > 0) changes.push(badge(`${p.upstreamCommits} behind`, "warning"));
      if (!changes.length) changes.push(badge("clean", "success"));
      return h("tr", { "data-name": p.name },
        h("td", { "data-label": "Plugin" }, h("a", { href: `#/plugins/${encodeURIComponent(id)}` }, h("code", {}, p.name)),
          h("div", { class: "muted small path" }, p.localPath || "")),
        h("td", { "data-label": "Version" }, p.version || "—"),
        h("td", { "data-label": "Upstream" }, up.gitUrl ? h("span", {}, h("span", { class: "small" }, up.gitUrl), up.branch ? ` (${up.branch})` : "") : "—",
          up.commit ? h("div", { class: "muted small" }, h("code", {}, String(up.commit).slice(0, 10))) : null),
        h("td", { "data-label": "Ejected" }, timeEl(up.ejectedAt)),
        h("td", { "data-label": "Last sync" }, timeEl(up.lastSyncAt)),
        h("td", { "data-label": "State" }, h("div", { class: "badges" }, changes)),
        h("td", { "data-label": "", class: "cell-actions" }, actions));
    });
    ejectedBox.append(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "ejected-table" },
      h("thead", {}, h("tr", {}, ["Plugin", "Version", "Upstream", "Ejected", "Last sync", "State"].map((t) => h("th", { scope: "col" }, t)),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, rows))));
  }

  await reload();
  return null;
}


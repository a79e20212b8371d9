// Registry: the community plugin catalogue. Search as you type, browse page by page, a plugin's
// details, Install (with a version picker and a progress bar) and Update. Each entry says whether it
// fits the agent's @elizaos/core; a refused install asks before retrying with force.

import { get, seg } from "../api.js";
import { h, clear, errorBox, loading, debounce, badge, uid, externalLink, infoBox } from "../dom.js";
import { operationBlock } from "../operation.js";
import { compatBadge, compatSentence, installAsking } from "../compat.js";

const PAGE = 20;
const state = { q: "", offset: 0, kind: "" };

function registryHash(name) {
  return `#/registry/${encodeURIComponent(name)}`;
}

export async function render(root, params, ctx) {
  let selected = params.length ? params.join("/") : null;
  const searchId = uid("registry-search");
  const kindId = uid("kind");
  const searchInput = h("input", {
    id: searchId, type: "search", class: "input", value: state.q, spellcheck: "false",
    placeholder: "e.g. discord, solana, openai", "aria-controls": "registry-results",
  });
  const kindSelect = h("select", { id: kindId, class: "input" },
    [["", "Everything"], ["plugin", "Plugins"], ["app", "Apps"]].map(([v, l]) => h("option", { value: v, selected: state.kind === v }, l)));
  const head = h("div", { class: "view-head" },
    h("h1", {}, "Registry"),
    h("p", { class: "muted" }, "The elizaOS community catalogue. Search it, read a plugin's details, install or update it."));
  const refreshButton = ctx.isAdmin ? h("button", { type: "button", class: "button button-small", id: "registry-refresh", "data-mutates": "true" }, "Refresh catalogue") : null;
  const refreshOp = operationBlock("Refresh");
  const sourceLine = h("p", { class: "muted small", id: "registry-source" });
  const toolbar = h("div", { class: "toolbar", role: "search" },
    h("div", { class: "tool tool-grow" }, h("label", { for: searchId }, "Search the registry"), searchInput),
    h("div", { class: "tool" }, h("label", { for: kindId }, "Kind"), kindSelect),
    refreshButton ? h("div", { class: "tool tool-end" }, refreshButton) : null);
  const results = h("div", { id: "registry-results", class: "registry-results", "aria-live": "polite", "aria-busy": "false" });
  const pager = h("nav", { class: "pager", "aria-label": "Registry pages" });
  const details = h("section", { class: "registry-details panel", id: "registry-details", "aria-label": "Plugin details", hidden: !selected });
  const split = h("div", { class: selected ? "split split-open" : "split" },
    h("div", { class: "split-main" }, results, pager),
    details);
  root.append(head, toolbar, refreshOp.element, sourceLine, split);

  let sequence = 0;
  let controller = null;
  // While the refresh block shows a failure, the source line does not say it a second time.
  let refreshFailed = false;

  let lastSource = null;

  function showSource(source) {
    lastSource = source;
    const failure = source.lastError && !refreshFailed ? ` ${source.lastError}` : "";
    sourceLine.dataset.kind = source.kind || "upstream";
    if (source.kind === "bundled") {
      sourceLine.textContent = "The community registry has not answered yet: showing plugind's own catalogue, until a fetch succeeds." + failure;
      return;
    }
    sourceLine.textContent = `Catalogue from ${source.url || "?"}, fetched ${source.fetchedAt ? new Date(source.fetchedAt).toLocaleString() : "?"}` +
      (source.skipped ? ` (${source.skipped} entries skipped)` : "") + (failure ? `.${failure}` : "");
  }
  let installed = new Map(); // npm name → installed record (versions, updateAvailable)

  async function loadInstalled() {
    try {
      const body = await get("/api/plugins/installed");
      installed = new Map((body.plugins || []).map((p) => [p.name, p]));
    } catch { installed = new Map(); }
  }

  function card(item) {
    const name = item.name;
    const version = item.npm ? item.npm.version : item.version;
    const rec = installed.get(name);
    const tags = (item.tags || []).slice(0, 4);
    return h("li", { class: "result", "data-name": name },
      h("a", { href: registryHash(name), class: "result-link", "aria-current": name === selected ? "true" : undefined },
        h("span", { class: "result-title" }, item.displayName || name),
        h("span", { class: "result-meta muted small" }, h("code", {}, name), version ? ` · ${version}` : "",
          typeof item.stars === "number" ? ` · ★ ${item.stars}` : "")),
      item.description ? h("p", { class: "small description clamp" }, item.description) : null,
      h("div", { class: "badges" },
        compatBadge(item),
        item.installed || rec ? badge(`installed${item.installedVersion ? " " + item.installedVersion : rec && rec.version ? " " + rec.version : ""}`, "success") : null,
        rec && rec.updateAvailable ? badge(`update ${rec.latestVersion || ""}`.trim(), "accent") : null,
        item.loaded ? badge("loaded", "success") : null,
        item.bundled ? badge("bundled", "neutral", "Part of the agent's own catalogue") : null,
        item.kind && item.kind !== "plugin" ? badge(item.kind, "neutral") : null,
        tags.map((t) => h("span", { class: "tag" }, t))));
  }

  async function load() {
    const mine = ++sequence;
    if (controller) controller.abort();
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    clear(pager);
    try {
      let items;
      let summary;
      if (state.q) {
        const body = await get(`/api/registry/search?q=${encodeURIComponent(state.q)}&limit=50`, { signal: controller.signal });
        items = (body.results || []).filter((r) => !state.kind || r.kind === state.kind);
        summary = `${items.length} result${items.length === 1 ? "" : "s"} for “${state.q}”`;
      } else {
        const kind = state.kind ? `&kind=${encodeURIComponent(state.kind)}` : "";
        const body = await get(`/api/registry/plugins?limit=${PAGE}&offset=${state.offset}${kind}`, { signal: controller.signal });
        items = body.plugins || [];
        const total = body.total ?? body.count ?? items.length;
        const from = items.length ? state.offset + 1 : 0;
        summary = `${from}–${state.offset + items.length} of ${total}`;
        if (body.source) showSource(body.source);
        const prev = h("button", { type: "button", class: "button button-small", id: "page-prev", disabled: state.offset === 0 }, "← Previous");
        const next = h("button", { type: "button", class: "button button-small", id: "page-next", disabled: state.offset + items.length >= total }, "Next →");
        prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); load().then(() => focusFirst()); });
        next.addEventListener("click", () => { state.offset += PAGE; load().then(() => focusFirst()); });
        pager.append(prev, h("span", { class: "muted", id: "page-info" }, `Page ${Math.floor(state.offset / PAGE) + 1} of ${Math.max(1, Math.ceil(total / PAGE))}`), next);
      }
      if (mine !== sequence || !ctx.alive()) return;
      clear(results);
      results.append(h("p", { class: "muted counter", id: "registry-count" }, summary));
      if (!items.length) results.append(h("p", { class: "empty" }, state.q ? "Nothing matches. Try fewer or other words." : "The catalogue is empty."));
      else results.append(h("ul", { class: "result-list" }, items.map(card)));
    } catch (error) {
      if (error.name === "AbortError" || mine !== sequence) return;
      clear(results).append(errorBox(error, "The registry could not be read"));
    } finally {
      if (mine === sequence) results.setAttribute("aria-busy", "false");
    }
  }

  function focusFirst() {
    const link = results.querySelector(".result-link");
    if (link) link.focus();
  }

  const onSearch = debounce(() => {
    state.q = searchInput.value.trim();
    state.offset = 0;
    load();
  }, 250);
  searchInput.addEventListener("input", onSearch);
  searchInput.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); onSearch.cancel(); state.q = searchInput.value.trim(); state.offset = 0; load(); } });
  kindSelect.addEventListener("change", () => { state.kind = kindSelect.value; state.offset = 0; load(); });
  if (refreshButton) {
    refreshButton.addEventListener("click", async () => {
      refreshButton.disabled = true;
      try {
        const r = await refreshOp.run("/api/registry/refresh", undefined);
        refreshFailed = false;
        ctx.notify(`Catalogue refreshed: ${r && r.count !== undefined ? r.count + " entries" : "done"}.`, "success");
        await load();
      } catch {
        refreshFailed = true;  // shown in the block, once
        if (lastSource) showSource(lastSource);
        await load();
      } finally { refreshButton.disabled = false; }
    });
  }

  await loadInstalled();
  if (!ctx.alive()) return;
  await load();
  const afterChange = async () => { await loadInstalled(); await load(); };
  const show = (name, focus) => {
    selected = name;
    split.classList.toggle("split-open", Boolean(name));
    details.hidden = !name;
    for (const link of results.querySelectorAll(".result-link")) {
      if (link.closest(".result").dataset.name === name) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
    if (name) renderDetails(details, name, ctx, () => installed, afterChange, focus);
    else clear(details);
  };
  if (selected) show(selected, false);
  return {
    cleanup: () => { onSearch.cancel(); if (controller) controller.abort(); },
    update: (next) => show(next.length ? next.join("/") : null, true),
  };
}

async function renderDetails(box, name, ctx, installedMap, afterChange, focus, finishedOperation = null) {
  const token = (box.dataset.token = String(Number(box.dataset.token || 0) + 1));
  clear(box).append(h("a", { href: "#/registry", class: "back-link" }, "← Close"), loading(`Loading ${name}…`));
  let plugin;
  try {
    plugin = (await get(`/api/registry/plugins/${seg(name)}`)).plugin;
  } catch (error) {
    if (!ctx.alive() || box.dataset.token !== token) return;
    clear(box).append(h("a", { href: "#/registry", class: "back-link" }, "← Close"), errorBox(error, `Could not load ${name}`));
    return;
  }
  if (!ctx.alive() || box.dataset.token !== token) return;
  const rec = installedMap().get(plugin.name);
  clear(box);
  const titleId = uid("details-title");
  box.setAttribute("aria-labelledby", titleId);
  box.append(h("a", { href: "#/registry", class: "back-link" }, "← Close"),
    h("h2", { id: titleId }, plugin.displayName || plugin.name),
    h("div", { class: "muted" }, h("code", {}, plugin.name)),
    h("div", { class: "badges" },
      compatBadge(plugin),
      typeof plugin.stars === "number" ? badge(`★ ${plugin.stars}`, "neutral", "GitHub stars") : null,
      plugin.kind ? badge(plugin.kind, "neutral") : null,
      plugin.installed || rec ? badge(`installed ${plugin.installedVersion || (rec && rec.version) || ""}`.trim(), "success") : null,
      plugin.loaded ? badge("loaded", "success") : null,
      plugin.bundled ? badge("bundled", "neutral") : null),
    plugin.description ? h("p", { class: "description" }, plugin.description) : h("p", { class: "muted" }, "No description."));
  if (focus) { const t = box.querySelector("h2"); t.tabIndex = -1; t.focus(); }

  const versions = plugin.versions && typeof plugin.versions === "object" ? Object.entries(plugin.versions) : [];
  const coreRanges = plugin.coreRanges && typeof plugin.coreRanges === "object" ? plugin.coreRanges : {};
  const dl = h("dl", { class: "facts" },
    h("dt", {}, "Repository"), h("dd", {}, externalLink(plugin.repository)),
    plugin.homepage ? [h("dt", {}, "Homepage"), h("dd", {}, externalLink(plugin.homepage))] : null,
    h("dt", {}, "Author"), h("dd", {}, plugin.author || "—"),
    h("dt", {}, "npm package"), h("dd", {}, h("code", {}, plugin.npm && plugin.npm.package ? plugin.npm.package : plugin.name)),
    h("dt", {}, "Offered version"), h("dd", {}, plugin.npm && plugin.npm.version ? `${plugin.npm.version}${plugin.channel ? ` (channel ${plugin.channel})` : ""}` : "none published"),
    h("dt", {}, "Agent core"), h("dd", { id: "registry-compat" }, compatSentence(plugin)),
    h("dt", {}, "Versions"), h("dd", {}, versions.length
      ? h("ul", { class: "inline-list" }, versions.map(([ch, v]) => h("li", {}, h("span", { class: "muted" }, `${ch}: `), v || "—",
        coreRanges[ch] ? h("span", { class: "muted" }, ` (core ${coreRanges[ch]})`) : null)))
      : "—"),
    h("dt", {}, "Tags"), h("dd", {}, (plugin.tags || []).length ? h("div", { class: "badges" }, plugin.tags.map((t) => h("span", { class: "tag" }, t))) : "—"));
  box.append(dl);

  if (!ctx.isAdmin) return;

  // --- install / update ---
  const op = operationBlock("Install");
  const versionId = uid("version");
  const enableId = uid("enable");
  const offered = [...new Set([plugin.npm && plugin.npm.version, ...versions.map(([, v]) => v)].filter(Boolean))];
  const versionSelect = h("select", { id: versionId, class: "input", name: "version" },
    offered.map((v) => h("option", { value: v, selected: plugin.npm && v === plugin.npm.version }, v === (plugin.npm && plugin.npm.version) ? `${v} (recommended)` : v)),
    h("option", { value: "latest" }, "latest (npm dist-tag)"));
  const enableBox = h("input", { type: "checkbox", id: enableId, checked: true });
  const installButton = h("button", { type: "button", class: "button button-primary", id: "install", "data-mutates": "true" },
    rec ? "Install this version" : "Install");
  const section = h("section", { class: "install-box", "aria-label": "Install" },
    h("h3", {}, rec ? "Installed" : "Install"),
    rec ? h("p", {}, `Version ${rec.version} is installed${rec.installedAt ? " since " + new Date(rec.installedAt).toLocaleDateString() : ""}.`) : null,
    h("div", { class: "install-row" },
      h("div", { class: "tool" }, h("label", { for: versionId }, "Version"), versionSelect),
      h("span", { class: "inline-check" }, enableBox, h("label", { for: enableId }, "enable after installing")),
      installButton),
    op.element);
  box.append(section);

  async function install(version, label) {
    installButton.disabled = true;
    if (updateButton) updateButton.disabled = true;
    op.element.querySelector(".op-label").textContent = label;
    try {
      const body = { name: plugin.name, enable: enableBox.checked };
      if (version) body.version = version;
      const result = await installAsking((b) => op.run("/api/plugins/install", b), body);
      if (!result) return; // declined: the refusal stays in the block
      const v = result && result.plugin && result.plugin.version ? result.plugin.version : version;
      ctx.notify(`${plugin.displayName || plugin.name} ${v || ""} installed${result.forced ? " (forced)" : ""}${result.requiresRestart ? "; the agent restarts to load it" : ""}.`, "success");
      await afterChange();
      // Show the new state, and keep the finished progress bar in it.
      if (ctx.alive()) renderDetails(box, name, ctx, installedMap, afterChange, false, op.element);
    } catch { /* the block shows the API's message and the log tail */ } finally {
      installButton.disabled = false;
      if (updateButton) updateButton.disabled = false;
    }
  }
  let updateButton = null;
  if (rec && rec.updateAvailable) {
    updateButton = h("button", { type: "button", class: "button button-primary", id: "update", "data-mutates": "true" }, `Update to ${rec.latestVersion}`);
    updateButton.addEventListener("click", () => install(rec.latestVersion, "Update"));
    section.insertBefore(h("p", { class: "message message-info" }, `A newer version is available: ${rec.latestVersion}. `, updateButton), op.element);
  }
  installButton.addEventListener("click", () => install(versionSelect.value, "Install"));
  if (finishedOperation) section.append(finishedOperation);
  if (!offered.length) section.insertBefore(infoBox("The registry publishes no npm version for it; installing asks npm for its latest."), op.element);
}

// A progress block for one operation (install, uninstall, eject, sync, reinject, refresh):
// a <progress> driven by GET /api/operations/:id while the POST runs, the phase, and the log
// tail when it fails; an install's warnings when it succeeds.

import { runOperation } from "./api.js";
import { h, clear, errorBox } from "./dom.js";
import { warningsBox } from "./compat.js";

/** An element to place on the page, and run(path, body) that drives it. */
export function operationBlock(label) {
  const bar = h("progress", { class: "op-progress", max: "1", "aria-label": `${label} progress` });
  const phase = h("span", { class: "op-phase" }, "starting");
  const percent = h("span", { class: "op-percent muted" });
  const outcome = h("div", { class: "op-outcome" });
  const block = h("div", { class: "operation", role: "status", "aria-live": "polite", hidden: true },
    h("div", { class: "op-head" }, h("strong", { class: "op-label" }, label), phase, percent),
    bar, outcome);

  function show(op) {
    block.hidden = false;
    block.dataset.state = op.state || "running";
    if (op.operationId || op.id) block.dataset.operationId = op.id;
    phase.textContent = op.phase ? `— ${op.phase}` : "";
    if (op.state === "succeeded") {
      bar.value = 1;
      percent.textContent = "100%";
    } else if (typeof op.progress === "number") {
      bar.value = Math.max(0, Math.min(1, op.progress));
      percent.textContent = `${Math.round(bar.value * 100)}%`;
    } else if (op.state === "running") {
      bar.removeAttribute("value"); // indeterminate
      percent.textContent = "";
    }
  }

  async function run(path, body) {
    clear(outcome);
    block.hidden = false;
    block.dataset.state = "running";
    bar.value = 0;
    try {
      const { result, operation } = await runOperation(path, body, show);
      show({ ...operation, state: "succeeded" });
      block.dataset.state = "succeeded";
      outcome.append(...[h("p", { class: "op-done" }, "Done."), ...verdictNotes(result), warningsBox(result)].filter(Boolean));
      return result;
    } catch (error) {
      block.dataset.state = "failed";
      bar.value = bar.value || 0;
      outcome.append(errorBox(error, `${label} failed`));
      if (error.operation && error.operation.result) {
        outcome.append(...[...verdictNotes(error.operation.result), warningsBox(error.operation.result)].filter(Boolean));
      }
      // The log's last line repeats the error ("failed: <sentence>"), which the box above already shows.
      const tail = (error.operation && Array.isArray(error.operation.logTail) ? error.operation.logTail : [])
        .filter((line) => line !== `failed: ${error.message}`);
      if (tail.length) {
        outcome.append(h("details", { class: "log-tail", open: true },
          h("summary", {}, tail.length === 1 ? "Last log line" : `Last ${tail.length} log lines`),
          h("pre", {}, tail.join("\n"))));
      }
      throw error;
    }
  }

  return { element: block, run, show };
}

/** What the runtime said after the change (`loaded`, `loadError`, `warnings`, `rolledBackTo`), for the outcome. */
export function verdictNotes(result) {
  if (!result || typeof result !== "object") return [];
  const notes = [];
  if (result.loaded === true) notes.push(h("p", { class: "op-verdict", "data-loaded": "true" }, "The agent loaded it."));
  if (result.loaded === false) {
    notes.push(h("p", { class: "op-verdict", "data-loaded": "false" },
      result.rolledBackTo ? `It did not load, so it was rolled back to ${result.rolledBackTo}.` : "The agent did not load it."));
  }
  return notes;  // the warnings, in `warningsBox`
}

// What the sandbox list and the detail page share: state badges, resources, labels, and the actions.

import { api, enc } from "../api.js";
import { confirmAction, h } from "../ui.js";

export const POLL_MS = 2000;

/** The state machine of the server (lifecycle/states.py): which action each state allows. */
const ALLOWED = {
  start: new Set(["stopped", "archived", "error"]),
  stop: new Set(["started"]),
  archive: new Set(["stopped"]),
  delete: new Set([
    "creating", "starting", "started", "stopping", "stopped", "resizing",
    "archiving", "archived", "restoring", "error",
  ]),
};

export const ACTIONS = [
  { name: "start", label: "Start", busy: "starting" },
  {
    name: "stop",
    label: "Stop",
    busy: "stopping",
    confirm: (s) => ({
      title: `Stop sandbox ${s.id}?`,
      text: "Its processes end; its files are kept. You can start it again later.",
      confirmLabel: "Stop sandbox",
    }),
  },
  {
    name: "archive",
    label: "Archive",
    busy: "archiving",
    confirm: (s) => ({
      title: `Archive sandbox ${s.id}?`,
      text: "Its changes move to object storage and its disk is freed. Starting it again restores them.",
      confirmLabel: "Archive sandbox",
    }),
  },
  {
    name: "delete",
    label: "Delete",
    busy: "destroying",
    danger: true,
    confirm: (s) => ({
      title: `Delete sandbox ${s.id}?`,
      text: "The sandbox, its files and its archive are removed for good. This cannot be undone.",
      confirmLabel: "Delete sandbox",
    }),
  },
];

export function allowed(action, state) {
  return ALLOWED[action].has(state);
}

export function metadata(sandbox) {
  try {
    return JSON.parse((sandbox.info && sandbox.info.providerMetadata) || "{}") || {};
  } catch {
    return {};
  }
}

export function stateBadge(sandbox) {
  const state = sandbox.state || "unknown";
  const progress = metadata(sandbox).progress;
  return h(
    "span",
    { class: "state-cell" },
    h("span", { class: `state state-${state}`, "data-state": state }, state),
    progress ? h("span", { class: "progress" }, progress) : null,
    state === "error" && sandbox.errorReason ? h("span", { class: "progress" }, sandbox.errorReason) : null,
  );
}

export function resourcesText(sandbox) {
  const parts = [`${sandbox.cpu ?? "?"} CPU`, `${sandbox.memory ?? "?"} GB RAM`, `${sandbox.disk ?? "?"} GB disk`];
  if (sandbox.gpu) parts.push(`${sandbox.gpu} GPU`);
  // Non-breaking inside a part, so a narrow column wraps between parts only.
  return parts.map((part) => part.replace(/ /g, "\u00a0")).join(" · ");
}

export function labelList(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return h("span", { class: "muted" }, "none");
  return h(
    "ul",
    { class: "labels", "aria-label": "Labels" },
    entries.map(([key, value]) => h("li", {}, `${key}=${value}`)),
  );
}

/**
 * Run `action` on `sandbox` after confirming where the action needs it. `onBusy(state)` is called
 * once the request is on its way, so the page can show the transitional state at once.
 * Returns true when the server accepted it; throws ApiError otherwise.
 */
export async function runAction(action, sandbox, onBusy) {
  if (action.confirm && !(await confirmAction(action.confirm(sandbox)))) return false;
  const path = `/workspace/${enc(sandbox.id)}`;
  const request = action.name === "delete" ? api("DELETE", path) : api("POST", `${path}/${action.name}`);
  onBusy(action.busy);
  await request;
  return true;
}

export function actionButtons(sandbox, onClick, { small = true } = {}) {
  return ACTIONS.map((action) =>
    h(
      "button",
      {
        type: "button",
        class: [action.danger ? "danger" : "secondary", small ? "small" : ""].join(" ").trim(),
        dataset: { action: action.name },
        disabled: !allowed(action.name, sandbox.state),
        "aria-label": `${action.label} sandbox ${sandbox.id}`,
        onclick: () => onClick(action),
      },
      action.label,
    ),
  );
}

/** Enable or disable the action buttons under `container` for `state`. */
export function updateButtons(container, state, pending) {
  for (const button of container.querySelectorAll("button[data-action]")) {
    button.disabled = pending || !allowed(button.dataset.action, state);
  }
}

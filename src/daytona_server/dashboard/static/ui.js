// Small DOM helpers. Text always goes in as text nodes (never innerHTML): names, labels and logs are user data.

/** Build an element: h("button", {class: "x", onclick: fn, "aria-label": "..."}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "hidden") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Say `message` to screen readers (polite). */
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** An error box (role=alert) for an API error or any other failure. */
export function alertBox(error, id) {
  const message = error instanceof Error ? error.message : String(error);
  return h("div", { class: "alert", role: "alert", id }, message);
}

/** Show `error` in `slot` (a container element), or clear it when `error` is null. */
export function showError(slot, error) {
  if (error) fill(slot, alertBox(error));
  else fill(slot);
}

/** Ask for confirmation in the modal dialog; resolves true only on an explicit "confirm". */
export function confirmAction({ title, text, confirmLabel = "Confirm", danger = true }) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const ok = document.getElementById("confirm-ok");
  ok.textContent = confirmLabel;
  ok.className = danger ? "danger" : "";
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        resolve(dialog.returnValue === "confirm");
        if (opener && opener.isConnected) opener.focus();
      },
      { once: true },
    );
    dialog.returnValue = "cancel";
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** "3 minutes ago" for an ISO time; the exact time is in the title and datetime attributes. */
export function timeAgo(iso, empty = "never") {
  if (!iso) return h("span", { class: "muted" }, empty);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", {}, iso);
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [30, "day"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let value = seconds;
  let text = "";
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) {
      text = relative.format(Math.trunc(value), unit);
      break;
    }
    value /= size;
  }
  if (Math.abs(seconds) < 10) text = "just now";
  return h("time", { datetime: date.toISOString(), title: absolute.format(date) }, text);
}

/** Copy `text` to the clipboard; falls back to selecting `input` and execCommand outside secure contexts. */
export async function copyText(text, input) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection fallback
    }
  }
  if (input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
  return false;
}

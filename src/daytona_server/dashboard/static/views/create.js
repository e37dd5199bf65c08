// The "Create sandbox" form of the sandbox list: POST /api/workspace with an image, a name, resources,
// env and labels (KEY=VALUE lines), auto-stop and the egress policy. The server validates; its message is
// shown above the form and on the field it names.

import { api } from "../api.js";
import { alertBox, fill, h } from "../ui.js";

// Wire name -> the id of the field that sets it (where an error message names it).
const FIELDS = {
  image: "create-image",
  name: "create-name",
  class: "create-class",
  cpu: "create-cpu",
  memory: "create-memory",
  disk: "create-disk",
  env: "create-env",
  labels: "create-labels",
  autoStopInterval: "create-autostop",
  networkBlockAll: "create-network-block",
  networkAllowList: "create-cidrs",
  domainAllowList: "create-domains",
};

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/** {KEY: VALUE} from lines of KEY=VALUE; blank lines and # comments are skipped. */
function parsePairs(text, field, what) {
  const pairs = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const at = line.indexOf("=");
    if (at <= 0) throw new FieldError(field, `${what}, line ${index + 1}: write KEY=VALUE, not "${line}".`);
    pairs[line.slice(0, at).trim()] = raw.slice(raw.indexOf("=") + 1);
  });
  return pairs;
}

/** The fields an API message is about: the wire names each "; "-separated part starts with. */
function fieldsIn(message) {
  const found = [];
  for (const part of message.replace(/^invalid request: /, "").split("; ")) {
    const name = part.split(/[\s:.=]/, 1)[0];
    if (FIELDS[name]) found.push(FIELDS[name]);
  }
  return found;
}

function field(id, label, control, hint) {
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  control.setAttribute("aria-describedby", [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" "));
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    error,
  );
}

function numberInput(id) {
  return h("input", { type: "number", id, min: "1", step: "1", inputmode: "numeric" });
}

/** The form; `onCreated(workspace)` after the server made it, `onCancel()` when closed without. */
export function createForm({ onCreated, onCancel }) {
  const image = h("input", { type: "text", id: "create-image", list: "create-image-options", autocomplete: "off", spellcheck: "false" });
  const imageOptions = h("datalist", { id: "create-image-options" });
  const name = h("input", { type: "text", id: "create-name", autocomplete: "off", spellcheck: "false" });
  const sizeClass = h(
    "select",
    { id: "create-class" },
    h("option", { value: "" }, "Server default"),
    h("option", { value: "small" }, "small: 1 CPU, 2 GiB memory, 10 GiB disk"),
    h("option", { value: "medium" }, "medium: 2 CPU, 4 GiB memory, 20 GiB disk"),
    h("option", { value: "large" }, "large: 4 CPU, 8 GiB memory, 40 GiB disk"),
  );
  const cpu = numberInput("create-cpu");
  const memory = numberInput("create-memory");
  const disk = numberInput("create-disk");
  const env = h("textarea", { id: "create-env", rows: "3", spellcheck: "false", placeholder: "DEBUG=1" });
  const labels = h("textarea", { id: "create-labels", rows: "3", spellcheck: "false", placeholder: "team=ml" });
  const autoStop = h("input", { type: "number", id: "create-autostop", min: "0", step: "1", inputmode: "numeric" });
  const radio = (value, label, checked = false) =>
    h(
      "label",
      { class: "choice" },
      h("input", { type: "radio", name: "create-network", value, checked, id: `create-network-${value}` }),
      " ",
      label,
    );
  const cidrs = h("input", { type: "text", id: "create-cidrs", spellcheck: "false", placeholder: "203.0.113.0/24, 198.51.100.7/32" });
  const domains = h("input", { type: "text", id: "create-domains", spellcheck: "false", placeholder: "pypi.org, *.github.com" });
  const allowFields = h(
    "div",
    { class: "allow-fields", id: "create-allow" },
    field("create-cidrs", "Reachable addresses (CIDRs)", cidrs, "Comma-separated IPv4 CIDRs."),
    field("create-domains", "Reachable domains", domains, "Comma-separated; *.example.com for all its subdomains."),
  );
  const network = h(
    "fieldset",
    { class: "network-choice", id: "create-network" },
    h("legend", {}, "Network"),
    radio("default", "Server default", true),
    radio("block", "No network (block all)"),
    radio("allow", "Only these destinations"),
    allowFields,
  );
  const errorSlot = h("div", { id: "create-error" });
  const submit = h("button", { type: "submit", id: "create-submit" }, "Create sandbox");
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => onCancel() }, "Cancel");
  const form = h(
    "form",
    { class: "create-form", id: "create-form", novalidate: true, "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "Create sandbox"),
    errorSlot,
    h(
      "div",
      { class: "form-grid" },
      field("create-image", "Image or snapshot", image, "Leave empty for the default image."),
      field("create-name", "Name", name, "Optional; the ID is made up when left empty."),
      imageOptions,
    ),
    h(
      "fieldset",
      { class: "resources" },
      h("legend", {}, "Resources"),
      h(
        "div",
        { class: "form-grid four" },
        field("create-class", "Class", sizeClass),
        field("create-cpu", "CPU cores", cpu),
        field("create-memory", "Memory (GiB)", memory),
        field("create-disk", "Disk (GiB)", disk),
      ),
      h("p", { class: "hint" }, "A class sets all three; a number given here wins over it."),
    ),
    h(
      "div",
      { class: "form-grid" },
      field("create-env", "Environment variables", env, "One KEY=VALUE a line."),
      field("create-labels", "Labels", labels, "One KEY=VALUE a line."),
    ),
    h(
      "div",
      { class: "form-grid" },
      field("create-autostop", "Auto-stop after (idle minutes)", autoStop, "0 = never; empty for the server's default."),
      network,
    ),
    h("div", { class: "form-actions" }, submit, cancel),
  );

  const choice = () => form.querySelector('input[name="create-network"]:checked').value;
  const syncNetwork = () => {
    allowFields.hidden = choice() !== "allow";
  };
  network.addEventListener("change", syncNetwork);
  syncNetwork();

  function clearErrors() {
    fill(errorSlot);
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    for (const node of form.querySelectorAll(".field-error")) {
      node.hidden = true;
      node.textContent = "";
    }
  }

  function showErrors(message, ids) {
    fill(errorSlot, alertBox(message));
    let first = null;
    for (const id of ids) {
      const control = form.querySelector(`#${id}`);
      if (!control) continue;
      control.setAttribute("aria-invalid", "true");
      const slot = form.querySelector(`#${id}-error`);
      if (slot) {
        slot.textContent = message;
        slot.hidden = false;
      }
      first = first || control;
    }
    (first || errorSlot.firstChild).focus?.();
  }

  function number(input, wire, what) {
    if (input.validity.badInput) throw new FieldError(FIELDS[wire], `${what}: enter a whole number.`);
    return input.value === "" ? undefined : Number(input.value);
  }

  function body() {
    const request = {};
    if (image.value.trim()) request.image = image.value.trim();
    if (name.value.trim()) request.name = name.value.trim();
    if (sizeClass.value) request.class = sizeClass.value;
    request.cpu = number(cpu, "cpu", "CPU cores");
    request.memory = number(memory, "memory", "Memory");
    request.disk = number(disk, "disk", "Disk");
    request.autoStopInterval = number(autoStop, "autoStopInterval", "Auto-stop");
    const envs = parsePairs(env.value, FIELDS.env, "Environment variables");
    if (Object.keys(envs).length) request.env = envs;
    const tags = parsePairs(labels.value, FIELDS.labels, "Labels");
    if (Object.keys(tags).length) request.labels = tags;
    if (choice() === "block") request.networkBlockAll = true;
    if (choice() === "allow") {
      request.networkBlockAll = false;
      request.networkAllowList = cidrs.value.trim();
      if (domains.value.trim()) request.domainAllowList = domains.value.trim();
    }
    for (const key of Object.keys(request)) if (request[key] === undefined) delete request[key];
    return request;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    let request;
    try {
      request = body();
    } catch (error) {
      showErrors(error.message, error.field ? [error.field] : []);
      return;
    }
    submit.disabled = true;
    submit.textContent = "Creating…";
    try {
      const created = await api("POST", "/workspace", { body: request });
      onCreated(created);
    } catch (error) {
      if (error.status !== 401) showErrors(error.message, fieldsIn(error.message));
    } finally {
      submit.disabled = false;
      submit.textContent = "Create sandbox";
    }
  });

  // The images this user may start from, as suggestions (a failure just leaves none).
  api("GET", "/images?limit=200")
    .then((page) => {
      const names = (page?.items || []).filter((i) => i.enabled && i.state === "active").map((i) => i.name);
      fill(imageOptions, [...new Set(names)].sort().map((value) => h("option", { value })));
    })
    .catch(() => {});

  return { element: form, focus: () => image.focus() };
}

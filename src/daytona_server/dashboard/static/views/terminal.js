// A terminal in the sandbox: xterm.js (served from vendor/, installed by `make dashboard-assets`) on a
// PTY WebSocket, `/api/toolbox/{id}/process/pty/create-connect`, authenticated by the session cookie.
// The server's first text message is {"type":"control","status":"connected"}, its last
// {"type":"control","status":"exited","exitCode":N}; output comes as binary (or text) messages, keys go
// as binary frames and a new size as POST …/pty/{ptyId}/resize. Nothing connects until the user asks.

import { api, enc } from "../api.js";
import { fill, h } from "../ui.js";

const VENDOR = "vendor/";
const EXIT_CONTROL = "X-Daytona-Pty-Exit-Control";
const RESIZE_DELAY_MS = 150;
const LEAVE_WINDOW_MS = 400; // Escape, then Tab within this, moves focus out of the terminal

let vendorCheck = null;

/** Whether the xterm.js files are there (one HEAD request per page load). */
function vendorPresent() {
  vendorCheck ||= fetch(`${VENDOR}xterm.mjs`, { method: "HEAD", cache: "no-store" })
    .then((response) => response.ok)
    .catch(() => false);
  return vendorCheck;
}

let stylesheet = null;

async function loadXterm() {
  if (!stylesheet) {
    stylesheet = h("link", { rel: "stylesheet", href: `${VENDOR}xterm.css` });
    document.head.append(stylesheet);
  }
  const [xterm, fit] = await Promise.all([import(`../${VENDOR}xterm.mjs`), import(`../${VENDOR}addon-fit.mjs`)]);
  return { Terminal: xterm.Terminal, FitAddon: fit.FitAddon };
}

function newPtyId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6)); // randomUUID needs a secure context
  return `dashboard-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The terminal panel of sandbox `id`: `setState(state)` offers it while started; `dispose()` closes it. */
export function terminalPanel(id) {
  const status = h("p", { class: "hint", role: "status", id: "terminal-status" });
  const errorSlot = h("div", { id: "terminal-error" });
  const screen = h("div", { class: "terminal-screen", id: "terminal", hidden: true });
  const openButton = h("button", { type: "button", id: "terminal-open", onclick: () => connect() }, "Open terminal");
  const closeButton = h(
    "button",
    { type: "button", class: "secondary", id: "terminal-close", hidden: true, onclick: () => close("Terminal closed.") },
    "Close terminal",
  );
  const hint = h("p", { class: "hint", id: "terminal-hint", hidden: true }, "Every key goes to the shell, Tab too: press Escape, then Tab, to move on.");
  const element = h(
    "section",
    { class: "panel", "aria-labelledby": "terminal-title", id: "terminal-panel" },
    h("div", { class: "page-head" }, h("h2", { id: "terminal-title" }, "Terminal"), h("div", { class: "head-actions" }, openButton, closeButton)),
    errorSlot,
    status,
    hint,
    screen,
  );
  let state = null;
  let available = null; // unknown until the HEAD answers
  let session = null; // {ws, term, fit, ptyId, observer, resizeTimer, connected, exited}
  let leftover = null; // the last terminal, kept on screen after it ended, until the next one
  let ended = ""; // what became of the last terminal

  function sync() {
    const started = state === "started";
    openButton.hidden = !!session;
    closeButton.hidden = !session;
    openButton.disabled = !started || available !== true;
    if (session) return;
    if (available === false) {
      fill(
        errorSlot,
        h(
          "p",
          { class: "notice", id: "terminal-missing" },
          "The terminal is not installed on this server: the dashboard's xterm.js files (static/vendor/) are missing. Run ",
          h("code", {}, "make dashboard-assets"),
          " (make run and make test do) and reload the page.",
        ),
      );
      status.textContent = "";
    } else if (!started && state) {
      status.textContent = `The sandbox is ${state}: start it to open a terminal.`;
    } else {
      status.textContent = ended || "Opens a shell in the sandbox as its user.";
    }
  }

  function sendResize() {
    if (!session || !session.connected) return;
    const { cols, rows } = session.term;
    api("POST", `/toolbox/${enc(id)}/process/pty/${enc(session.ptyId)}/resize`, { body: { cols, rows } }).catch(() => {});
  }

  async function connect() {
    if (session || state !== "started") return;
    fill(errorSlot);
    openButton.disabled = true;
    status.textContent = "Connecting…";
    ended = "";
    leftover?.dispose();
    leftover = null;
    let modules;
    try {
      modules = await loadXterm();
    } catch {
      available = false;
      sync();
      return;
    }
    const term = new modules.Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      scrollback: 5000,
      theme: { background: "#101418", foreground: "#e6edf3" },
    });
    const fit = new modules.FitAddon();
    term.loadAddon(fit);
    screen.hidden = false;
    hint.hidden = false;
    term.open(screen);
    fit.fit();
    screen.dataset.size = `${term.cols}x${term.rows}`;
    const ptyId = newPtyId();
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${window.location.host}/api/toolbox/${enc(id)}/process/pty/create-connect?id=${enc(ptyId)}&cols=${term.cols}&rows=${term.rows}`;
    const ws = new WebSocket(url, [EXIT_CONTROL]);
    ws.binaryType = "arraybuffer";
    const current = { ws, term, fit, ptyId, observer: null, resizeTimer: null, connected: false, exited: false };
    session = current;
    screen.dataset.ptyId = ptyId;
    sync();

    const encoder = new TextEncoder();
    const send = (bytes) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
    };
    term.onData((data) => send(encoder.encode(data)));
    term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    term.onResize(({ cols, rows }) => {
      screen.dataset.size = `${cols}x${rows}`;
      window.clearTimeout(current.resizeTimer);
      current.resizeTimer = window.setTimeout(sendResize, RESIZE_DELAY_MS);
    });
    // Escape, then Tab, leaves the terminal: Escape waits a moment for a Tab before it goes to the shell
    // (a shell would read Escape and the next key as one Meta key).
    let escape = null;
    const flushEscape = () => {
      if (escape === null) return;
      window.clearTimeout(escape);
      escape = null;
      send(encoder.encode("\x1b"));
    };
    term.attachCustomKeyEventHandler((event) => {
      if (event.type !== "keydown") return true;
      if (event.key === "Tab" && escape !== null && !event.shiftKey) {
        window.clearTimeout(escape);
        escape = null;
        term.blur();
        return false; // the browser moves focus on
      }
      flushEscape();
      if (event.key === "Escape" && !event.ctrlKey && !event.altKey && !event.metaKey && !event.shiftKey) {
        escape = window.setTimeout(flushEscape, LEAVE_WINDOW_MS);
        return false;
      }
      return true;
    });
    current.observer = new ResizeObserver(() => {
      if (!screen.hidden) fit.fit();
    });
    current.observer.observe(screen);

    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") {
        term.write(new Uint8Array(event.data));
        return;
      }
      if (event.data.startsWith('{"type":"control"') || event.data.startsWith('{"type": "control"')) {
        let control = null;
        try {
          control = JSON.parse(event.data);
        } catch {
          // not a control message after all: it is output
        }
        if (control && control.type === "control") {
          if (control.status === "connected") {
            current.connected = true;
            status.textContent = "Terminal connected.";
            sendResize(); // the page may have changed size while connecting
            term.focus();
          } else if (control.status === "exited") {
            current.exited = true;
            ended = `The shell exited with code ${control.exitCode ?? "unknown"}.`;
            status.textContent = ended;
          }
          return;
        }
      }
      term.write(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (session !== current) return;
      if (!current.exited) {
        const why = event.reason ? `: ${event.reason}` : "";
        ended = current.connected
          ? `The terminal was disconnected (code ${event.code}${why}).`
          : `The terminal could not connect (code ${event.code}${why}).`;
      }
      end(current, false);
    });
  }

  /** Stop `current`: keep its last screen visible, and end the PTY unless it has exited. */
  function end(current, hide, keepalive = false) {
    if (!current) return;
    current.observer?.disconnect();
    window.clearTimeout(current.resizeTimer);
    if (current.ws.readyState === WebSocket.OPEN || current.ws.readyState === WebSocket.CONNECTING) current.ws.close(1000);
    if (!current.exited) {
      api("DELETE", `/toolbox/${enc(id)}/process/pty/${enc(current.ptyId)}`, { keepalive }).catch(() => {});
    }
    current.term.options.disableStdin = true;
    if (hide) {
      current.term.dispose();
      screen.hidden = true;
      hint.hidden = true;
      delete screen.dataset.ptyId;
    } else {
      leftover = current.term;
    }
    if (session === current) session = null;
    sync();
  }

  function close(message) {
    const current = session;
    if (!current) return;
    session = null;
    ended = message;
    end(current, true);
    openButton.focus();
  }

  const onPageHide = () => {
    if (session) end(session, false, true);
  };
  window.addEventListener("pagehide", onPageHide);

  vendorPresent().then((present) => {
    available = present;
    sync();
  });

  return {
    element,
    setState(next) {
      state = next;
      sync();
    },
    dispose() {
      window.removeEventListener("pagehide", onPageHide);
      if (session) end(session, true, true);
      leftover?.dispose();
    },
  };
}

// The dashboard's entry point: who is signed in, the hash router (#/sandboxes, #/sandboxes/<id>, #/keys,
// #/signin) and the top bar. Each view renders into <main> and returns a cleanup function (stops polling).

import { api, setUnauthorizedHandler } from "./api.js";
import { fill, h } from "./ui.js";
import { renderKeys } from "./views/keys.js";
import { renderSandbox } from "./views/sandbox.js";
import { renderSandboxes } from "./views/sandboxes.js";
import { renderSignIn } from "./views/signin.js";

const main = document.getElementById("main");
const ctx = {
  user: null,
  flash: null, // a message for the next page (e.g. "your session has ended")
  navigate,
  signedIn,
};
let cleanup = null;
let firstRoute = true;

function parseRoute() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "signin") return { name: "signin" };
  if (parts[0] === "keys") return { name: "keys" };
  if (parts[0] === "sandboxes" && parts[1]) return { name: "sandbox", id: parts[1] };
  return { name: "sandboxes" };
}

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function updateChrome(routeName) {
  const nav = document.getElementById("main-nav");
  const account = document.getElementById("account");
  nav.hidden = account.hidden = !ctx.user;
  if (ctx.user) {
    const name = ctx.user.name || ctx.user.id;
    fill(
      document.getElementById("account-name"),
      h("span", {}, "Signed in as ", h("strong", {}, name)),
      " ",
      h("span", { class: "role" }, `(${ctx.user.role || "user"})`),
    );
  }
  const section = routeName === "sandbox" ? "sandboxes" : routeName;
  for (const link of nav.querySelectorAll("a[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const current = parseRoute();
  if (!ctx.user && current.name !== "signin") {
    navigate("#/signin");
    return;
  }
  if (ctx.user && current.name === "signin") {
    navigate("#/sandboxes");
    return;
  }
  updateChrome(current.name);
  fill(main);
  const views = { signin: renderSignIn, keys: renderKeys, sandboxes: renderSandboxes, sandbox: renderSandbox };
  cleanup = views[current.name](main, current, ctx) || null;
  const heading = main.querySelector("h1");
  if (heading) {
    document.title = `${heading.textContent} · Daytona`;
    heading.setAttribute("tabindex", "-1");
    // After navigating inside the app, move focus to the new page's heading so keyboard and
    // screen-reader users start at the new content. A full page load keeps the browser's own start
    // (the skip link is the first Tab stop).
    if (!firstRoute && (document.activeElement === document.body || !main.contains(document.activeElement))) {
      heading.focus();
    }
  }
  firstRoute = false;
}

/** Called by the sign-in view once the server has set the session cookie. */
async function signedIn(user) {
  ctx.user = user;
  try {
    ctx.user = await api("GET", "/users/me");
  } catch {
    // keep what the login answer said
  }
  navigate("#/sandboxes");
}

async function signOut() {
  try {
    await api("POST", "/auth/logout");
  } catch {
    // the cookie is gone either way once the server forgets the session
  }
  ctx.user = null;
  ctx.flash = "You have signed out.";
  navigate("#/signin");
}

setUnauthorizedHandler(() => {
  if (!ctx.user) return;
  ctx.user = null;
  ctx.flash = "Your session has ended: sign in again.";
  navigate("#/signin");
});

async function start() {
  document.getElementById("sign-out").addEventListener("click", signOut);
  // The skip link must not change the hash: that is the router's.
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    const heading = main.querySelector("h1");
    (heading || main).focus();
  });
  try {
    ctx.user = await api("GET", "/users/me");
  } catch (error) {
    ctx.user = null;
    if (error.status !== 401) ctx.flash = error.message;
  }
  window.addEventListener("hashchange", route);
  route();
}

start();

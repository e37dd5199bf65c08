// Sign in with a user name and password, or with an API key. The server answers with a session cookie.

import { api } from "../api.js";
import { h, showError } from "../ui.js";

function form({ id, legend, fields, submitLabel, toBody, ctx }) {
  const errorSlot = h("div", { id: `${id}-error` });
  const button = h("button", { type: "submit" }, submitLabel);
  const element = h(
    "form",
    { class: "panel", id, novalidate: true },
    h("fieldset", {}, h("legend", {}, legend), ...fields, errorSlot, button),
  );
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = toBody(new FormData(element));
    const empty = Object.entries(body).find(([, value]) => !value);
    if (empty) {
      const what = { username: "user name", password: "password", apiKey: "API key" }[empty[0]];
      showError(errorSlot, new Error(`Enter your ${what}.`));
      element.querySelector(`[name="${empty[0]}"]`).focus();
      return;
    }
    button.disabled = true;
    showError(errorSlot, null);
    try {
      const answer = await api("POST", "/auth/login", { body });
      await ctx.signedIn(answer && answer.user ? answer.user : null);
    } catch (error) {
      showError(errorSlot, error);
      button.disabled = false;
      const first = element.querySelector("input");
      if (first) first.focus();
    }
  });
  return element;
}

function field(id, name, label, type, autocomplete, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", {
      id,
      name,
      type,
      autocomplete,
      required: true,
      spellcheck: "false",
      autocapitalize: "off",
      "aria-describedby": hint ? `${id}-hint` : undefined,
    }),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

export function renderSignIn(main, _route, ctx) {
  const flash = ctx.flash;
  ctx.flash = null;
  main.append(
    h(
      "section",
      { class: "signin", "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title" }, "Sign in"),
      h("p", { class: "muted" }, "Use your account, or an API key of it."),
      flash ? h("div", { class: "notice", role: "status" }, flash) : null,
      h(
        "div",
        { class: "signin-grid" },
        form({
          id: "password-form",
          legend: "User name and password",
          submitLabel: "Sign in",
          fields: [
            field("signin-username", "username", "User name", "text", "username"),
            field("signin-password", "password", "Password", "password", "current-password"),
          ],
          toBody: (data) => ({ username: data.get("username").trim(), password: data.get("password") }),
          ctx,
        }),
        form({
          id: "apikey-form",
          legend: "API key",
          submitLabel: "Sign in with key",
          fields: [
            field(
              "signin-apikey",
              "apiKey",
              "API key",
              "password",
              "off",
              "A key starting with dtn_, as in DAYTONA_API_KEY.",
            ),
          ],
          toBody: (data) => ({ apiKey: data.get("apiKey").trim() }),
          ctx,
        }),
      ),
    ),
  );
  return null;
}

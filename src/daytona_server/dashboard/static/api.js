// The REST API as the dashboard uses it: the session cookie, the CSRF header on writes, readable errors.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** An error answer from the API (or no answer at all: status 0), with the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Called when any request (other than signing in) answers 401: the session has ended. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

async function errorFrom(response) {
  let message = "";
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    message = text.trim().slice(0, 500);
  }
  if (!message) message = `${response.status} ${response.statusText || "error"}`;
  return new ApiError(response.status, message);
}

/**
 * Call `/api<path>`. Returns the parsed JSON (or text, or null for an empty answer); with
 * `raw: true` the Response itself. Throws ApiError with the server's message on any failure.
 */
export async function api(method, path, { body, raw = false, signal, keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE_METHODS.has(method)) headers["X-Daytona-CSRF"] = "1";
  let response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal,
      keepalive,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "Cannot reach the server: check that it is running and try again.");
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && path !== "/auth/login") onUnauthorized(error);
    throw error;
  }
  if (raw) return response;
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? JSON.parse(text) : text;
}

/**
 * POST `file` as the multipart field `file` to `/api<path>`; `onProgress(sent, total)` follows the
 * upload (fetch cannot report it, XMLHttpRequest can). Resolves when stored; throws ApiError as api().
 */
export function uploadFile(path, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api${path}`);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-Daytona-CSRF", "1");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    request.addEventListener("load", async () => {
      if (request.status >= 200 && request.status < 300) {
        resolve();
        return;
      }
      const error = await errorFrom(new Response(request.responseText, { status: request.status, statusText: request.statusText }));
      if (request.status === 401) onUnauthorized(error);
      reject(error);
    });
    request.addEventListener("error", () => reject(new ApiError(0, "Cannot reach the server: check that it is running and try again.")));
    request.addEventListener("abort", () => reject(new DOMException("The upload was cancelled.", "AbortError")));
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}

/** Read at most `limit` bytes of a text answer; says whether it stopped early. */
export async function readText(response, limit) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      text += decoder.decode(value.subarray(0, value.byteLength - (size - limit)), { stream: true });
      await reader.cancel();
      return { text: text + decoder.decode(), truncated: true };
    }
    text += decoder.decode(value, { stream: true });
  }
  return { text: text + decoder.decode(), truncated: false };
}

export const enc = encodeURIComponent;

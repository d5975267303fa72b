/**
 * The demo page: one self-contained HTML document with inline CSS and JS, so it works
 * offline and shows the whole API through `fetch`. The script never touches
 * `document.cookie`: the session cookie is HttpOnly, and the JSON routes are the only view of
 * the session a page gets. Everything the server returns is written with `textContent`, so a
 * user name or a user agent cannot inject markup.
 *
 * @module
 */

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; }
  code { font-size: 0.85em; word-break: break-all; }
  button { font: inherit; padding: 0.2rem 0.8rem; cursor: pointer; }
  ul { padding: 0; list-style: none; }
  li { border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 0.8rem; margin: 0.5rem 0; }
  li.current { border-color: #2a7; }
  .muted { color: #777; font-size: 0.85em; }
  #error { color: #b00; min-height: 1.5em; }
  [hidden] { display: none; }
`;

const SCRIPT = `
  const $ = (id) => document.getElementById(id);

  async function call(method, path, body) {
    const init = { method, headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok && response.status !== 401) {
      throw new Error((data && data.error) || "HTTP " + response.status);
    }
    return { status: response.status, data };
  }

  function when(ms) {
    return new Date(ms).toLocaleString();
  }

  function deviceItem(info) {
    const item = document.createElement("li");
    if (info.current) item.className = "current";
    const name = document.createElement("div");
    name.textContent = info.device + (info.current ? "  (this device)" : "");
    const meta = document.createElement("div");
    meta.className = "muted";
    meta.textContent = "signed in " + when(info.createdAt) + ", last seen " + when(info.lastSeenAt) + ", handle " + info.session.slice(0, 12) + "...";
    const button = document.createElement("button");
    button.textContent = "Sign out";
    button.addEventListener("click", () => run(async () => {
      await call("DELETE", "/sessions/" + encodeURIComponent(info.session));
    }));
    item.append(name, meta, button);
    return item;
  }

  async function refresh() {
    const me = await call("GET", "/me");
    const signedIn = me.status === 200;
    $("signed-out").hidden = signedIn;
    $("signed-in").hidden = !signedIn;
    if (!signedIn) return;
    $("user").textContent = me.data.user;
    $("count").textContent = me.data.count;
    $("handle").textContent = me.data.session;
    const list = await call("GET", "/sessions");
    $("devices").replaceChildren(...(list.status === 200 ? list.data.sessions.map(deviceItem) : []));
  }

  // Every action ends in a refresh, so the page always shows what the server holds.
  async function run(action) {
    $("error").textContent = "";
    $("note").textContent = "";
    try {
      await action();
    } catch (error) {
      $("error").textContent = error.message;
    }
    try {
      await refresh();
    } catch (error) {
      $("error").textContent = error.message;
    }
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const user = new FormData(event.target).get("user");
    run(() => call("POST", "/login", { user }));
  });
  $("plus").addEventListener("click", () => run(() => call("POST", "/count")));
  $("logout").addEventListener("click", () => run(() => call("POST", "/logout")));
  $("logout-all").addEventListener("click", () => run(async () => {
    const result = await call("POST", "/logout-all");
    if (result.status === 200) $("note").textContent = "Signed out of " + result.data.revoked + " session(s).";
  }));
  run(async () => {});
`;

/**
 * @param nonce the per-response CSP nonce that lets the inline style and script run
 * @example
 * c.header("content-security-policy", `script-src 'nonce-${nonce}'`);
 * return c.html(renderPage(nonce));
 */
export function renderPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloakroom demo</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<h1>cloakroom demo</h1>
<p id="demo-notice"><strong>This is a demo of sessions, not of sign-in:</strong> it asks for a name and no password, so anyone can sign in as anyone. A real app checks a password, a passkey or a provider before it sets <code>session.userId</code>.</p>
<p id="error" role="alert"></p>
<p id="note" class="muted" role="status"></p>

<section id="signed-out" hidden>
  <form id="login" method="post" action="/login">
    <label>Name <input name="user" maxlength="64" required autocomplete="username"></label>
    <button>Sign in</button>
  </form>
  <p class="muted">Sign in with any name. Open a second browser (or a private window) as the same name to get a second device.</p>
</section>

<section id="signed-in" hidden>
  <p>Signed in as <strong id="user"></strong>. Count: <strong id="count"></strong> <button id="plus">+1</button></p>
  <p class="muted">Session handle (a hash of the id, safe to show): <code id="handle"></code></p>
  <h2>Your devices</h2>
  <ul id="devices"></ul>
  <p><button id="logout">Sign out</button> <button id="logout-all">Sign out everywhere</button></p>
</section>

<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

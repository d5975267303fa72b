/**
 * The reconnect example's page and its script. The script follows the room over a streamed
 * `fetch` of /stream (Server-Sent Events), keeps the last sequence number it showed, shows each
 * event once (by that number), acknowledges what it showed, and keeps the resume token that
 * acknowledgement returns. When the tab goes offline it drops the stream; when it comes back it
 * resumes with the token and receives what it missed. A refused token is shown with its reason.
 *
 * @module
 */

export function renderPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cloakroom reconnect</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css"></head>
<body>
<h1>Room</h1>
<p id="status">starting</p>
<form id="login" class="hidden"><input name="user" placeholder="your name" required> <button>Sign in</button></form>
<div id="room" class="hidden">
  <p>Signed in as <b id="user"></b> <button id="logout" type="button">Sign out</button></p>
  <form id="post"><input name="text" placeholder="say something" required autocomplete="off"> <button>Send</button></form>
  <ul id="events"></ul>
</div>
<script src="/app.js"></script>
</body></html>`;
}

export const pageStyle = `body{font:15px/1.4 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
#events{list-style:none;padding:0}#events li{border-bottom:1px solid #ddd;padding:.3rem 0}
#status{color:#555}.hidden{display:none}
`;

export const pageScript = `"use strict";
const $ = (id) => document.getElementById(id);
const store = window.sessionStorage;
const member = store.getItem("member") || crypto.randomUUID();
store.setItem("member", member);
let lastSeq = Number(store.getItem("lastSeq") || 0);
let token = store.getItem("token");
let stream = null;
let wanted = false;

const status = (text) => { $("status").textContent = text; };
const post = (path, body) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
function keepToken(value) { token = value; if (value) store.setItem("token", value); else store.removeItem("token"); }

function show(events) {
  for (const { seq, event } of events) {
    if (seq <= lastSeq) continue; // already shown: once, whatever the server sends again
    const item = document.createElement("li");
    item.dataset.seq = String(seq);
    item.textContent = event.from + ": " + event.text;
    $("events").append(item);
    lastSeq = seq;
  }
  store.setItem("lastSeq", String(lastSeq));
}

async function acknowledge() {
  const response = await post("/ack", { member, seq: lastSeq });
  if (response.ok) keepToken((await response.json()).token);
}

async function follow() {
  if (stream || !wanted || !navigator.onLine) return;
  const controller = new AbortController();
  stream = controller;
  try {
    const response = await post("/stream", token ? { member, token } : { member }).then((r) => r, (e) => { throw e; });
    if (response.status === 409) {
      const { reason } = await response.json();
      keepToken(null);
      status("resume refused: " + reason);
      stream = null;
      // Signed out elsewhere (revoked), or this tab signed in anew: follow again if still signed in.
      const me = await fetch("/me");
      return me.ok ? follow() : signedOut();
    }
    if (!response.ok || !response.body) throw new Error("status " + response.status);
    status("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    controller.signal.addEventListener("abort", () => reader.cancel().catch(() => {}));
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\\n\\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] || "null");
        if (type === "hello") keepToken(data.token);
        else if (type === "events") { show(data.events); await acknowledge(); }
        else if (type === "gap") status("missed events that are gone; continuing from " + data.oldest);
      }
    }
  } catch {
    // Offline, aborted, or the server went away: resume when it makes sense.
  }
  if (stream === controller) stream = null;
  if (wanted && navigator.onLine) setTimeout(follow, 1000);
  else status(navigator.onLine ? "stopped" : "offline");
}

function stop() { wanted = false; stream?.abort(); stream = null; }

function signedOut() {
  stop();
  $("room").classList.add("hidden");
  $("login").classList.remove("hidden");
}

async function signedIn(user) {
  $("user").textContent = user;
  $("login").classList.add("hidden");
  $("room").classList.remove("hidden");
  wanted = true;
  follow();
}

window.addEventListener("offline", () => { stream?.abort(); stream = null; status("offline"); });
window.addEventListener("online", () => follow());

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await post("/login", { user: new FormData(event.target).get("user") });
  // A new session: the token of the one before is of no use to it.
  keepToken(null);
  if (response.ok) signedIn((await response.json()).user);
});
$("post").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.text;
  const response = await post("/events", { text: input.value });
  if (response.ok) input.value = "";
});
$("logout").addEventListener("click", async () => {
  stop();
  await post("/logout", {});
  status("signed out");
  signedOut();
});

fetch("/me").then(async (response) => {
  if (response.ok) signedIn((await response.json()).user);
  else { status("signed out"); signedOut(); }
});
`;

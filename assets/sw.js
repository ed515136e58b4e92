// The service worker: lets the visit pages (/visits, /visits/new) open with no signal.
// Served from assets/ at /sw.js (scope /). Only production pages register it (see
// cme_app.py and sw-register.js); the dev server's Vite modules must never be cached.
//
// What the production build looks like, and why this file does what it does:
// - Every page is prerendered HTML at /<route>/ (/visits answers 307 to /visits/). The HTML
//   names its hashed chunks (/assets/<name>-<hash>.js|css) in modulepreload/stylesheet links
//   and an inline module script; React Router imports a route's chunks when you navigate to
//   it, and those are exactly what that route's own HTML names. So fetching the shell pages
//   and reading their HTML finds everything the visit pages need, including the chunks for a
//   client-side move from /visits to /visits/new.
// - Hashed chunks never change, so they are served cache-first. Pages and unhashed files
//   (/app.js, /outbox.js, icons...) go to the network first.
// - The pages hold no user data (it arrives over the websocket or the JSON API), so caching
//   their HTML keeps nothing personal. The backend routes and the API are never touched.
// - Only the shell pages are ever kept or answered from the cache. Every other page (a case,
//   the board, a referral) goes to the network alone, and with no network gets the "You're
//   offline" page: after signing out, Back offline brings back nobody's page, not even an
//   empty copy of one (issue 18).

const SHELL_PREFIX = "cme-shell-";
// Bump when the way this file caches changes, so every phone builds a fresh shell.
const SHELL_FORMAT = "2";
// A cache holding this entry is complete; a half-written one never has it.
const COMPLETE = "/__cme-shell-complete";
// Pages to keep for offline use, as the server serves them (trailing slash, no redirect).
const SHELL_PAGES = ["/visits/", "/visits/new/", "/login/"];
// Unhashed files the pages load. Missing ones (a page not built yet) are skipped.
const SHELL_FILES = [
  "/sw-register.js", "/app.js", "/outbox.js", "/styles.css", "/favicon.svg",
  "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png",
  "/icons/icon-maskable-512.png", "/icons/apple-touch-icon.png",
];
// Network only, never cached: Reflex's backend routes and the JSON API.
const NETWORK_ONLY = [/^\/_event(\/|$)/, /^\/_upload/, /^\/ping$/, /^\/_health$/,
                      /^\/_all_routes$/, /^\/auth-codespace/, /^\/api\//];
// A page or file slower than this is served from the cache if there is a copy (a doorstep
// with one bar of signal); with no copy we keep waiting for the network.
const NETWORK_TIMEOUT_MS = 4000;

// Answers a page that was never saved on this device, when there is no network.
const OFFLINE_PAGE = `<!doctype html><html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>You're offline – Children Missing Education</title>
<link rel="stylesheet" href="/styles.css"></head><body>
<header class="app-header"><div class="app-header__inner">
<span class="app-header__service">Children Missing Education</span></div></header>
<main class="page" id="main-content"><h1>You're offline</h1>
<p>This page has not been saved on this device, so it can't open without a connection.</p>
<p><a href="/visits">Go to your visits</a>. They work offline once you have opened them
with a connection.</p>
</main></body></html>`;

// ------------------------------------------------------------------ lifecycle

self.addEventListener("install", (event) => {
  self.skipWaiting();
  event.waitUntil(refreshShell());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    await dropIncompleteShells();
    await self.clients.claim();
  })());
});

// A page that was still loading when this worker activated can miss the claim above (seen
// in Chromium about one load in ten when they overlap); it asks again with "claim".
// A page sends "refresh-shell" when it opens online, so a deploy that did not change this
// file still replaces the cached shell. The answer goes to a MessagePort if one is sent.
self.addEventListener("message", (event) => {
  if (event.data === "claim") {
    event.waitUntil(self.clients.claim());
    return;
  }
  if (event.data !== "refresh-shell") return;
  const reply = (message) => {
    if (event.ports && event.ports[0]) event.ports[0].postMessage(message);
  };
  event.waitUntil(refreshShell().then(
    (result) => reply({ ok: true, ...result }),
    (error) => reply({ ok: false, error: String(error) }),
  ));
});

// ------------------------------------------------------------------ the shell cache

let refreshing = null;

// One refresh at a time; a second request while one runs shares its result.
function refreshShell() {
  if (!refreshing) {
    refreshing = buildShell().finally(() => { refreshing = null; });
  }
  return refreshing;
}

// Fetch the shell pages and files, name the cache after a hash of what came back, and if that
// cache is not already complete, fill a new one, mark it complete, and only then delete the
// older shells. An unchanged build keeps its cache; a build with different chunks replaces it.
async function buildShell() {
  const fetched = [];
  for (const path of [...SHELL_PAGES, ...SHELL_FILES]) {
    const response = await fetch(path, { cache: "no-cache", credentials: "same-origin" });
    if (response.status === 404) continue;  // e.g. /visits before its page exists
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    const bytes = await response.clone().arrayBuffer();
    fetched.push({ path, bytes, response: await clean(response) });
  }
  const assets = new Set();
  for (const { path, bytes } of fetched) {
    if (!SHELL_PAGES.includes(path)) continue;
    for (const url of assetUrls(new TextDecoder().decode(bytes))) assets.add(url);
  }
  const version = await digest(fetched);
  const name = SHELL_PREFIX + version;
  if (await isComplete(name)) {
    await deleteShellsExcept(name);
    return { version, cache: name, changed: false };
  }
  const cache = await caches.open(name);
  try {
    for (const { path, response } of fetched) await cache.put(path, response);
    for (const url of [...assets].sort()) {
      // Hashed chunks never change: reuse a copy from the old shell rather than download it.
      const copy = await caches.match(url, { ignoreVary: true });
      const response = copy || await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      await cache.put(url, copy ? response : await clean(response));
    }
  } catch (error) {
    await caches.delete(name);  // the old shell stays in use
    throw error;
  }
  await cache.put(COMPLETE, new Response(version));
  // Another worker (old and new during a deploy) finished first and deleted this one: its
  // shell stands, and this one must not delete it.
  if (!(await caches.has(name))) throw new Error("superseded by a newer shell");
  await deleteShellsExcept(name);
  return { version, cache: name, changed: true };
}

// Same-origin chunk and stylesheet URLs a page's HTML names: its modulepreload, stylesheet
// and script tags, and the route modules its inline module script imports.
function assetUrls(html) {
  const urls = new Set();
  for (const match of html.matchAll(/["'](\/assets\/[^"'?#\s]+\.(?:m?js|css))["']/g)) {
    urls.add(match[1]);
  }
  for (const tag of html.match(/<(?:script|link)\b[^>]*>/gi) || []) {
    const attr = /\b(?:src|href)=["']([^"']+)["']/i.exec(tag);
    if (!attr) continue;
    const rel = (/\brel=["']([^"']+)["']/i.exec(tag) || [])[1] || "";
    if (tag.toLowerCase().startsWith("<link") && !/stylesheet|modulepreload|preload/.test(rel)) {
      continue;
    }
    const url = new URL(attr[1], self.location.origin);
    if (url.origin === self.location.origin && url.pathname.startsWith("/assets/")) {
      urls.add(url.pathname);
    }
  }
  return urls;
}

// A redirected response must never answer a navigation, so store a plain copy.
async function clean(response) {
  if (!response.redirected) return response.clone();
  return new Response(await response.clone().blob(), {
    status: response.status, statusText: response.statusText, headers: response.headers,
  });
}

// A short hash of this file's format and every fetched path and body.
async function digest(fetched) {
  const parts = [new TextEncoder().encode(SHELL_FORMAT)];
  for (const { path, bytes } of fetched) {
    parts.push(new TextEncoder().encode(`\n${path}\n${bytes.byteLength}\n`), new Uint8Array(bytes));
  }
  const hash = await crypto.subtle.digest("SHA-256", await new Blob(parts).arrayBuffer());
  return [...new Uint8Array(hash)].slice(0, 8).map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function shellNames() {
  return (await caches.keys()).filter((name) => name.startsWith(SHELL_PREFIX));
}

async function isComplete(name) {
  if (!(await caches.has(name))) return false;
  return Boolean(await (await caches.open(name)).match(COMPLETE));
}

async function deleteShellsExcept(keep) {
  for (const name of await shellNames()) if (name !== keep) await caches.delete(name);
}

// A shell left half-written (the phone lost signal during a refresh) is never used.
async function dropIncompleteShells() {
  if (refreshing) return;
  for (const name of await shellNames()) {
    if (!(await isComplete(name))) await caches.delete(name);
  }
}

// The complete shell cache runtime copies go into (none before the first install finished).
async function currentShell() {
  for (const name of (await shellNames()).reverse()) {
    if (await isComplete(name)) return caches.open(name);
  }
  return null;
}

async function keep(key, response) {
  const cache = await currentShell();
  if (cache) await cache.put(key, response);
}

// ------------------------------------------------------------------ fetch

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NETWORK_ONLY.some((pattern) => pattern.test(url.pathname))) return;
  if (request.mode === "navigate") {
    event.respondWith(page(event, url));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(chunk(event));
  } else {
    event.respondWith(file(request));
  }
});

// The cache key of a page: its path with a trailing slash (as the server serves it) and no
// query, so /visits/new?case=CME-2026-00042 falls back to the cached /visits/new/ shell.
function pageKey(url) {
  return url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
}

async function page(event, url) {
  const key = pageKey(url);
  const network = fetch(event.request);
  if (!SHELL_PAGES.includes(key)) return network.catch(offlinePage);
  // Keep a fresh copy even when the cache answered first. A 307 to the trailing-slash URL
  // passes through untouched; only real pages are kept.
  event.waitUntil(network.then((response) => {
    const html = (response.headers.get("content-type") || "").includes("text/html");
    if (response.ok && response.type === "basic" && !response.redirected && html) {
      return keep(key, response.clone());
    }
    return undefined;
  }).catch(() => {}));
  const cached = await caches.match(key);
  if (!cached) return network.catch(offlinePage);
  return networkFirst(network, cached);
}

function offlinePage() {
  return new Response(OFFLINE_PAGE, {
    status: 503, headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
  });
}

// The network's answer, or the cached copy if the network fails or is too slow.
async function networkFirst(network, cached) {
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(resolve, NETWORK_TIMEOUT_MS); });
  try {
    return (await Promise.race([network, slow])) || cached;
  } catch {
    return cached;
  } finally {
    clearTimeout(timer);
  }
}

async function chunk(event) {
  const cached = await caches.match(event.request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(event.request);
  if (response.ok && response.type === "basic") {
    event.waitUntil(keep(event.request, response.clone()));
  }
  return response;
}

// Unhashed files (/app.js, /outbox.js, icons...): the shell has the plain path, while
// rx.asset URLs carry ?v=<hash>.
async function file(request) {
  const network = fetch(request);
  const cached = await caches.match(request, { ignoreSearch: true, ignoreVary: true });
  return cached ? networkFirst(network, cached) : network;
}

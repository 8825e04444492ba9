// The service worker (served as /sw.js, scope "/"): keeps the 日日学 page and the files it needs so
// that today's set opens without the network. What it keeps, and nothing else:
//  - the /daily page (network first: online, every visit is fresh and replaces the copy);
//  - the static files of that page (network first too, the copy for offline use);
// never an API response (the set's questions are kept by the page itself, without keys) and never
// another page. Every other request goes to the network untouched. Signing out drops the page copy.
const VERSION = "v1";
const STATIC = `quizapp-static-${VERSION}`;
const PAGES = `quizapp-pages-${VERSION}`;
const DAILY = "/daily";
// The 日日学 page's files: tests/test_offline_daily.py checks this list against what daily.js imports.
const PRECACHE = [
  "/static/css/app.css",
  "/static/favicon.svg",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
  "/static/js/api.js",
  "/static/js/daily.js",
  "/static/js/daily_queue.js",
  "/static/js/dom.js",
  "/static/js/favourite.js",
  "/static/js/pwa.js",
  "/static/js/quiz.js",
  "/static/js/written.js",
  "/manifest.webmanifest",
];
const KEPT = new Set(PRECACHE);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== STATIC && name !== PAGES)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

// Network first; a good answer replaces the copy; without the network, the copy.
async function networkFirst(request, cacheName, key) {
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic" && !response.redirected) {
      const copy = response.clone();
      caches.open(cacheName).then((cache) => cache.put(key, copy));
    }
    return response;
  } catch (offline) {
    const kept = await caches.match(key, { cacheName });
    if (kept) return kept;
    throw offline;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    event.waitUntil(caches.delete(PAGES)); // the next person on this phone finds no page of ours
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && url.pathname === DAILY) {
    event.respondWith(networkFirst(request, PAGES, DAILY));
  } else if (request.mode === "navigate" && url.pathname === "/") {
    // The home screen's start: offline, today's set instead of the browser's error page.
    event.respondWith(fetch(request).catch(() => caches.match(DAILY, { cacheName: PAGES })
      .then((kept) => kept || Response.error())));
  } else if (KEPT.has(url.pathname) && !url.search) {
    event.respondWith(networkFirst(request, STATIC, url.pathname));
  }
});

// Installs the service worker (/sw.js) that keeps 日日学 usable offline; see sw.js.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    // no worker (private mode, an old browser): the site works as before, online only
  });
}

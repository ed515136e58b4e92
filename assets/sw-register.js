// Registers the service worker. cme_app.py adds this script to production builds only: in dev,
// Vite serves modules that must not be cached.
(() => {
  if (!("serviceWorker" in navigator)) return;
  // Opening a visit page online asks the worker to check the cached shell against the server,
  // so a deploy that left /sw.js unchanged still replaces it (the first install just did that).
  const refreshShell = () => {
    if (!navigator.onLine || !location.pathname.startsWith("/visits")) return;
    navigator.serviceWorker.ready.then((registration) => {
      registration.active?.postMessage("refresh-shell");
    });
  };
  const register = () => {
    const updating = Boolean(navigator.serviceWorker.controller);
    // The literal URL: rx.asset would add a ?v= hash that changes every deploy, and a new
    // script URL is a new worker rather than an update of the old one.
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(
      () => {
        if (updating) refreshShell();
        navigator.serviceWorker.ready.then((registration) => {
          // Loading while the worker activated, this page may have missed its claim.
          if (!navigator.serviceWorker.controller) registration.active?.postMessage("claim");
        });
      },
      (error) => console.warn("Service worker not registered:", error),
    );
  };
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
})();

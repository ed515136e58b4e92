// The offline banner, in place of Reflex's "Cannot connect to server" toast and pulsing icon
// (cme_app/components/offline.py puts it in the app wrap, on every page).
//
// It shows when the browser says it is offline, or when Reflex's websocket has failed to
// connect for a moment (the server is down or unreachable). It sits in the page flow above the
// header, so it never covers a button. The live region is always in the page and only its
// text changes, so screen readers announce it without moving focus; it is a role="status"
// only while it has something to say (an empty status would be one more on every page).
import { useEffect, useState, useSyncExternalStore } from "react";
import { useLocation } from "react-router";

// A failed reconnect must last this long before we say so: Reflex retries within 0.2-2 s,
// and a server restart that short is not worth a banner.
const SERVER_GRACE_MS = 1500;

const VISITS_MESSAGE =
  "You're offline. Visits you save are kept on this phone and sent when you reconnect.";
const OTHER_MESSAGE =
  "You're offline or the server can't be reached. Changes can't be saved until you reconnect.";

function subscribe(onChange) {
  window.addEventListener("online", onChange);
  window.addEventListener("offline", onChange);
  return () => {
    window.removeEventListener("online", onChange);
    window.removeEventListener("offline", onChange);
  };
}

// Prerendering has no navigator: the HTML is built as if online.
const browserOnline = () => navigator.onLine;
const assumeOnline = () => true;

export function OfflineBanner({ serverUnreachable }) {
  const online = useSyncExternalStore(subscribe, browserOnline, assumeOnline);
  const { pathname } = useLocation();
  const [serverDown, setServerDown] = useState(false);

  useEffect(() => {
    if (!serverUnreachable) {
      setServerDown(false);
      return undefined;
    }
    const timer = window.setTimeout(() => setServerDown(true), SERVER_GRACE_MS);
    return () => window.clearTimeout(timer);
  }, [serverUnreachable]);

  const offline = !online || serverDown;
  const visits = pathname === "/visits" || pathname.startsWith("/visits/");
  return (
    <div
      role={offline ? "status" : undefined}
      aria-live="polite"
      id="offline-banner"
      className={offline ? "offline-banner offline-banner--shown" : "offline-banner"}
    >
      {offline ? (
        <p className="offline-banner__text">{visits ? VISITS_MESSAGE : OTHER_MESSAGE}</p>
      ) : null}
    </div>
  );
}

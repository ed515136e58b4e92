// The idle-timeout warning (components/layout.py draws it on every signed-in page).
//
// Using the page (a key, a click, typing) is activity: at most once a minute it tells the
// server (the hidden "still here" button: ActivityState.still_here touches the session), so
// the server's idle clock is never more than a minute behind this one. Two minutes before the
// idle timeout the warning opens as a modal dialog (focus moves into it); "Stay signed in" or
// Escape keeps the session; past the timeout the dialog says the person was signed out.
// The time of the last activity is shared between this browser's tabs (a number, nothing
// else), so working in one tab does not warn in another.
(() => {
  const KEY = "cme-last-activity";
  const PING_EVERY_MS = 60_000;
  let lastActivity = Date.now();
  let lastPing = 0;

  const dialog = () => document.getElementById("timeout-warning");
  const seconds = (el, name, fallback) => Number(el?.dataset?.[name]) || fallback;

  const shared = () => {
    try {
      return Number(window.localStorage.getItem(KEY)) || 0;
    } catch (_) {
      return 0;
    }
  };

  const activity = () => {
    const now = Date.now();
    lastActivity = now;
    try {
      window.localStorage.setItem(KEY, String(now));
    } catch (_) {
      // Storage refused (a private window): this tab's own clock still works.
    }
    if (now - lastPing >= PING_EVERY_MS) {
      const ping = document.getElementById("timeout-still-here");
      if (ping) {
        lastPing = now;
        ping.click();
      }
    }
  };

  const setText = (id, text) => {
    const el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  };

  const showWarning = (box) => {
    setText("timeout-warning-title", "You will be signed out soon");
    const minutes = Math.round(seconds(box, "warnSeconds", 120) / 60);
    setText("timeout-warning-time", `You will be signed out in ${minutes} minutes`);
    setText("timeout-stay", "Stay signed in");
    if (!box.open) box.showModal();
  };

  const showEnded = (box) => {
    setText("timeout-warning-title", "You have been signed out");
    const minutes = Math.round(seconds(box, "idleSeconds", 1800) / 60);
    setText("timeout-warning-time", `You had not used the service for ${minutes} minutes`);
    setText("timeout-stay", "Continue");
    if (!box.open) box.showModal();
  };

  const check = () => {
    const box = dialog();
    if (!box) return;
    const idle = seconds(box, "idleSeconds", 1800) * 1000;
    const warn = seconds(box, "warnSeconds", 120) * 1000;
    const quiet = Date.now() - Math.max(lastActivity, shared());
    if (quiet >= idle) showEnded(box);
    else if (quiet >= idle - warn) showWarning(box);
    else if (box.open) box.close(); // another tab was used meanwhile
  };

  for (const name of ["keydown", "pointerdown", "input"]) {
    document.addEventListener(name, activity, { capture: true, passive: true });
  }
  document.addEventListener("click", (ev) => {
    if (ev.target?.closest?.("#timeout-stay")) {
      activity();
      dialog()?.close();
    }
  });
  // Escape on the dialog: stay signed in, as the GOV.UK pattern does.
  document.addEventListener(
    "cancel",
    (ev) => {
      if (ev.target?.id !== "timeout-warning") return;
      ev.preventDefault();
      lastPing = 0;
      activity();
      dialog()?.close();
    },
    true,
  );
  setInterval(check, 1000);
})();

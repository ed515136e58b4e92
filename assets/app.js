// Error summary links move focus to the field, as GOV.UK Frontend does: a plain fragment link
// only scrolls, and scrolls the field itself to the very top, hiding its label, hint and error
// message. Here the field's form group (label or legend, hint, message) is scrolled to the top
// and the field is focused without scrolling again. A group (radios, checkboxes) focuses its
// first input. Capture phase, because the router turns the link into a route change before it
// would bubble up to us. Every error summary uses it: the Reflex pages' and the visit pages'.
const CONTROLS = "input:not([type=hidden]), select, textarea, button";

function errorLinkAnchor(target, control) {
  const near = (el) => {
    // Near enough that the field is still on screen once `el` is at the top.
    const top = el.getBoundingClientRect().top;
    return !control || control.getBoundingClientRect().bottom - top < window.innerHeight * 0.75;
  };
  const group = target.closest(".form-group");
  if (group && near(group)) return group;
  const legend = target.querySelector("legend") || target.closest("fieldset")?.querySelector("legend");
  if (legend && near(legend)) return legend;
  const label = control && control.id
    ? document.querySelector(`label[for="${CSS.escape(control.id)}"]`)
    : null;
  return label || target;
}

document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a");
  if (!link || !link.hash) return;
  const target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  const control = target.matches(CONTROLS) ? target : target.querySelector(CONTROLS);
  errorLinkAnchor(target, control).scrollIntoView({ block: "start" });
  (control || target).focus({ preventScroll: true });
}, true);

// Sign-in and sign-out. The session cookie is HttpOnly, so only an HTTP response can set or
// clear it. Then the next page loads in full with a new tab token: Reflex keys a tab's
// server-side state by the token its state.js keeps in sessionStorage under "token", so
// removing it makes the next page start a fresh state (the server has wiped and dropped the
// old one), and the full load leaves nothing of the last person's pages in this document.
const REFLEX_TAB_TOKEN = "token";

window.cmeNewTab = (url) => {
  try {
    window.sessionStorage.removeItem(REFLEX_TAB_TOKEN);
  } catch (_) {
    // Storage refused (a privacy mode): the server has dropped the old token's state anyway.
  }
  // Replace: the page signed out from is not left in the history to go Back to.
  window.location.replace(url);
};

const PHONE_SCREEN = "(max-width: 767px)";

// After sign-in: the same address again (the sign-in page, which sends the user home).
window.cmeSignIn = async (ticket) => {
  let ok = false;
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ticket }),
    });
    ok = response.ok;
  } catch (_) {
    ok = false;
  }
  if (!ok) {
    window.cmeNewTab("/login?expired=1");
    return;
  }
  // A phone-sized screen: officers start on their visit log, not the board. The width only
  // picks the start page (pages/trust/login.py); every page still checks the role.
  const next = new URL(window.location.href);
  next.searchParams.delete("phone");
  if (window.matchMedia(PHONE_SCREEN).matches) next.searchParams.set("phone", "1");
  window.cmeNewTab(next.pathname + next.search);
};

window.cmeSignOut = async () => {
  try {
    await fetch("/api/v1/session", { method: "DELETE", credentials: "same-origin" });
  } catch (_) {
    // Offline: the server ended the session already; the cookie is refused from now on.
  }
  window.cmeNewTab("/login");
};

// Back or Forward to a page the browser kept in its back/forward cache would show it as it
// was, with the old tab token in memory: load it again instead (pages are sent no-store, so
// this is a fallback for browsers that keep them anyway). A page going into that cache is
// hidden first, so it is never shown again as it was, not even for a moment.
window.addEventListener("pagehide", (event) => {
  if (event.persisted) document.documentElement.style.visibility = "hidden";
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

// The case page keeps its place after an action (issue 20). Before an action in the case file
// ([data-keep-place]), remember which button was used, in which section, and where it was on
// the screen; when the answer has rendered (the server sends cmeKeepPlace), focus that button
// again (the form was redrawn empty, so it is a new element) or, if it has gone (a move that
// is no longer open), its section's heading, and scroll so it sits where it was.
let cmePlace = null;

const cmeRemember = (el) => {
  if (!el || !el.closest("[data-keep-place]")) return;
  const section = el.closest("section[aria-labelledby]");
  cmePlace = {
    section: section ? section.getAttribute("aria-labelledby") : null,
    text: el.textContent.trim(),
    top: el.getBoundingClientRect().top,
    y: window.scrollY,
  };
};

document.addEventListener("submit", (event) => {
  cmeRemember(event.submitter || event.target.querySelector("button[type=submit]"));
}, true);
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button");
  if (button && button.type !== "submit") cmeRemember(button);
}, true);

window.cmeKeepPlace = () => {
  const place = cmePlace;
  if (!place) return;
  const heading = place.section && document.getElementById(place.section);
  const section = heading && heading.closest("section");
  const same = section && [...section.querySelectorAll("button")]
    .find((b) => b.textContent.trim() === place.text);
  if (same) {
    same.focus({ preventScroll: true });
    window.scrollBy(0, same.getBoundingClientRect().top - place.top);
  } else {
    if (heading) heading.focus({ preventScroll: true });
    window.scrollTo(0, place.y);
  }
};

// Tabs (the WAI-ARIA pattern): arrow keys, Home and End move to another tab and open it.
document.addEventListener("keydown", (event) => {
  const tab = event.target.closest && event.target.closest('[role="tab"]');
  if (!tab) return;
  const tabs = [...tab.closest('[role="tablist"]').querySelectorAll('[role="tab"]')];
  const at = tabs.indexOf(tab);
  const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  const next = tabs[(to + tabs.length) % tabs.length];
  next.focus();
  next.click();
});

// Error summary links move focus to the field, as GOV.UK Frontend does: a plain fragment link
// only scrolls. A group (radios, checkboxes) focuses its first input. Capture phase, because
// the router turns the link into a route change before it would bubble up to us.
document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a");
  if (!link || !link.hash) return;
  const target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  const input = target.matches("input, select, textarea, button")
    ? target
    : target.querySelector("input, select, textarea, button");
  const legend = target.closest("fieldset")?.querySelector("legend") || target.querySelector("legend");
  (legend || target).scrollIntoView();
  (input || target).focus({ preventScroll: true });
}, true);

// Sign-in and sign-out. The session cookie is HttpOnly, so only an HTTP response can set or
// clear it. After sign-in the login page reloads, so the WebSocket reconnects carrying the
// cookie and the page sends the user home. Sign-out needs no reload: the server has already
// ended the session the socket was opened with.
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
  if (ok) window.location.reload();
  else window.location.replace("/login?expired=1");
};

window.cmeSignOut = () =>
  fetch("/api/v1/session", { method: "DELETE", credentials: "same-origin" }).catch(() => {});

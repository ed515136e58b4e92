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

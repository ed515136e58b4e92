// The referral form's autosave (cme_app/pages/intake/referral_drafts.py).
//
// Each field the school changes is sent to the server's draft through the page's hidden
// autosave form: at once when a choice is made or a field is left, and 1.5 seconds after
// typing pauses. Several fields go in one event, never more than the socket takes in one
// (`data-max-event-bytes` on the form, measured as the server measures it).
//
// A date input's three boxes are sent together. Save and continue (or Save draft) on a page
// too long to send in one event: every field not yet sent goes first, in events that fit,
// then the hidden "continue with the saved draft" button goes on with the draft the server
// now holds. Nothing typed is lost, and no event is refused for its size.
(() => {
  const FORM = "referral-form";
  const AUTOSAVE = "referral-autosave";
  const SUBMIT_SAVED = "submit-saved-draft"; // "go on with what the draft holds"
  const TYPING_PAUSE_MS = 1500;
  const ENVELOPE_BYTES = 8192; // the event's name, token and router data, with room to spare
  const SKIP = new Set(["submission_id", "draft_id"]);
  const sent = new Map(); // field name -> the value the server has
  const timers = new Map();
  let sentForm = null; // the form element `sent` describes (a new one after each redraw)

  // The event's size as the server counts it: JSON with every non-ASCII UTF-16 unit as \uXXXX.
  const serverBytes = (value) => {
    const text = JSON.stringify(value);
    let n = 0;
    for (let i = 0; i < text.length; i += 1) n += text.charCodeAt(i) < 128 ? 1 : 6;
    return n;
  };

  const limit = (form) =>
    Math.max(4096, (Number(form.dataset.maxEventBytes) || 65536) - ENVELOPE_BYTES);

  const valueOf = (el) => {
    if (el.type === "checkbox") return el.checked ? "on" : "";
    if (el.type === "radio") {
      const chosen = el.form?.querySelector(`input[type=radio][name="${CSS.escape(el.name)}"]:checked`);
      return chosen ? chosen.value : "";
    }
    return el.value;
  };

  const fieldsOf = (form) => {
    const out = new Map();
    for (const el of form.elements) {
      if (!el.name || SKIP.has(el.name) || el.type === "submit" || el.type === "button") continue;
      if (el.type === "radio" && out.has(el.name)) continue;
      out.set(el.name, valueOf(el));
    }
    return out;
  };

  const ready = (form) => {
    if (sentForm !== form) {
      // A form drawn afresh: an opened draft shows what the server has; a new referral has
      // no draft yet, so nothing of it is on the server.
      sentForm = form;
      sent.clear();
      if (form.elements.namedItem("draft_id")?.value) {
        for (const [name, value] of fieldsOf(form)) sent.set(name, value);
      }
    }
  };

  // Send these fields, in as few events as fit.
  const send = (fields) => {
    const box = document.getElementById(AUTOSAVE);
    const form = document.getElementById(FORM);
    if (!box?.isConnected || !form || fields.size === 0) return;
    const max = limit(form);
    let chunk = {};
    const flush = () => {
      if (Object.keys(chunk).length === 0) return;
      box.elements.namedItem("fields").value = JSON.stringify(chunk);
      box.requestSubmit();
      chunk = {};
    };
    for (const [name, value] of fields) {
      const next = { ...chunk, [name]: value };
      if (Object.keys(chunk).length && serverBytes(JSON.stringify(next)) > max) flush();
      chunk[name] = value;
      sent.set(name, value);
    }
    flush();
  };

  const unsent = (form) => {
    ready(form);
    const out = new Map();
    for (const [name, value] of fieldsOf(form)) {
      if (sent.get(name) !== value) out.set(name, value);
    }
    return out;
  };

  const saveField = (el) => {
    const form = el.form;
    if (!form || form.id !== FORM || !el.name || SKIP.has(el.name)) return;
    ready(form);
    clearTimeout(timers.get(el.name));
    timers.delete(el.name);
    const value = valueOf(el);
    if (sent.get(el.name) === value) return;
    // A GOV.UK date input's Day, Month and Year go together: the server keeps one date.
    const group = el.closest("[data-date-input]");
    if (group) {
      const parts = new Map();
      for (const box of group.querySelectorAll("input[name]")) parts.set(box.name, valueOf(box));
      send(parts);
      return;
    }
    send(new Map([[el.name, value]]));
  };

  // Few events: the socket allows 20 a second (cme_app/socket_guard.py) and drops the rest.
  // A date's boxes are sent once, when the date input is left; a field left for its form's
  // Save button is not sent, as the save carries it.
  const inDate = (el) => el.closest?.("[data-date-input]");
  const leaving = (ev) => {
    const el = ev.target;
    const to = ev.relatedTarget;
    if (to && to.form === el.form && to.type === "submit") return;
    const group = inDate(el);
    if (group && to && group.contains(to)) return;
    saveField(el);
  };
  document.addEventListener("change", (ev) => { if (!inDate(ev.target)) saveField(ev.target); },
    true);
  document.addEventListener("focusout", leaving, true);
  document.addEventListener(
    "input",
    (ev) => {
      const el = ev.target;
      if (!el.form || el.form.id !== FORM || !el.name) return;
      ready(el.form);
      clearTimeout(timers.get(el.name));
      timers.set(el.name, setTimeout(() => saveField(el), TYPING_PAUSE_MS));
    },
    true,
  );

  // Before React sees the submit (it listens at the root, below the document): too long for
  // one event, so send what is left in pieces and submit the server's draft instead.
  document.addEventListener(
    "submit",
    (ev) => {
      const form = ev.target;
      if (!(form instanceof HTMLFormElement)) return;
      // Never the browser's own submission (a GET would put the child's details in the
      // address): React's handler still runs and sends the event.
      if (form.id === AUTOSAVE || form.id === FORM) ev.preventDefault();
      if (form.id !== FORM) return;
      const whole = Object.fromEntries(fieldsOf(form));
      if (serverBytes(JSON.stringify(whole)) <= limit(form)) return; // the ordinary submit
      ev.stopPropagation();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      send(unsent(form));
      document.getElementById(SUBMIT_SAVED)?.click();
    },
    true,
  );
})();

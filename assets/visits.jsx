// The phone visit pages (/visits, /visits/new?case=REF) and the login page's outbox notice.
//
// They work with no signal, so they don't use Reflex events (at most once, in memory): they
// read GET /api/v1/visits/mine (cached in IndexedDB by window.cmeOutbox, assets/outbox.js)
// and write every visit to the outbox, which sends it to POST /api/v1/visits when it can.
// The outbox item IS the visit in progress, so a reload carries on where the officer was.
// Rules below mirror the server's (docs/visits-api.md) so errors show before sending; the
// server still decides, and its 422 errors are shown the same way.
import { useCallback, useEffect, useRef, useState } from "react";

const VISITS_URL = "/visits";
const NEW_VISIT_URL = "/visits/new";
const ALERTS_URL = "/api/v1/visits/alerts";
const ALERT_POLL_MS = 30000;
const DRAFT_SAVE_MS = 400;
const YES_NO = [
  ["yes", "Yes"],
  ["no", "No"],
];

// ----- Small helpers ------------------------------------------------------------------------

function useOutbox() {
  const [outbox, setOutbox] = useState(null);
  useEffect(() => {
    if (window.cmeOutbox) {
      setOutbox(window.cmeOutbox);
      return undefined;
    }
    const ready = () => setOutbox(window.cmeOutbox || null);
    window.addEventListener("cmeoutbox:ready", ready);
    return () => window.removeEventListener("cmeoutbox:ready", ready);
  }, []);
  return outbox;
}

function useOnline() {
  const [online, setOnline] = useState(true);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    update();
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  return online;
}

const UK = "Europe/London";

function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: UK });
}

function ukDate(value) {
  // YYYY-MM-DD of an instant, in UK time.
  return new Intl.DateTimeFormat("en-CA", { timeZone: UK }).format(value);
}

function formatDay(isoDate) {
  if (!isoDate) return "";
  const d = new Date(`${isoDate}T12:00:00Z`);
  if (Number.isNaN(d.getTime())) return isoDate;
  return d.toLocaleDateString("en-GB", {
    weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: UK,
  });
}

// "14:05", or "14:05 on 27 Nov" when it wasn't today.
function formatWhen(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const time = formatTime(iso);
  if (ukDate(d) === ukDate(new Date())) return time;
  const day = d.toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: UK });
  return `${time} on ${day}`;
}

function minutesLabel(minutes) {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const parts = [];
  if (h) parts.push(`${h} ${h === 1 ? "hour" : "hours"}`);
  if (m) parts.push(`${m} minutes`);
  return parts.join(" ");
}

function riskClass(risk) {
  return ["red", "amber", "green"].includes(risk) ? risk : "none";
}

function fieldId(path) {
  return path ? path.replace(/\./g, "-") : "";
}

function caseUrl(reference, clientUuid) {
  const query = new URLSearchParams({ case: reference });
  if (clientUuid) query.set("visit", clientUuid);
  return `${NEW_VISIT_URL}?${query.toString()}`;
}

// A person's error says which person in the summary ("Person 2: …"); inline it sits in the row.
function summaryText(e) {
  const m = /people_spoken_to\.(\d+)\./.exec(e.field || "");
  if (!m) return e.message;
  return `Person ${Number(m[1]) + 1}: ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`;
}

// ----- GOV.UK pieces ------------------------------------------------------------------------

function ErrorSummary({ errors, focusKey }) {
  const ref = useRef(null);
  useEffect(() => {
    if (errors.length && ref.current) {
      ref.current.focus();
      ref.current.scrollIntoView({ block: "start" });
    }
  }, [focusKey]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!errors.length) return null;
  return (
    <div
      className="error-summary"
      id="error-summary"
      role="alert"
      tabIndex={-1}
      aria-labelledby="error-summary-title"
      ref={ref}
    >
      <h2 className="error-summary__title" id="error-summary-title">
        There is a problem
      </h2>
      <ul className="error-summary__list">
        {errors.map((e, i) => (
          <li key={`${e.field}-${i}`}>
            {e.field ? <a href={`#${fieldId(e.field)}`}>{summaryText(e)}</a> : e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function ErrorMessage({ id, message }) {
  if (!message) return null;
  return (
    <p className="error-message" id={`${id}-error`}>
      <span className="visually-hidden">Error: </span>
      {message}
    </p>
  );
}

function describedBy(id, hint, error) {
  const ids = [];
  if (hint) ids.push(`${id}-hint`);
  if (error) ids.push(`${id}-error`);
  return ids.length ? ids.join(" ") : undefined;
}

function Group({ error, children }) {
  return <div className={error ? "form-group form-group--error" : "form-group"}>{children}</div>;
}

function TextField({ id, label, hint, value, onChange, error, type = "text", width = "",
  autoComplete = "off", maxLength }) {
  return (
    <Group error={error}>
      <label className="label" htmlFor={id}>{label}</label>
      {hint ? <p className="hint" id={`${id}-hint`}>{hint}</p> : null}
      <ErrorMessage id={id} message={error} />
      <input
        className={`input ${error ? "input--error" : ""} ${width}`}
        id={id}
        name={id}
        type={type}
        value={value}
        autoComplete={autoComplete}
        maxLength={maxLength}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(e) => onChange(e.target.value)}
      />
    </Group>
  );
}

function TextArea({ id, label, hint, value, onChange, error, rows = 4 }) {
  return (
    <Group error={error}>
      <label className="label" htmlFor={id}>{label}</label>
      {hint ? <p className="hint" id={`${id}-hint`}>{hint}</p> : null}
      <ErrorMessage id={id} message={error} />
      <textarea
        className={`textarea ${error ? "textarea--error" : ""}`}
        id={id}
        name={id}
        rows={rows}
        value={value}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(e) => onChange(e.target.value)}
      />
    </Group>
  );
}

function Select({ id, label, hint, value, onChange, error, options, placeholder }) {
  return (
    <Group error={error}>
      <label className="label" htmlFor={id}>{label}</label>
      {hint ? <p className="hint" id={`${id}-hint`}>{hint}</p> : null}
      <ErrorMessage id={id} message={error} />
      <select
        className={`select ${error ? "select--error" : ""}`}
        id={id}
        name={id}
        value={value}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="">{placeholder || "Select an option"}</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>{text}</option>
        ))}
      </select>
    </Group>
  );
}

// A radio group: the wrapper carries the id, so an error link focuses its first option.
function Radios({ id, legend, hint, value, onChange, error, options, inline = false,
  children }) {
  return (
    <div className={error ? "form-group form-group--error" : "form-group"} id={id}
      tabIndex={-1}>
      <fieldset className="fieldset" aria-describedby={describedBy(id, hint, error)}>
        <legend className="legend legend--s">{legend}</legend>
        {hint ? <p className="hint" id={`${id}-hint`}>{hint}</p> : null}
        <ErrorMessage id={id} message={error} />
        <div className={inline ? "choices choices--inline" : "choices"}>
          {options.map(([v, text]) => (
            <div className="choice" key={v}>
              <input
                type="radio"
                id={`${id}-${v}`}
                name={id}
                value={v}
                checked={value === v}
                onChange={() => onChange(v)}
              />
              <label htmlFor={`${id}-${v}`}>{text}</label>
            </div>
          ))}
        </div>
      </fieldset>
      {children}
    </div>
  );
}

function Conditional({ children }) {
  return <div className="conditional">{children}</div>;
}

// ----- The rules: the server's (services/visits/phone_log.py), with its messages, in page order ------

const LIMIT = (n) => `Use ${n} characters or fewer`;

function tooLong(value, limit) {
  return typeof value === "string" && value.trim().length > limit;
}

// The lengths offered and their message come from the server's list (options), so the
// message always names the range the list offers.
export function checkInErrors(checkIn, { joint, colleagues, minutes, minutesError }) {
  const errors = [];
  const add = (field, message) => errors.push({ field: `check_in.${field}`, message });
  if (checkIn.risk_check_done !== true) {
    add("risk_check_done", "Confirm you have reviewed the warning markers");
  }
  if (tooLong(checkIn.risk_check_notes, 1000)) add("risk_check_notes", LIMIT(1000));
  if (!(checkIn.address || "").trim()) add("address", "Enter the address you are visiting");
  else if (tooLong(checkIn.address, 400)) add("address", LIMIT(400));
  const second = checkIn.accompanied ? checkIn.second_officer_id : null;
  if (joint && !checkIn.accompanied) {
    add("accompanied", "This case needs a joint visit. Another officer must go with you");
  }
  if ((joint || second != null) && !colleagues.includes(second)) {
    add("second_officer_id", "Choose the officer who is going with you");
  }
  if (!colleagues.includes(checkIn.buddy_id)) {
    add("buddy_id", "Choose your buddy: a colleague who will check you are safe");
  } else if (checkIn.buddy_id === second) {
    add("buddy_id", "Your buddy can't be the officer going with you");
  }
  const m = checkIn.expected_minutes;
  const shortest = minutes.length ? Math.min(...minutes) : 0;
  const longest = minutes.length ? Math.max(...minutes) : 0;
  if (!Number.isInteger(m) || m < shortest || m > longest) {
    add("expected_minutes", minutesError || "Choose how long the visit will take");
  }
  return errors;
}

function addYear(isoDate) {
  const [y, mo, d] = isoDate.split("-").map(Number);
  const next = new Date(Date.UTC(y + 1, mo - 1, d));
  if (next.getUTCMonth() !== mo - 1) next.setUTCDate(0); // 29 Feb → 28 Feb
  return next.toISOString().slice(0, 10);
}

function realDate(value) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

// "Child seen" is asked once and decides the outcome (services/visits/visit_checks.py): seen
// is the server's child_seen_outcome; not seen asks which of the other outcomes it was.
export function recordErrors(record, { notSeenOutcomes, relationships, visitDate }) {
  const errors = [];
  const add = (field, message) => errors.push({ field: `record.${field}`, message });
  const yesNo = (v) => v === "yes" || v === "no";
  if (!yesNo(record.child_seen)) add("child_seen", "Say whether the child was seen");
  else if (record.child_seen === "yes" && !yesNo(record.seen_alone)) {
    add("seen_alone", "Say whether the child was seen alone");
  } else if (record.child_seen === "no" && !notSeenOutcomes.includes(record.outcome)) {
    add("outcome", "Choose the outcome of the visit");
  }
  const people = record.people_spoken_to || [];
  if (people.length > 20) add("people_spoken_to", "Enter up to 20 people");
  else {
    people.forEach((p, i) => {
      const at = `people_spoken_to.${i}.`;
      const name = (p.name || "").trim();
      const description = (p.description || "").trim();
      if (!name && !description) {
        add(`${at}name`, "Enter their name, or describe them if they would not give it");
      } else if (tooLong(name, 200)) add(`${at}name`, LIMIT(200));
      if ((p.relationship && !relationships.includes(p.relationship))
          || (name && !p.relationship)) {
        add(`${at}relationship`, "Choose how they are related to the child");
      }
      if (tooLong(description, 400)) add(`${at}description`, LIMIT(400));
    });
  }
  if (record.neighbours_spoken === "yes" && tooLong(record.neighbours_said, 2000)) {
    add("neighbours_said", LIMIT(2000));
  }
  if (!yesNo(record.calling_card_left)) {
    add("calling_card_left", "Say whether you left a calling card");
  }
  if (tooLong(record.notes, 4000)) add("notes", LIMIT(4000));
  if (tooLong(record.opinion, 4000)) add("opinion", LIMIT(4000));
  if (!yesNo(record.safeguarding_raised)) {
    add("safeguarding_raised", "Say whether you raised a safeguarding concern");
  } else if (record.safeguarding_raised === "yes") {
    if (!(record.mash_reference || "").trim()) {
      add("mash_reference", "Enter the MASH or Front Door reference");
    } else if (tooLong(record.mash_reference, 60)) add("mash_reference", LIMIT(60));
  }
  if (!(record.next_action || "").trim()) add("next_action", "Enter the next action");
  else if (tooLong(record.next_action, 400)) add("next_action", LIMIT(400));
  const due = (record.next_action_due || "").trim();
  if (!due) add("next_action_due", "Enter the date the next action is due");
  else if (!realDate(due)) {
    add("next_action_due", "The date the next action is due must be a real date");
  } else if (due < visitDate) {
    add("next_action_due", "The next action can't be due before the visit");
  } else if (due > addYear(visitDate)) {
    add("next_action_due", "The next action must be due within a year of the visit");
  }
  return errors;
}

// What is sent: blank people rows dropped, free text trimmed, answers that don't apply cleared.
function cleanRecord(r, seenOutcome) {
  const text = (v) => (v || "").trim();
  return {
    outcome: r.child_seen === "yes" ? seenOutcome : r.outcome,
    child_seen: r.child_seen,
    seen_alone: r.child_seen === "yes" ? r.seen_alone : "",
    people_spoken_to: (r.people_spoken_to || [])
      .map((p) => ({
        name: text(p.name), relationship: p.relationship || "", description: text(p.description),
      }))
      .filter((p) => p.name || p.description || p.relationship),
    neighbours_spoken: r.neighbours_spoken,
    neighbours_said: r.neighbours_spoken === "yes" ? text(r.neighbours_said) : "",
    calling_card_left: r.calling_card_left,
    notes: text(r.notes),
    opinion: text(r.opinion),
    safeguarding_raised: r.safeguarding_raised,
    mash_reference: r.safeguarding_raised === "yes" ? text(r.mash_reference) : "",
    next_action: text(r.next_action),
    next_action_due: r.next_action_due || "",
  };
}

const EMPTY_PERSON = { name: "", relationship: "", description: "" };
const EMPTY_RECORD = {
  outcome: "", child_seen: "", seen_alone: "", people_spoken_to: [{ ...EMPTY_PERSON }],
  neighbours_spoken: "", neighbours_said: "", calling_card_left: "", notes: "", opinion: "",
  safeguarding_raised: "", mash_reference: "", next_action: "", next_action_due: "",
};

function errorMap(errors) {
  const map = {};
  for (const e of errors) if (e.field && !(e.field in map)) map[e.field] = e.message;
  return map;
}

// ----- The outbox status (shared by both pages) ---------------------------------------------

// The list page reads the outbox through one view (assets/outbox.js, view()): what waits to
// be sent and what is in progress come from one reading, so they can't contradict each other.
function useOutboxView(outbox) {
  const [view, setView] = useState(null);
  const [status, setStatus] = useState({ state: "idle" });
  const reads = useRef(0);
  const refresh = useCallback(async () => {
    if (!outbox) return;
    // Readings can finish out of order: only the latest one is shown.
    const n = ++reads.current;
    const next = await outbox.view();
    if (n !== reads.current) return;
    setView(next);
    setStatus(outbox.status());
  }, [outbox]);
  useEffect(() => {
    if (!outbox) return undefined;
    refresh();
    return outbox.subscribe(() => refresh());
  }, [outbox, refresh]);
  return { view, status, refresh };
}

function waitingLine(item, caseByRef) {
  const c = caseByRef[item.reference];
  const who = c ? `${item.reference}, ${c.child_name}` : item.reference;
  const doc = item.doc;
  if (doc.check_out) return `${who}: visit ended ${formatWhen(doc.check_out.at)}`;
  if (doc.record) return `${who}: visit saved, not yet ended`;
  if (doc.check_in) return `${who}: visit started ${formatWhen(doc.check_in.at)}`;
  return who;
}

// The offline banner (assets/offline_banner.jsx) says when there is no signal; this says
// what is waiting, and why it is not going when there is signal.
function SyncStatus({ waiting, status, lastSync, online, caseByRef }) {
  let detail = null;
  if (online && status.state === "signed_out") {
    detail = "You have been signed out. Sign in again to send your visits.";
  } else if (online && status.state === "sending") {
    detail = "Sending…";
  } else if (online && status.state === "retrying" && waiting.length > 0) {
    detail = status.retryAt
      ? `The server can’t be reached. Trying again at ${formatTime(new Date(status.retryAt).toISOString())}.`
      : "The server can’t be reached. Trying again soon.";
  }
  return (
    <div className={waiting.length ? "sync-status sync-status--waiting" : "sync-status"}
      role="status" aria-live="polite">
      <p className="sync-status__count">Waiting to send ({waiting.length})</p>
      {waiting.length ? (
        <ul className="sync-status__list">
          {waiting.map((i) => <li key={i.client_uuid}>{waitingLine(i, caseByRef)}</li>)}
        </ul>
      ) : null}
      <p className="sync-status__last">
        {lastSync ? `Last sent ${formatWhen(lastSync)}` : "Nothing sent from this phone yet"}
      </p>
      {detail ? <p className="sync-status__detail">{detail}</p> : null}
    </div>
  );
}

// ----- /visits ------------------------------------------------------------------------------

function AlertCard({ alert, onResolved, online }) {
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const id = `alert-${alert.id}-note`;
  const resolve = async (event) => {
    event.preventDefault();
    const text = note.trim();
    if (!text) return setError("Enter what you did to check they are safe");
    if (text.length > 400) return setError(LIMIT(400));
    setBusy(true);
    setError("");
    try {
      const response = await fetch(`${ALERTS_URL}/${alert.id}/resolve`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ note: text }),
      });
      if (response.ok) {
        onResolved();
      } else {
        let message = "The alert could not be resolved. Try again.";
        try {
          const body = await response.json();
          if (body && Array.isArray(body.errors) && body.errors[0]) message = body.errors[0].message;
          else if (body && body.message) message = body.message;
        } catch (_error) {
          // keep the general message
        }
        setError(message);
      }
    } catch (_error) {
      setError("You’re offline. Phone your colleague, then resolve the alert when you have signal.");
    } finally {
      setBusy(false);
    }
  };
  const mine = alert.level === "self";
  return (
    <li className="notification notification--problem visit-alert">
      <h3 className="notification__title">
        {mine ? "Your visit is overdue" : `${alert.level === "lead" ? "Escalated: " : ""}Visit overdue`}
      </h3>
      <div className="notification__body">
        <p className="notification__heading">{alert.message}</p>
        <p className="body-s">
          {alert.reference}
          {alert.address ? `, ${alert.address}` : ""}
          <br />
          {alert.checked_in_at ? `Started ${formatWhen(alert.checked_in_at)}. ` : ""}
          {alert.expected_end_at ? `Expected to end by ${formatWhen(alert.expected_end_at)}.` : ""}
        </p>
        {mine ? (
          <a className="button" href={caseUrl(alert.reference, alert.client_uuid)}>End your visit</a>
        ) : (
          <form onSubmit={resolve} noValidate>
            <Group error={error}>
              <label className="label" htmlFor={id}>What you did to check they are safe</label>
              <p className="hint" id={`${id}-hint`}>
                For example: phoned them at 10:52, they are safe and leaving.
              </p>
              <ErrorMessage id={id} message={error} />
              <textarea
                className={`textarea ${error ? "textarea--error" : ""}`}
                id={id}
                rows={2}
                value={note}
                aria-describedby={describedBy(id, true, error)}
                onChange={(e) => setNote(e.target.value)}
              />
            </Group>
            <button className="button button--secondary" type="submit" disabled={busy || !online}>
              Mark safe
            </button>
          </form>
        )}
      </div>
    </li>
  );
}

function CaseCard({ c, openHref }) {
  const risk = riskClass(c.risk);
  return (
    <li className={`visit-case visit-case--${risk}`}>
      <h3 className="visit-case__ref">{c.reference}</h3>
      <p className="visit-case__child">{c.child_name}</p>
      <p className="visit-case__address">
        {c.address}
        {c.postcode ? ` ${c.postcode}` : ""}
      </p>
      <p className="visit-case__tags">
        <strong className={`tag tag--risk-${risk}`}>
          {c.risk ? `${c.risk_label} risk` : "Risk not rated"}
        </strong>
        {c.joint_visit_required ? (
          <strong className="tag tag--red">Joint visit required</strong>
        ) : null}
      </p>
      {c.warning_markers ? (
        <div className="warning-box visit-case__markers">
          <p className="visit-case__markers-title">Warning markers</p>
          <p className="pre-line">{c.warning_markers}</p>
        </div>
      ) : null}
      <p className="visit-case__due">
        {c.next_visit_due
          ? `Next visit due ${formatDay(c.next_visit_due)}${c.next_visit_reason ? ` (${c.next_visit_reason})` : ""}`
          : "No visit due"}
        {c.last_visit_on ? (
          <span className="visit-case__last">Last visit {formatDay(c.last_visit_on)}</span>
        ) : null}
      </p>
      {openHref ? (
        <a className="button visit-case__start" href={openHref}
          aria-label={`Continue visit to ${c.reference}`}>
          Continue visit
        </a>
      ) : (
        <a className="button visit-case__start" href={caseUrl(c.reference)}
          aria-label={`Start a visit for ${c.reference}`}>
          Start a visit
        </a>
      )}
    </li>
  );
}

export function VisitList() {
  const outbox = useOutbox();
  const online = useOnline();
  const { view, status, refresh } = useOutboxView(outbox);
  const [fresh, setFresh] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [alerts, setAlerts] = useState(null);

  // Ask the server for the list when there is signal; the outbox keeps it and tells us.
  const load = useCallback(async () => {
    if (!outbox) return;
    if (navigator.onLine) {
      const answer = await outbox.refreshMine();
      setFresh(answer.ok);
      if (answer.ok) setAlerts(null);
    } else {
      setFresh(false);
    }
    setLoaded(true);
    refresh();
  }, [outbox, refresh]);

  useEffect(() => {
    load();
  }, [load]);

  useEffect(() => {
    if (!outbox) return undefined;
    const back = () => load();
    const gone = () => setFresh(false);
    window.addEventListener("online", back);
    window.addEventListener("offline", gone);
    return () => {
      window.removeEventListener("online", back);
      window.removeEventListener("offline", gone);
    };
  }, [outbox, load]);

  // A visit ended here has just been sent: ask for the list again, so the server's own
  // open visits and next-visit dates catch up (view() already leaves the visit out).
  const sentCount = useRef(null);
  const waitingNow = view ? view.waiting.length : null;
  useEffect(() => {
    if (waitingNow == null) return;
    if (sentCount.current != null && waitingNow < sentCount.current && navigator.onLine) load();
    sentCount.current = waitingNow;
  }, [waitingNow, load]);

  const pollAlerts = useCallback(async () => {
    if (!navigator.onLine || document.visibilityState !== "visible") return;
    try {
      const response = await fetch(ALERTS_URL, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const body = await response.json();
        if (body && Array.isArray(body.alerts)) setAlerts(body.alerts);
      }
    } catch (_error) {
      // Offline: keep what we have; the next poll tries again.
    }
  }, []);

  useEffect(() => {
    if (!fresh) return undefined;
    const timer = setInterval(pollAlerts, ALERT_POLL_MS);
    const visible = () => {
      if (document.visibilityState === "visible") pollAlerts();
    };
    document.addEventListener("visibilitychange", visible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", visible);
    };
  }, [fresh, pollAlerts]);

  const mine = view ? view.mine : null; // {body, saved_at}
  const body = mine ? mine.body : null;
  const lastSync = view ? view.lastSync : null;
  const waiting = view ? view.waiting : [];
  const attention = view ? view.attention : [];
  const open = view ? view.open : [];
  const cases = (body && body.cases) || [];
  const caseByRef = Object.fromEntries(cases.map((c) => [c.reference, c]));
  const openByRef = {};
  for (const v of open) openByRef[v.reference] = caseUrl(v.reference, v.client_uuid);
  const shownAlerts = alerts || (body && Array.isArray(body.alerts) ? body.alerts : []);

  if ((!loaded || !view) && !body) {
    return <p className="visits-loading">Loading your visits…</p>;
  }
  if (!body) {
    return (
      <div className="visits">
        <h1>Visits</h1>
        <SyncStatus waiting={waiting} status={status} lastSync={lastSync} online={online}
          caseByRef={{}} />
        <p>
          {online
            ? "Your visit list could not be loaded. Check you are signed in, then try again."
            : "Your visit list has not been saved on this phone yet. Open this page once while you have signal, and it will then work offline."}
        </p>
      </div>
    );
  }

  return (
    <div className="visits">
      <h1>Visits</h1>
      <SyncStatus waiting={waiting} status={status} lastSync={lastSync} online={online}
        caseByRef={caseByRef} />
      {!fresh ? (
        <p className="inset-text visits-saved-at">
          {`Showing the list saved at ${formatWhen(mine.saved_at)}.`}
          {online ? "" : " It will update when you have signal."}
        </p>
      ) : null}

      {shownAlerts.length ? (
        <section aria-labelledby="alerts-title">
          <h2 id="alerts-title">Lone-working alerts</h2>
          <ul className="plain-list">
            {shownAlerts.map((a) => (
              <AlertCard key={`${a.level}-${a.client_uuid}-${a.id}`} alert={a} online={online}
                onResolved={() => pollAlerts()} />
            ))}
          </ul>
        </section>
      ) : null}

      {attention.length ? (
        <section aria-labelledby="attention-title">
          <h2 id="attention-title">Visits that need your attention</h2>
          <ul className="plain-list">
            {attention.map((i) => (
              <li className="notification notification--problem" key={i.client_uuid}>
                <h3 className="notification__title">{i.reference}: not sent</h3>
                <div className="notification__body">
                  <p>The server could not accept this visit:</p>
                  <ul className="list list--bullet">
                    {i.errors.map((e, n) => (
                      <li key={n}>{e.message}</li>
                    ))}
                  </ul>
                  <a className="button" href={caseUrl(i.reference, i.client_uuid)}
                    aria-label={`Fix this visit to ${i.reference}`}>
                    Fix this visit
                  </a>
                </div>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      {open.length ? (
        <section aria-labelledby="open-title">
          <h2 id="open-title">Visits in progress</h2>
          <ul className="plain-list">
            {open.map((v) => (
              <OpenVisit key={v.client_uuid} reference={v.reference}
                child={caseByRef[v.reference] ? caseByRef[v.reference].child_name : ""}
                checkedInAt={v.checked_in_at} expectedEndAt={v.expected_end_at}
                overdue={v.overdue} href={caseUrl(v.reference, v.client_uuid)} />
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="cases-title">
        <h2 id="cases-title">Your cases ({cases.length})</h2>
        {cases.length ? (
          <ul className="plain-list">
            {cases.map((c) => (
              <CaseCard key={c.reference} c={c} openHref={openByRef[c.reference]} />
            ))}
          </ul>
        ) : (
          <p>No open cases are allocated to you.</p>
        )}
      </section>
    </div>
  );
}

function OpenVisit({ reference, child, checkedInAt, expectedEndAt, overdue, href }) {
  return (
    <li className="visit-open">
      <h3 className="visit-case__ref">{reference}</h3>
      {child ? <p className="visit-case__child">{child}</p> : null}
      <p>
        {`Started ${formatWhen(checkedInAt)}.`}
        {expectedEndAt ? ` Expected to end by ${formatWhen(expectedEndAt)}.` : ""}
        {overdue ? <strong className="tag tag--red visit-open__overdue">Overdue</strong> : null}
      </p>
      <a className="button" href={href} aria-label={`Continue visit to ${reference}`}>
        Continue visit
      </a>
    </li>
  );
}

// ----- /visits/new?case=REF -----------------------------------------------------------------

function readQuery() {
  const query = new URLSearchParams(window.location.search);
  return { reference: query.get("case") || "", visit: query.get("visit") || "" };
}

function CaseSummary({ c }) {
  const risk = riskClass(c.risk);
  return (
    <div className={`case-header case-header--${risk} visit-form__case`}>
      <p className="caption">{c.reference}</p>
      <h1>Home visit: {c.child_name}</h1>
      <p className="visit-case__address">
        {c.address}
        {c.postcode ? ` ${c.postcode}` : ""}
      </p>
      <p className="visit-case__tags">
        <strong className={`tag tag--risk-${risk}`}>
          {c.risk ? `${c.risk_label} risk` : "Risk not rated"}
        </strong>
        {c.joint_visit_required ? (
          <strong className="tag tag--red">Joint visit required</strong>
        ) : null}
      </p>
    </div>
  );
}

// When the visit started and is expected to end: from its check-in, or (a visit started on
// another phone) from the server's list of visits still open.
function startedOf(item) {
  if (!item) return null;
  const checkIn = item.doc.check_in;
  if (checkIn) {
    const end = new Date(new Date(checkIn.at).getTime() + checkIn.expected_minutes * 60000);
    return { at: checkIn.at, end: end.toISOString(), buddyId: checkIn.buddy_id };
  }
  const started = item.draft && item.draft.started;
  return started ? { at: started.at, end: started.expected_end_at, buddyId: null } : null;
}

function phaseOf(item) {
  if (!item) return "before";
  const errors = item.errors || [];
  if (errors.some((e) => (e.field || "").startsWith("check_in."))) return "before";
  if (errors.some((e) => (e.field || "").startsWith("record."))) return "record";
  const doc = item.doc;
  if (!startedOf(item)) return "before";
  if (!doc.record && !(item.answer && item.answer.recorded)) return "record";
  if (!doc.check_out) return "end";
  if (errors.some((e) => (e.field || "").startsWith("check_out."))) return "end";
  return "done";
}

function BeforeYouGo({ c, options, userId, initial, serverErrors, onStart }) {
  const colleagues = (options.colleagues || []).filter((p) => p.id !== userId);
  const people = colleagues.map((p) => [String(p.id), p.name]);
  const minutes = options.expected_minutes || [];
  const joint = !!c.joint_visit_required;
  const [checked, setChecked] = useState(!!(initial && initial.risk_check_done));
  const [notes, setNotes] = useState((initial && initial.risk_check_notes) || "");
  const [address, setAddress] = useState(
    (initial && initial.address) || [c.address, c.postcode].filter(Boolean).join(" "),
  );
  const [accompanied, setAccompanied] = useState(
    initial ? (initial.accompanied ? "yes" : "no") : c.accompanied_by_default || joint ? "yes" : "no",
  );
  const [second, setSecond] = useState(
    initial && initial.second_officer_id != null ? String(initial.second_officer_id) : "",
  );
  const [buddy, setBuddy] = useState(
    initial && initial.buddy_id != null ? String(initial.buddy_id) : "",
  );
  const [expected, setExpected] = useState(
    initial && initial.expected_minutes ? String(initial.expected_minutes) : "",
  );
  const [errors, setErrors] = useState(serverErrors || []);
  const [attempt, setAttempt] = useState(serverErrors && serverErrors.length ? 1 : 0);
  const withOfficer = joint || accompanied === "yes";
  const e = errorMap(errors);

  const start = (event) => {
    event.preventDefault();
    const checkIn = {
      at: (initial && initial.at) || new Date().toISOString(),
      address: address.trim(),
      risk_check_done: checked,
      risk_check_notes: notes.trim(),
      accompanied: withOfficer,
      second_officer_id: withOfficer && second ? Number(second) : null,
      buddy_id: buddy ? Number(buddy) : null,
      expected_minutes: expected ? Number(expected) : null,
    };
    // Never a disabled button: pressed with something missing, it says what and where.
    const found = checkInErrors(checkIn, {
      joint,
      colleagues: colleagues.map((p) => p.id),
      minutes,
      minutesError: options.expected_minutes_error,
    });
    setErrors(found);
    setAttempt((n) => n + 1);
    if (!found.length) onStart(checkIn);
  };

  return (
    <form className="visit-step" onSubmit={start} noValidate aria-labelledby="step-before">
      <ErrorSummary errors={errors} focusKey={attempt} />
      <h2 id="step-before">Before you go</h2>
      {c.warning_markers ? (
        <div className="warning-box">
          <h3 className="visit-markers__title">Warning markers</h3>
          <p className="pre-line">{c.warning_markers}</p>
        </div>
      ) : (
        <p className="inset-text">No warning markers are recorded on this case. Check social care,
          police and school records before you go.</p>
      )}
      {joint ? (
        <div className="notification notification--warning">
          <h3 className="notification__title">Joint visit required</h3>
          <div className="notification__body">
            <p>This case needs a joint visit. You can’t start it without a second officer.</p>
          </div>
        </div>
      ) : null}
      <div className={e["check_in.risk_check_done"] ? "form-group form-group--error" : "form-group"}>
        <ErrorMessage id="check_in-risk_check_done" message={e["check_in.risk_check_done"]} />
        <div className="choice">
          <input
            type="checkbox"
            id="check_in-risk_check_done"
            checked={checked}
            aria-describedby={describedBy("check_in-risk_check_done", true,
              e["check_in.risk_check_done"])}
            onChange={(ev) => setChecked(ev.target.checked)}
          />
          <div>
            <label htmlFor="check_in-risk_check_done">I have reviewed the warning markers</label>
            <p className="hint" id="check_in-risk_check_done-hint">
              Including social care, police and school information about risks at this address.
            </p>
          </div>
        </div>
      </div>
      <TextArea id="check_in-risk_check_notes" label="Risk check notes (optional)" rows={3}
        hint="For example, what you will do about a dog or a hostile adult." value={notes}
        onChange={setNotes} error={e["check_in.risk_check_notes"]} />
      <TextField id="check_in-address" label="Address you are visiting" value={address}
        onChange={setAddress} error={e["check_in.address"]} autoComplete="off" />
      {joint ? null : (
        <Radios id="check_in-accompanied" legend="Is another officer going with you?"
          hint={c.accompanied_by_default
            ? "Recommended: a first visit to a Red case should not be made alone."
            : ""}
          value={accompanied} onChange={setAccompanied} options={YES_NO} inline
          error={e["check_in.accompanied"]} />
      )}
      {withOfficer ? (
        <Select id="check_in-second_officer_id"
          label={joint ? "Second officer (required)" : "Second officer"}
          hint={joint ? "This case needs a joint visit: choose the officer going with you." : ""}
          value={second} onChange={setSecond} options={people}
          error={e["check_in.second_officer_id"]} placeholder="Choose an officer" />
      ) : null}
      <Select id="check_in-buddy_id" label="Your buddy"
        hint="The colleague who checks on you if you don’t end the visit in time."
        value={buddy} onChange={setBuddy} options={people} error={e["check_in.buddy_id"]}
        placeholder="Choose your buddy" />
      <Select id="check_in-expected_minutes" label="How long will the visit take?"
        hint="If you haven’t ended the visit soon after this, your buddy is alerted."
        value={expected} onChange={setExpected}
        options={minutes.map((m) => [String(m), minutesLabel(m)])}
        error={e["check_in.expected_minutes"]} placeholder="Choose a length" />
      <button className="button" type="submit">Start visit</button>
    </form>
  );
}

function PersonRow({ index, person, relationships, errors, onChange, onRemove, canRemove }) {
  const base = `record-people_spoken_to-${index}`;
  const path = `record.people_spoken_to.${index}`;
  const set = (key) => (value) => onChange({ ...person, [key]: value });
  return (
    <div className="person" role="group" aria-label={`Person ${index + 1}`}>
      <p className="person__title">Person {index + 1}</p>
      <TextField id={`${base}-name`} label="Name" value={person.name} onChange={set("name")}
        error={errors[`${path}.name`]} />
      <Select id={`${base}-relationship`} label="Relationship to the child"
        value={person.relationship} onChange={set("relationship")}
        options={relationships.map((r) => [r, r])} error={errors[`${path}.relationship`]} />
      <TextField id={`${base}-description`} label="Description, if they won’t give a name"
        hint="For example: woman at No. 14, about 60" value={person.description}
        onChange={set("description")} error={errors[`${path}.description`]} />
      {canRemove ? (
        <button type="button" className="button button--secondary person__remove"
          onClick={onRemove}>
          Remove<span className="visually-hidden"> person {index + 1}</span>
        </button>
      ) : null}
    </div>
  );
}

function VisitRecord({ options, initial, visitDate, serverErrors, onChangeDraft, onSave }) {
  const [r, setR] = useState(() => ({ ...EMPTY_RECORD, ...(initial || {}) }));
  const [errors, setErrors] = useState(serverErrors || []);
  const [attempt, setAttempt] = useState(serverErrors && serverErrors.length ? 1 : 0);
  const addRef = useRef(null);
  const seenOutcome = options.child_seen_outcome || "child_seen_safe";
  const notSeen = (options.outcomes || [])
    .filter((o) => o.value !== seenOutcome)
    .map((o) => [o.value, o.label]);
  const relationships = options.relationships || [];
  const e = errorMap(errors);
  const set = (key) => (value) => setR((old) => ({ ...old, [key]: value }));
  const people = r.people_spoken_to.length ? r.people_spoken_to : [{ ...EMPTY_PERSON }];

  useEffect(() => {
    onChangeDraft(r);
  }, [r]); // eslint-disable-line react-hooks/exhaustive-deps

  const setPerson = (i) => (p) =>
    setR((old) => ({
      ...old,
      people_spoken_to: people.map((q, j) => (j === i ? p : q)),
    }));
  const removePerson = (i) => () =>
    setR((old) => ({ ...old, people_spoken_to: people.filter((_, j) => j !== i) }));

  const save = (event) => {
    event.preventDefault();
    // Blank people rows go first, so error paths (people_spoken_to.<i>) match the rows shown.
    const record = cleanRecord(r, seenOutcome);
    const kept = r.people_spoken_to.filter(
      (p) => (p.name || "").trim() || (p.description || "").trim() || p.relationship);
    setR((old) => ({ ...old, people_spoken_to: kept.length ? kept : [{ ...EMPTY_PERSON }] }));
    const found = recordErrors(
      { ...record, people_spoken_to: kept },
      { notSeenOutcomes: notSeen.map(([v]) => v), relationships, visitDate },
    );
    setErrors(found);
    setAttempt((n) => n + 1);
    if (!found.length) onSave({ ...record, saved_at: new Date().toISOString() });
  };

  const endTooSoon = () => {
    setErrors([{ field: "record.save", message: "Save the visit record before you end the visit" }]);
    setAttempt((n) => n + 1);
  };

  return (
    <form className="visit-step" onSubmit={save} noValidate aria-labelledby="step-record">
      <ErrorSummary errors={errors} focusKey={attempt} />
      <h2 id="step-record">The visit</h2>
      <Radios id="record-child_seen" legend="Child seen" value={r.child_seen}
        onChange={set("child_seen")} options={YES_NO} inline error={e["record.child_seen"]}>
        {r.child_seen === "yes" ? (
          <Conditional>
            <Radios id="record-seen_alone" legend="Seen alone" value={r.seen_alone}
              onChange={set("seen_alone")} options={YES_NO} inline
              error={e["record.seen_alone"]} />
          </Conditional>
        ) : null}
        {r.child_seen === "no" ? (
          <Conditional>
            <Radios id="record-outcome" legend="Outcome" hint="What happened at the visit?"
              value={r.outcome === seenOutcome ? "" : r.outcome} onChange={set("outcome")}
              options={notSeen} error={e["record.outcome"]} />
          </Conditional>
        ) : null}
      </Radios>
      <div className={e["record.people_spoken_to"] ? "form-group form-group--error" : "form-group"}
        id="record-people_spoken_to" tabIndex={-1}>
        <fieldset className="fieldset">
          <legend className="legend legend--s">People spoken to</legend>
          <p className="hint">
            Everyone you spoke to, with their relationship to the child. If someone won’t give a
            name, describe them. Leave blank if you spoke to no one.
          </p>
          <ErrorMessage id="record-people_spoken_to" message={e["record.people_spoken_to"]} />
          {people.map((p, i) => (
            <PersonRow key={i} index={i} person={p} relationships={relationships} errors={e}
              onChange={setPerson(i)} onRemove={removePerson(i)} canRemove={people.length > 1} />
          ))}
          {people.length < 20 ? (
            <button type="button" className="button button--secondary" ref={addRef}
              onClick={() => {
                setR((old) => ({ ...old, people_spoken_to: [...people, { ...EMPTY_PERSON }] }));
                window.setTimeout(() => {
                  const el = document.getElementById(`record-people_spoken_to-${people.length}-name`);
                  if (el) el.focus();
                }, 0);
              }}>
              Add another person
            </button>
          ) : null}
        </fieldset>
      </div>
      <Radios id="record-neighbours_spoken" legend="Neighbours spoken to"
        value={r.neighbours_spoken} onChange={set("neighbours_spoken")} options={YES_NO} inline
        error={e["record.neighbours_spoken"]}>
        {r.neighbours_spoken === "yes" ? (
          <Conditional>
            <TextArea id="record-neighbours_said" label="What neighbours said" rows={3}
              value={r.neighbours_said} onChange={set("neighbours_said")}
              error={e["record.neighbours_said"]} />
          </Conditional>
        ) : null}
      </Radios>
      <Radios id="record-calling_card_left" legend="Calling card left"
        value={r.calling_card_left} onChange={set("calling_card_left")} options={YES_NO} inline
        error={e["record.calling_card_left"]} />
      <TextArea id="record-notes" label="Notes"
        hint="Facts only — what you saw and heard. For example: post piled up, curtains closed, no car."
        value={r.notes} onChange={set("notes")} error={e["record.notes"]} rows={5} />
      <TextArea id="record-opinion" label="Your opinion"
        hint="Kept separate from the facts. For example: the family seems to have moved out."
        value={r.opinion} onChange={set("opinion")} error={e["record.opinion"]} rows={3} />
      <Radios id="record-safeguarding_raised" legend="Safeguarding concern raised"
        value={r.safeguarding_raised} onChange={set("safeguarding_raised")} options={YES_NO}
        inline error={e["record.safeguarding_raised"]}>
        {r.safeguarding_raised === "yes" ? (
          <Conditional>
            <TextField id="record-mash_reference" label="MASH reference" width="input--w20"
              value={r.mash_reference} onChange={set("mash_reference")}
              error={e["record.mash_reference"]} />
          </Conditional>
        ) : null}
      </Radios>
      <TextField id="record-next_action" label="Next action" value={r.next_action}
        hint="For example: notify Bradford’s CME team" onChange={set("next_action")}
        error={e["record.next_action"]} />
      <TextField id="record-next_action_due" label="Next action due" type="date"
        width="input--w10" value={r.next_action_due} onChange={set("next_action_due")}
        error={e["record.next_action_due"]} />
      <button className="button" type="submit" id="record-save">Save visit</button>
      <p className="hint" id="end-visit-hint">Save the visit before you end it.</p>
      {/* Never a disabled button (GOV.UK): pressed too soon, it says what to do first. */}
      <button className="button button--secondary" type="button" onClick={endTooSoon}
        aria-describedby="end-visit-hint">
        End visit
      </button>
    </form>
  );
}

function syncLine(item, online, status) {
  if (!item) return { sent: true, text: "Sent" };
  if (item.revision === (item.sent_revision || 0)) return { sent: true, text: "Sent" };
  if (item.errors && item.errors.length) return { sent: false, text: "Not sent: it needs your attention" };
  if (!online) {
    return { sent: false, text: "Waiting to send — it will be sent when you have signal" };
  }
  if (status.state === "signed_out") {
    return { sent: false, text: "Waiting to send — sign in again to send it" };
  }
  return { sent: false, text: "Waiting to send — it will be sent when you have signal" };
}

export function VisitForm() {
  const outbox = useOutbox();
  const online = useOnline();
  const [query, setQuery] = useState(null);
  const [mine, setMine] = useState(undefined); // undefined: loading; null: none cached
  const [item, setItem] = useState(null);
  const [itemLoaded, setItemLoaded] = useState(false);
  const [gone, setGone] = useState(false); // the item was sent and has left the outbox
  const [status, setStatus] = useState({ state: "idle" });
  const [endErrors, setEndErrors] = useState([]);
  const [endAttempt, setEndAttempt] = useState(0);
  const draftTimer = useRef(null);
  const uuidRef = useRef(null);

  useEffect(() => {
    setQuery(readQuery());
  }, []);

  // The case list (cache first, then the server when there is signal).
  useEffect(() => {
    if (!outbox) return;
    (async () => {
      const cached = await outbox.loadMine();
      setMine(cached ? cached.body : null);
      if (navigator.onLine) {
        const answer = await outbox.refreshMine();
        if (answer.ok) setMine(answer.body);
      }
    })();
  }, [outbox]);

  const userId = mine && mine.user ? mine.user.id : null;

  // The visit: the one named in the URL, else this officer's visit in progress on this case.
  useEffect(() => {
    if (!outbox || !query || mine === undefined) return;
    (async () => {
      let found = null;
      if (query.visit) found = await outbox.get(query.visit);
      const open = ((mine && mine.open_visits) || []).find(
        (v) => v.client_uuid === query.visit && v.reference === query.reference);
      if (!found && open) {
        // Started on another phone (or this one's outbox was cleared): carry on from the
        // server's copy. The server holds the check-in, so only later phases are sent.
        const listed = ((mine && mine.cases) || []).find((x) => x.reference === open.reference);
        const doc = {
          client_uuid: open.client_uuid,
          case_reference: open.reference,
          seen_case: listed ? { stage: listed.stage, officer_id: listed.officer_id } : {},
          created_offline: false,
          check_in: null,
          record: null,
          check_out: null,
        };
        await outbox.put(doc, userId);
        await outbox.saveDraft(open.client_uuid, {
          case: listed || null,
          started: { at: open.checked_in_at, expected_end_at: open.expected_end_at },
        });
        found = await outbox.get(open.client_uuid);
      }
      if (!found && !query.visit) {
        const all = await outbox.list();
        found = all.find((i) => i.reference === query.reference
          && (userId == null || i.user_id === userId) && outbox.inProgress(i)) || null;
      }
      if (found) uuidRef.current = found.client_uuid;
      // A visit named in the URL that has left the outbox was sent in full.
      if (query.visit && !found) setGone(true);
      setItem(found);
      setItemLoaded(true);
      setStatus(outbox.status());
    })();
  }, [outbox, query, mine === undefined]); // eslint-disable-line react-hooks/exhaustive-deps

  // Follow the outbox: sending, sent, refused.
  useEffect(() => {
    if (!outbox) return undefined;
    return outbox.subscribe(async (snap) => {
      setStatus(snap);
      if (!uuidRef.current) return;
      const latest = await outbox.get(uuidRef.current);
      if (latest) setItem(latest);
      else setGone(true);
    });
  }, [outbox]);

  const cases = (mine && mine.cases) || [];
  const listed = query ? cases.find((c) => c.reference === query.reference) : null;
  const snapshotCase = item && item.draft && item.draft.case;
  const c = listed || snapshotCase || null;
  const options = (mine && mine.options) || {};

  const store = useCallback(async (doc, extra) => {
    const saved = await outbox.put(doc, userId);
    uuidRef.current = saved.client_uuid;
    if (extra) await outbox.saveDraft(saved.client_uuid, { ...(saved.draft || {}), ...extra });
    const latest = await outbox.get(saved.client_uuid);
    setGone(!latest);
    setItem(latest || saved);
    return saved;
  }, [outbox, userId]);

  const startVisit = async (checkIn) => {
    const doc = item
      ? { ...item.doc, check_in: checkIn }
      : {
          client_uuid: outbox.newUuid(),
          case_reference: c.reference,
          seen_case: { stage: c.stage, officer_id: c.officer_id },
          created_offline: !navigator.onLine,
          check_in: checkIn,
          record: null,
          check_out: null,
        };
    await store(doc, item ? null : { case: c });
    const url = new URL(window.location.href);
    url.searchParams.set("visit", doc.client_uuid);
    window.history.replaceState(window.history.state, "", url.toString());
    window.setTimeout(() => {
      const heading = document.getElementById("visit-progress");
      if (heading) heading.focus();
    }, 50);
  };

  const saveRecord = async (record) => {
    window.clearTimeout(draftTimer.current);
    await store({ ...item.doc, record }, null);
    await outbox.saveDraft(item.client_uuid, { ...(item.draft || {}), record: null });
    window.setTimeout(() => {
      const heading = document.getElementById("visit-saved");
      if (heading) heading.focus();
    }, 50);
  };

  const endVisit = async () => {
    const checkedIn = new Date(startedOf(item).at).getTime();
    const at = new Date(Math.max(Date.now(), checkedIn)).toISOString();
    await store({ ...item.doc, check_out: { at } }, null);
    setEndErrors([]);
    setEndAttempt((n) => n + 1);
    window.setTimeout(() => {
      const panel = document.getElementById("visit-done");
      if (panel) panel.focus();
    }, 50);
  };

  const keepDraft = useCallback((record) => {
    if (!item) return;
    window.clearTimeout(draftTimer.current);
    draftTimer.current = window.setTimeout(() => {
      outbox.saveDraft(item.client_uuid, { ...(item.draft || {}), record });
    }, DRAFT_SAVE_MS);
  }, [outbox, item]);

  if (!query || mine === undefined || !itemLoaded) {
    return <p className="visits-loading">Loading the visit…</p>;
  }
  if (!query.reference) {
    return (
      <div>
        <h1>Start a visit</h1>
        <p>Choose the case you are visiting from <a href={VISITS_URL}>your visits</a>.</p>
      </div>
    );
  }
  if (!c) {
    return (
      <div>
        <h1>Visit to {query.reference}</h1>
        <p>
          {online
            ? "This case is not in your visit list. It may be closed or allocated to someone else."
            : "This case has not been saved on this phone. Open Visits while you have signal so your cases are saved for offline use."}
        </p>
        <p><a href={VISITS_URL}>Back to your visits</a></p>
      </div>
    );
  }

  const phase = gone ? "done" : phaseOf(item);
  const itemErrors = (item && item.errors) || [];
  const started = startedOf(item);
  const visitDate = ukDate(started ? new Date(started.at) : new Date());
  const sync = syncLine(gone ? null : item, online, status);

  if (phase === "done") {
    const answer = item ? outbox.lastAnswer(item.client_uuid) : null;
    const flagged = (item && item.answer && item.answer.flagged) || (answer && answer.flagged);
    return (
      <div>
        <div className="panel visit-done" id="visit-done" tabIndex={-1}>
          <h1>Visit saved</h1>
          <div className="panel__body">
            <p className="visit-done__sync" role="status" aria-live="polite">{sync.text}</p>
          </div>
        </div>
        {flagged ? (
          <p className="inset-text">
            The case changed while you were out, so a team lead will review this visit.
          </p>
        ) : null}
        {item && itemErrors.length ? (
          <ErrorSummary errors={itemErrors} focusKey={itemErrors.length} />
        ) : null}
        <p>{`Your visit to ${c.child_name} (${c.reference}) has ended.`}</p>
        {sync.sent ? null : (
          <div className="warning-box">
            <p>
              <strong>Your buddy can’t see that you have ended the visit until it is sent.</strong>
              {" "}If you will be without signal for a while, phone your buddy to say you are safe.
            </p>
          </div>
        )}
        <a className="button" href={VISITS_URL}>Back to your visits</a>
      </div>
    );
  }

  const checkIn = item && item.doc.check_in;
  const endFromServer = itemErrors.filter((e) => (e.field || "").startsWith("check_out."));
  const otherServer = itemErrors.filter((e) => !(e.field || "").includes("."));
  return (
    <div className="visit-form">
      <CaseSummary c={c} />
      {otherServer.length ? <ErrorSummary errors={otherServer} focusKey={otherServer.length} /> : null}
      {phase === "before" ? (
        <BeforeYouGo c={c} options={options} userId={userId} initial={checkIn || null}
          serverErrors={itemErrors.filter((e) => (e.field || "").startsWith("check_in."))}
          onStart={startVisit} />
      ) : (
        <div className="visit-progress">
          <h2 id="visit-progress" tabIndex={-1}>Visit started at {formatTime(started.at)}</h2>
          <p>
            {started.end ? `Expected to end by ${formatTime(started.end)}. ` : ""}
            {(() => {
              const buddy = (options.colleagues || []).find((p) => p.id === started.buddyId);
              return buddy ? `Your buddy is ${buddy.name}.` : "";
            })()}
          </p>
          <p className={sync.sent ? "visit-sync visit-sync--sent" : "visit-sync"}
            role="status" aria-live="polite">
            {sync.sent ? "Sent to the office" : sync.text}
          </p>
        </div>
      )}
      {phase === "record" ? (
        <VisitRecord options={options} visitDate={visitDate}
          initial={(item.doc.record) || (item.draft && item.draft.record) || null}
          serverErrors={itemErrors.filter((e) => (e.field || "").startsWith("record."))}
          onChangeDraft={keepDraft} onSave={saveRecord} />
      ) : null}
      {phase === "end" ? (
        <div className="visit-step">
          <ErrorSummary errors={endErrors.length ? endErrors : endFromServer}
            focusKey={endAttempt} />
          <h2 id="visit-saved" tabIndex={-1}>Visit record saved</h2>
          <p>
            {item.doc.record ? `Saved at ${formatTime(item.doc.record.saved_at)}. ` : ""}
            End the visit when you have left the property, so your buddy knows you are safe.
          </p>
          <button className="button" type="button" id="check_out-at" onClick={endVisit}>
            End visit
          </button>
        </div>
      ) : null}
    </div>
  );
}

// ----- /login -------------------------------------------------------------------------------

export function OutboxLoginNotice() {
  const outbox = useOutbox();
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!outbox) return undefined;
    const update = () => outbox.count().then(setN);
    update();
    return outbox.subscribe(update);
  }, [outbox]);
  if (!n) return null;
  return (
    <div className="notification notification--warning" role="region"
      aria-labelledby="outbox-notice-title">
      <h2 className="notification__title" id="outbox-notice-title">Visits not sent</h2>
      <div className="notification__body">
        <p>
          {n === 1
            ? "1 visit is waiting to be sent from this phone. Sign in to send it."
            : `${n} visits are waiting to be sent from this phone. Sign in to send them.`}
        </p>
      </div>
    </div>
  );
}

// The visit outbox (docs/visits-api.md): visits recorded on this phone wait here, in
// IndexedDB, until the server has confirmed them. Loaded on every page as a classic script and
// exposed as window.cmeOutbox, so the visit pages, the login page and the header's Sign out
// all see one outbox.
//
// IndexedDB "cme-visits":
//   outbox  key client_uuid: {client_uuid, user_id, reference, doc, revision, sent_revision,
//           attempts, last_error, errors, draft, answer, created_at, updated_at}
//           `doc` is the whole POST /api/v1/visits body. `revision` goes up on every put;
//           `sent_revision` is the revision the server last confirmed. An item leaves the outbox
//           only when the server confirms every phase it was sent, the visit is ended, and
//           nothing changed meanwhile. A visit still in progress stays (already sent), so a
//           reload can carry on with it.
//   cache   key "mine": the last GET /api/v1/visits/mine body and when it was saved;
//           key "last_sync": when the server last confirmed a visit;
//           key "ended": {client_uuid: when the server confirmed its end} for visits ended on
//           this phone that have left the outbox, written in the same transaction as the
//           removal. A list of open visits fetched before the end reached the server still
//           names them; they are left out of it until a list fetched later no longer does.
//
// The visit pages read the outbox through view(): the items, the server's list and the ended
// visits in one transaction, so "Waiting to send" and "Visits in progress" come from one
// reading of one store and never drift apart (an ended visit never shows as in progress).
//
// Replays on page load, on the `online` event and after each put; backs off 2 s doubling to
// 5 minutes while the server can't be reached. Only the user the server says is signed in
// has their items sent (a shared phone never sends one officer's visit as another's).
// Nothing personal is ever written to the console.
(() => {
  if (window.cmeOutbox) return;

  const DB_NAME = "cme-visits";
  const API = "/api/v1/visits";
  const MINE = `${API}/mine`;
  const FIRST_BACKOFF_MS = 2000;
  const MAX_BACKOFF_MS = 5 * 60 * 1000;
  const SIGN_OUT_SEND_LIMIT_MS = 10000;

  let dbPromise = null;
  let verifiedUser = null; // {id, name, role}: confirmed by the server during this page's life
  let state = navigator.onLine ? "idle" : "offline";
  let backoffMs = 0;
  let retryTimer = null;
  let retryAt = null;
  let replaying = null;
  let replayAgain = false;
  let mineInFlight = null;
  const answers = new Map(); // client_uuid -> last server answer (kept after the item leaves)
  const listeners = new Set();

  // ----- IndexedDB ------------------------------------------------------------------------

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains("outbox")) {
            db.createObjectStore("outbox", { keyPath: "client_uuid" });
          }
          if (!db.objectStoreNames.contains("cache")) {
            db.createObjectStore("cache", { keyPath: "key" });
          }
        };
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => {
            db.close();
            dbPromise = null;
          };
          resolve(db);
        };
        request.onerror = () => {
          dbPromise = null;
          reject(request.error);
        };
      });
    }
    return dbPromise;
  }

  // One transaction; `body(store, setResult)` must only use request callbacks (no awaits), so
  // a read-modify-write happens atomically.
  async function run(storeName, mode, body) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      let result;
      body(tx.objectStore(storeName), (value) => {
        result = value;
      });
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
  }

  // One transaction over several stores: `body(tx, setResult)`, same rules as run().
  async function runAll(storeNames, mode, body) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(storeNames, mode);
      let result;
      body(tx, (value) => {
        result = value;
      });
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
  }

  function readAll(storeName) {
    return run(storeName, "readonly", (store, set) => {
      const request = store.getAll();
      request.onsuccess = () => set(request.result || []);
    });
  }

  function readOne(storeName, key) {
    return run(storeName, "readonly", (store, set) => {
      const request = store.get(key);
      request.onsuccess = () => set(request.result || null);
    });
  }

  function writeCache(key, value) {
    return run("cache", "readwrite", (store) => {
      store.put({ key, value });
    });
  }

  async function readCache(key) {
    const row = await readOne("cache", key);
    return row ? row.value : null;
  }

  // ----- Helpers ----------------------------------------------------------------------------

  function now() {
    return new Date().toISOString();
  }

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Plain-HTTP origins other than localhost have no randomUUID; same format, same entropy.
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // Waiting to send: changed since the server last confirmed it.
  function isPending(item) {
    return item.revision !== (item.sent_revision || 0);
  }

  function needsAttention(item) {
    return isPending(item) && Array.isArray(item.errors) && item.errors.length > 0;
  }

  // Started (here, or on another phone and picked up from the server's list), not ended.
  function inProgress(item) {
    const started = !!item.doc.check_in || !!(item.draft && item.draft.started);
    return started && !item.doc.check_out;
  }

  function phasesConfirmed(doc, answer) {
    if (!answer || answer.client_uuid !== doc.client_uuid) return false;
    if (doc.check_in && !answer.checked_in) return false;
    if (doc.record && !answer.recorded) return false;
    if (doc.check_out && !answer.checked_out) return false;
    return true;
  }

  function snapshot() {
    return {
      state,
      retryAt,
      userId: verifiedUser ? verifiedUser.id : null,
    };
  }

  function notify() {
    const snap = snapshot();
    for (const listener of Array.from(listeners)) {
      try {
        listener(snap);
      } catch (_error) {
        // A broken listener must not stop the others.
      }
    }
  }

  function setState(next) {
    if (state !== next) {
      state = next;
    }
    notify();
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (_error) {
      return null;
    }
  }

  // ----- The outbox -------------------------------------------------------------------------

  async function knownUserId() {
    if (verifiedUser) return verifiedUser.id;
    const mine = await readCache("mine");
    return mine && mine.body && mine.body.user ? mine.body.user.id : null;
  }

  /** Store the whole visit document (a new version of it) and try to send it. */
  async function put(doc, userId) {
    if (!doc || typeof doc.client_uuid !== "string") throw new Error("visit without client_uuid");
    const owner = userId ?? (await knownUserId());
    const stamp = now();
    const item = await run("outbox", "readwrite", (store, set) => {
      const request = store.get(doc.client_uuid);
      request.onsuccess = () => {
        const old = request.result;
        const next = {
          client_uuid: doc.client_uuid,
          user_id: old ? old.user_id : owner,
          reference: doc.case_reference,
          doc,
          revision: (old ? old.revision : 0) + 1,
          sent_revision: old ? old.sent_revision || 0 : 0,
          attempts: 0,
          last_error: null,
          errors: [],
          draft: old ? old.draft || null : null,
          answer: old ? old.answer || null : null,
          created_at: old ? old.created_at : stamp,
          updated_at: stamp,
        };
        store.put(next);
        set(next);
      };
    });
    notify();
    replay();
    return item;
  }

  /** Keep what has been typed but not yet saved (no new revision: nothing to send). */
  function saveDraft(clientUuid, draft) {
    return run("outbox", "readwrite", (store) => {
      const request = store.get(clientUuid);
      request.onsuccess = () => {
        const item = request.result;
        if (!item) return;
        item.draft = draft;
        store.put(item);
      };
    });
  }

  function get(clientUuid) {
    return readOne("outbox", clientUuid);
  }

  async function list() {
    const items = await readAll("outbox");
    return items.sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
  }

  /** Visits waiting to be sent: this user's, or everyone's on this phone. */
  async function count(userId) {
    const items = await list();
    return items.filter((i) => isPending(i) && (userId == null || i.user_id === userId)).length;
  }

  async function markSent(clientUuid, sentRevision, answer) {
    const outcome = await runAll(["outbox", "cache"], "readwrite", (tx, set) => {
      const store = tx.objectStore("outbox");
      const request = store.get(clientUuid);
      request.onsuccess = () => {
        const item = request.result;
        if (!item) return set("gone");
        const flags = {
          checked_in: !!answer.checked_in,
          recorded: !!answer.recorded,
          flagged: !!answer.flagged,
          flag_reason: answer.flag_reason || null,
          synced_at: answer.synced_at || null,
        };
        if (item.revision !== sentRevision) {
          // Changed while it was on its way: the newer version still has to go.
          item.attempts = 0;
          item.last_error = null;
          item.answer = flags;
          store.put(item);
          return set("changed");
        }
        if (answer.checked_out) {
          // Leaves the outbox and joins the ended visits at once: no moment when neither
          // says it is over.
          store.delete(clientUuid);
          const cache = tx.objectStore("cache");
          const ended = cache.get("ended");
          ended.onsuccess = () => {
            const value = (ended.result && ended.result.value) || {};
            value[clientUuid] = now();
            cache.put({ key: "ended", value });
          };
          return set("deleted");
        }
        item.sent_revision = sentRevision;
        item.attempts = 0;
        item.last_error = null;
        item.errors = [];
        item.answer = flags;
        store.put(item);
        return set("sent");
      };
    });
    answers.set(clientUuid, answer);
    await writeCache("last_sync", now());
    return outcome;
  }

  function markFailed(clientUuid, sentRevision, lastError, errors) {
    return run("outbox", "readwrite", (store) => {
      const request = store.get(clientUuid);
      request.onsuccess = () => {
        const item = request.result;
        if (!item) return;
        item.attempts = (item.attempts || 0) + 1;
        item.last_error = lastError;
        // Errors belong to the version the server judged; a newer one gets a fresh chance.
        if (errors && item.revision === sentRevision) item.errors = errors;
        store.put(item);
      };
    });
  }

  // ----- Talking to the server --------------------------------------------------------------

  /** GET /api/v1/visits/mine: cache it and learn who is signed in. */
  function refreshMine() {
    if (!mineInFlight) {
      mineInFlight = (async () => {
        const asked = now();
        let response;
        try {
          response = await fetch(MINE, {
            credentials: "same-origin",
            cache: "no-store",
            headers: { Accept: "application/json" },
          });
        } catch (_error) {
          setState(navigator.onLine ? "retrying" : "offline");
          return { ok: false, status: 0, body: null };
        }
        const body = await readJson(response);
        if (response.status === 401) {
          verifiedUser = null;
          setState("signed_out");
          return { ok: false, status: 401, body };
        }
        if (!response.ok || !body || !body.user) {
          return { ok: false, status: response.status, body };
        }
        const changedUser = !verifiedUser || verifiedUser.id !== body.user.id;
        verifiedUser = body.user;
        const ended = await saveMine(body, asked);
        if (state === "signed_out" || state === "offline") setState("idle");
        if (changedUser) replay();
        return { ok: true, status: 200, body: withoutEnded(body, ended) };
      })().finally(() => {
        mineInFlight = null;
      });
    }
    return mineInFlight;
  }

  // The server's list without the visits this phone has ended (see "ended" above).
  function withoutEnded(body, ended) {
    if (!body || !Array.isArray(body.open_visits) || !ended) return body;
    return { ...body, open_visits: body.open_visits.filter((v) => !(v.client_uuid in ended)) };
  }

  /** Keep the server's list. `asked`: when it was requested; an ended visit the list no
   *  longer names, asked for after the end was confirmed, needs remembering no more. */
  async function saveMine(body, asked) {
    const ended = await runAll(["cache"], "readwrite", (tx, set) => {
      const cache = tx.objectStore("cache");
      cache.put({ key: "mine", value: { body, saved_at: now() } });
      const request = cache.get("ended");
      request.onsuccess = () => {
        const value = (request.result && request.result.value) || {};
        const listed = new Set((body.open_visits || []).map((v) => v.client_uuid));
        for (const [uuid, at] of Object.entries(value)) {
          if (asked && asked > at && !listed.has(uuid)) delete value[uuid];
        }
        cache.put({ key: "ended", value });
        set(value);
      };
    });
    notify();
    return ended;
  }

  async function loadMine() {
    const [mine, ended] = await Promise.all([readCache("mine"), readCache("ended")]);
    return mine ? { ...mine, body: withoutEnded(mine.body, ended) } : null;
  }

  /**
   * Everything the visit list shows, read in one transaction: the user's items, what is
   * waiting to send, what needs attention, the visits in progress (started here and not
   * ended, then the server's open visits this phone neither holds nor has ended), the
   * server's list (`mine`) and when a visit was last sent. userId: the list's user, else the
   * cached list's.
   */
  async function view(userId) {
    const read = await runAll(["outbox", "cache"], "readonly", (tx, set) => {
      const got = {};
      const items = tx.objectStore("outbox").getAll();
      items.onsuccess = () => {
        got.items = items.result || [];
      };
      const cache = tx.objectStore("cache");
      for (const key of ["mine", "ended", "last_sync"]) {
        const request = cache.get(key);
        request.onsuccess = () => {
          got[key] = request.result ? request.result.value : null;
        };
      }
      set(got);
    });
    const mine = read.mine ? { ...read.mine, body: withoutEnded(read.mine.body, read.ended) }
      : null;
    const body = mine ? mine.body : null;
    const owner = userId ?? (body && body.user ? body.user.id : null);
    const own = read.items
      .filter((i) => owner != null && i.user_id === owner)
      .sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
    const held = new Set(read.items.map((i) => i.client_uuid));
    const open = [
      ...own.filter(inProgress).map((i) => {
        const checkIn = i.doc.check_in;
        const started = (i.draft && i.draft.started) || {};
        const at = checkIn ? checkIn.at : started.at;
        const end = checkIn
          ? new Date(new Date(checkIn.at).getTime() + checkIn.expected_minutes * 60000)
            .toISOString()
          : started.expected_end_at;
        return { client_uuid: i.client_uuid, reference: i.reference, checked_in_at: at,
          expected_end_at: end || null, overdue: false };
      }),
      ...((body && body.open_visits) || []).filter((v) => !held.has(v.client_uuid)),
    ];
    return {
      mine,
      lastSync: read.last_sync,
      items: own,
      waiting: own.filter(isPending),
      attention: own.filter(needsAttention),
      open,
    };
  }

  function lastSync() {
    return readCache("last_sync");
  }

  function scheduleRetry() {
    backoffMs = backoffMs ? Math.min(backoffMs * 2, MAX_BACKOFF_MS) : FIRST_BACKOFF_MS;
    retryAt = Date.now() + backoffMs;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      replay();
    }, backoffMs);
  }

  async function sendOne(item) {
    const sentRevision = item.revision;
    let response;
    try {
      response = await fetch(API, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(item.doc),
      });
    } catch (_error) {
      await markFailed(item.client_uuid, sentRevision, "network", null);
      return "unreachable";
    }
    const body = await readJson(response);
    if (response.status === 200 && phasesConfirmed(item.doc, body)) {
      await markSent(item.client_uuid, sentRevision, body);
      return "sent";
    }
    if (response.status === 401) {
      verifiedUser = null;
      return "signed_out";
    }
    if (response.status === 422 && body && Array.isArray(body.errors)) {
      await markFailed(item.client_uuid, sentRevision, "invalid", body.errors);
      return "needs_attention";
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 408
        && response.status !== 429) {
      // Refused for good (not allowed, no such case, too large): retrying can't help.
      const message = (body && body.message) || "The server could not accept this visit.";
      await markFailed(item.client_uuid, sentRevision, "refused",
        [{ field: "", message }]);
      return "needs_attention";
    }
    await markFailed(item.client_uuid, sentRevision, `http ${response.status}`, null);
    return "unreachable";
  }

  async function replayOnce() {
    clearTimeout(retryTimer);
    retryTimer = null;
    retryAt = null;
    if (!navigator.onLine) {
      setState("offline");
      return;
    }
    const items = await list();
    let sendable = items.filter((i) => isPending(i) && !needsAttention(i));
    if (sendable.length === 0) {
      if (state !== "signed_out") setState("idle");
      return;
    }
    if (!verifiedUser) {
      const mine = await refreshMine();
      if (!mine.ok) {
        if (mine.status !== 401) scheduleRetry();
        notify();
        return;
      }
    }
    sendable = sendable.filter((i) => i.user_id === verifiedUser.id);
    if (sendable.length === 0) {
      setState("idle");
      return;
    }
    setState("sending");
    for (const item of sendable) {
      const result = await sendOne(item);
      if (result === "signed_out") {
        setState("signed_out");
        return;
      }
      if (result === "unreachable") {
        scheduleRetry();
        setState("retrying");
        return;
      }
      notify();
    }
    backoffMs = 0;
    setState("idle");
  }

  /** Send every waiting visit of the signed-in user now. Resolves when this round is done. */
  function replay() {
    if (replaying) {
      replayAgain = true;
      return replaying;
    }
    replaying = (async () => {
      do {
        replayAgain = false;
        try {
          await replayOnce();
        } catch (_error) {
          // IndexedDB unavailable or a bug: try again later rather than lose anything.
          scheduleRetry();
          setState("retrying");
        }
      } while (replayAgain);
    })().finally(() => {
      replaying = null;
    });
    return replaying;
  }

  async function clearAll() {
    await run("outbox", "readwrite", (store) => store.clear());
    await run("cache", "readwrite", (store) => store.clear());
    answers.clear();
    verifiedUser = null;
    notify();
  }

  function plural(n, one, many) {
    return n === 1 ? one : many;
  }

  /** Sign out only if nothing is lost, or the officer says so. True: go ahead (cleared). */
  async function beforeSignOut() {
    if (navigator.onLine) {
      await Promise.race([
        replay(),
        new Promise((resolve) => setTimeout(resolve, SIGN_OUT_SEND_LIMIT_MS)),
      ]);
    }
    const items = await list();
    const unsent = items.filter(isPending).length;
    const open = items.filter((i) => !isPending(i) && inProgress(i)).length;
    if (unsent || open) {
      const lines = [];
      if (unsent) {
        lines.push(
          `${unsent} ${plural(unsent, "visit", "visits")} on this phone ` +
            `${plural(unsent, "has", "have")} not been sent. If you sign out now, ` +
            `${plural(unsent, "it", "they")} will be deleted from this phone and cannot be sent.`,
        );
      }
      if (open) {
        lines.push(
          `You have not ended ${open} ${plural(open, "visit", "visits")}. ` +
            "Your buddy will be alerted if a visit is not ended.",
        );
      }
      lines.push("Sign out anyway?");
      if (!window.confirm(lines.join("\n\n"))) return false;
    }
    await clearAll();
    return true;
  }

  function subscribe(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  window.cmeOutbox = {
    newUuid,
    put,
    saveDraft,
    get,
    list,
    count,
    isPending,
    needsAttention,
    inProgress,
    replay,
    refreshMine,
    saveMine,
    loadMine,
    view,
    lastSync,
    lastAnswer: (clientUuid) => answers.get(clientUuid) || null,
    status: snapshot,
    clearAll,
    beforeSignOut,
    subscribe,
  };

  window.addEventListener("online", () => {
    backoffMs = 0;
    if (state === "offline") setState("idle");
    replay();
  });
  window.addEventListener("offline", () => setState("offline"));
  window.dispatchEvent(new Event("cmeoutbox:ready"));
  replay();
})();

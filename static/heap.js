/*!
 * heap.js 1.0.0 — heapsite's capture library. Documentation: docs/snippet.md.
 *
 * Records pageviews (single-page-app navigation included), clicks, form submits and field
 * changes; keeps an anonymous user id and a 30-minute session; sends batches to a heapsite
 * server's POST /api/collect. No dependencies, and it never throws into the host page.
 *
 * The two-line snippet leaves `window.heap` as an array of queued calls with `heap.appid` and
 * `heap.config` set; this file replaces it with the real API and replays the queue.
 */
(() => {
  "use strict";

  const existing = window.heap;
  if (existing && existing._loaded) return; // included twice: the first copy owns the page

  const VERSION = "1.0.0";
  const HTML_NS = "http://www.w3.org/1999/xhtml";
  const XLINK_NS = "http://www.w3.org/1999/xlink";
  const NAMESPACES = { "http://www.w3.org/2000/svg": "svg", "http://www.w3.org/1998/Math/MathML": "math" };
  const MAX_VALUE = 1024; // attribute values, text, property keys and values (docs/api.md)
  const MAX_URL = 8192; // path, query, hash, referrer, href
  const MAX_TAG = 64;
  const MAX_IDENTITY = 255;
  const MAX_HIERARCHY = 512;
  const MAX_ID = 2 ** 53;
  const SKIPPED_ATTRS = new Set(["id", "style", "value", "srcdoc"]);
  // Elements whose content is never text a person reads on the page (or is a form value).
  const TEXTLESS_TAGS = new Set(["script", "style", "noscript", "template", "input", "select", "textarea"]);
  const BUTTON_INPUTS = new Set(["submit", "button", "reset"]);
  // Known search engines: [hostname pattern, query parameter holding the search terms].
  const SEARCH_ENGINES = [
    [/(^|\.)google\.[a-z.]+$/, "q"],
    [/(^|\.)bing\.com$/, "q"],
    [/(^|\.)search\.yahoo\.[a-z.]+$/, "p"],
    [/(^|\.)duckduckgo\.com$/, "q"],
    [/(^|\.)baidu\.com$/, "wd"],
    [/(^|\.)yandex\.[a-z.]+$/, "text"],
    [/(^|\.)ecosia\.org$/, "q"],
    [/(^|\.)ask\.com$/, "q"],
    [/(^|\.)search\.aol\.[a-z.]+$/, "q"],
    [/(^|\.)search\.naver\.com$/, "query"],
    [/(^|\.)startpage\.com$/, "query"],
    [/(^|\.)qwant\.com$/, "q"],
    [/(^|\.)search\.brave\.com$/, "q"],
  ];
  const UTM_FIELDS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  const heap = {
    _loaded: true,
    version: VERSION,
    appid: null,
    config: {},
    userId: null,
    identity: null,
    // Every timestamp comes from here, so tests can move the clock (session timeout); a page
    // can set it on the snippet's stub too, to move the clock before the first pageview.
    _now: existing && typeof existing._now === "function" ? existing._now : () => Date.now(),
  };
  // Calls made through the snippet's stub before this file arrived; load() replays them.
  let queued = Array.isArray(existing) ? Array.from(existing) : [];

  let state = null; // {userId, identity, session, lastActivity, eventProperties}
  const outbox = []; // batches not yet accepted by the server
  let flushTimer = null;
  let retryTimer = null;
  let lastSaved = 0; // when the state was last written to storage (the clock of now())
  let otherTabWrote = false; // another tab changed the stored state since we last looked
  let keepaliveBytes = 0; // bodies of keepalive requests in flight (browsers allow 64 KiB)
  let failures = 0; // consecutive failed sends: the retry backoff grows with them
  let pageviewTimer = null;
  let lastPageHref = null; // URL of the last recorded pageview, to skip no-op navigations
  let pageReferrer = ""; // referrer of the current page (the previous URL after SPA navigation)

  // ---- small helpers --------------------------------------------------------------------------

  // Every entry point from the host page goes through here: heap.js must never break a site.
  const safe =
    (fn) =>
    (...args) => {
      try {
        return fn(...args);
      } catch (error) {
        debug("heap.js error", error);
        return undefined;
      }
    };

  function debug(...args) {
    if (heap.config.debug && window.console) console.debug(...args);
  }

  function option(name, fallback) {
    const value = heap.config[name];
    return value === undefined || value === null ? fallback : value;
  }

  function now() {
    const value = Number(heap._now());
    return Number.isFinite(value) ? Math.floor(value) : Date.now();
  }

  // Limits count characters (code points), as the server does.
  function cap(text, limit = MAX_VALUE) {
    text = String(text);
    if (text.length <= limit) return text;
    const chars = Array.from(text);
    return chars.length <= limit ? text : chars.slice(0, limit).join("");
  }

  const capUrl = (text) => cap(text, MAX_URL);

  const collapse = (text) => text.replace(/\s+/g, " ").trim();

  function randomWords(count) {
    const words = new Uint32Array(count);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(words);
    } else {
      for (let i = 0; i < count; i++) words[i] = Math.floor(Math.random() * 2 ** 32);
    }
    return words;
  }

  // A random integer 0 < id < 2**53: exact in a JavaScript number and in a bigint column.
  function randomId53() {
    const [high, low] = randomWords(2);
    return (high & 0x1fffff) * 2 ** 32 + low || 1;
  }

  const eventId = () =>
    Array.from(randomWords(4), (word) => word.toString(16).padStart(8, "0")).join("");

  // Flat string/number/boolean values (the collect contract); other objects become JSON text.
  function cleanProperties(props) {
    const out = {};
    if (!props || typeof props !== "object") return out;
    for (const key of Object.keys(props)) {
      let value = props[key];
      if (key === "" || value === undefined || value === null || typeof value === "function") continue;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) continue;
      } else if (typeof value === "string") {
        value = cap(value);
      } else if (typeof value !== "boolean") {
        try {
          value = cap(value instanceof Date ? value.toISOString() : JSON.stringify(value));
        } catch (error) {
          continue;
        }
      }
      out[cap(key)] = value;
    }
    return out;
  }

  // ---- storage: a first-party cookie and localStorage -----------------------------------------

  const storageKey = () => `_hs_${heap.appid}`;
  const pendingKey = () => `${storageKey()}_pending`;

  function readStorage(key) {
    try {
      const raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (error) {
      return null;
    }
  }

  function writeStorage(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      // Storage full or blocked: the cookie still keeps the user and session.
    }
  }

  // User and session ids alike: integers 0 < id < 2**53.
  const validUserId = (id) => Number.isInteger(id) && id > 0 && id < MAX_ID;

  // The cookie holds "<userId>.<sessionId>.<sessionStart>.<lastActivity>": enough to keep the
  // user and session when localStorage is blocked or cleared.
  function readCookie() {
    const prefix = `${storageKey()}=`;
    for (const part of (document.cookie || "").split(/;\s*/)) {
      if (!part.startsWith(prefix)) continue;
      const fields = part.slice(prefix.length).split(".").map(Number);
      if (fields.length === 4 && fields.every(Number.isInteger) && validUserId(fields[0])) {
        const [userId, sessionId, sessionStart, lastActivity] = fields;
        return { userId, sessionId, sessionStart, lastActivity };
      }
    }
    return null;
  }

  function writeCookie() {
    const value = [state.userId, state.session.id, state.session.start_time, state.lastActivity].join(".");
    let cookie = `${storageKey()}=${value}; path=/; max-age=${365 * 24 * 3600}; SameSite=Lax`;
    const domain = option("cookieDomain", "");
    if (domain) cookie += `; domain=${domain}`;
    if (window.location.protocol === "https:") cookie += "; Secure";
    try {
      document.cookie = cookie;
    } catch (error) {
      // Cookies disabled: localStorage alone keeps the state.
    }
  }

  function saveState() {
    lastSaved = now();
    writeStorage(storageKey(), state);
    writeCookie();
  }

  function loadState() {
    const stored = readStorage(storageKey()) || {};
    const cookie = readCookie();
    const userId = cookie ? cookie.userId : stored.userId;
    const sameUser = validUserId(userId) && stored.userId === userId;
    state = {
      userId: validUserId(userId) ? userId : randomId53(),
      // If the cookie names another user (reset on another subdomain, say), nothing else is theirs.
      identity: sameUser && typeof stored.identity === "string" ? stored.identity : null,
      session: sameUser && stored.session && stored.session.id ? stored.session : null,
      lastActivity: sameUser && stored.lastActivity ? stored.lastActivity : 0,
      eventProperties: sameUser && stored.eventProperties ? stored.eventProperties : {},
    };
    if (cookie && validUserId(cookie.sessionId) && (!state.session || state.session.id !== cookie.sessionId)) {
      // localStorage lost the session that the cookie remembers; its start data is gone (the
      // server keeps what the session's first batch said).
      state.session = sessionFields(cookie.sessionId, cookie.sessionStart, "", "");
      state.lastActivity = cookie.lastActivity;
    }
    heap.userId = state.userId;
    heap.identity = state.identity;
  }

  // ---- sessions ----------------------------------------------------------------------------

  function searchKeyword(referrer) {
    let url;
    try {
      url = new URL(referrer);
    } catch (error) {
      return "";
    }
    for (const [host, parameter] of SEARCH_ENGINES) {
      if (host.test(url.hostname)) return cap(url.searchParams.get(parameter) || "");
    }
    return "";
  }

  function sessionFields(id, startTime, referrer, landingHref) {
    const session = {
      id,
      start_time: startTime,
      referrer: capUrl(referrer),
      landing_page: "",
      landing_page_query: "",
      landing_page_hash: "",
      search_keyword: searchKeyword(referrer),
    };
    let params = null;
    try {
      const landing = new URL(landingHref);
      session.landing_page = capUrl(landing.origin + landing.pathname);
      session.landing_page_query = capUrl(landing.search);
      session.landing_page_hash = capUrl(landing.hash);
      params = landing.searchParams;
    } catch (error) {
      // No landing page known (session restored from the cookie alone).
    }
    for (const field of UTM_FIELDS) session[field] = cap((params && params.get(field)) || "");
    return session;
  }

  function startSession(time) {
    state.session = sessionFields(randomId53(), time, pageReferrer, window.location.href);
    state.lastActivity = time;
  }

  // Another tab of the site may have moved on (new session, identify, reset): follow it. The
  // browser tells us when another tab writes (the "storage" event), so this costs nothing else.
  function followOtherTabs() {
    if (!otherTabWrote) return;
    otherTabWrote = false;
    const stored = readStorage(storageKey());
    if (!stored || !validUserId(stored.userId) || !stored.session || !stored.session.id) return;
    if (!(stored.lastActivity > state.lastActivity)) return;
    state = {
      userId: stored.userId,
      identity: typeof stored.identity === "string" ? stored.identity : null,
      session: stored.session,
      lastActivity: stored.lastActivity,
      eventProperties: stored.eventProperties || {},
    };
    heap.userId = state.userId;
    heap.identity = state.identity;
  }

  // A session ends after 30 minutes without events; the next event starts a new one.
  function touchSession(time) {
    followOtherTabs();
    const timeout = option("sessionTimeout", 30 * 60 * 1000);
    const expired = !state.session || time - state.lastActivity > timeout || time < state.session.start_time;
    if (expired) startSession(time);
    state.lastActivity = Math.max(state.lastActivity, time);
    // Storage writes cost more than the rest of a click: a few seconds' precision is plenty for a
    // 30-minute timeout, and leaving the page saves the latest state.
    if (expired || Math.abs(time - lastSaved) >= 5000) saveState();
  }

  // ---- describing elements (docs/api.md "Element hierarchy") ------------------------------------

  const ignoreClass = () => option("ignoreClass", "heap-ignore");

  const hasIgnoreClass = (element) => Boolean(element.classList && element.classList.contains(ignoreClass()));

  // Anything inside an element with the opt-out class is never sent.
  function isIgnored(element) {
    for (let node = element; node && node.nodeType === Node.ELEMENT_NODE; node = node.parentNode) {
      if (hasIgnoreClass(node)) return true;
    }
    return false;
  }

  function describeElement(element) {
    const entry = { tag: element.localName };
    const keep = (value) => {
      const capped = cap(value);
      if (capped !== value) entry.truncated = true;
      return capped;
    };
    const ns = element.namespaceURI;
    if (ns && ns !== HTML_NS) entry.ns = NAMESPACES[ns] || ns;
    if (element.hasAttribute("id")) entry.id = keep(element.getAttribute("id"));
    // classList is already an ordered set; capping could make two tokens equal, hence the Set.
    const classes = Array.from(new Set(Array.from(element.classList || [], keep)));
    if (classes.length) entry.classes = classes;
    const attrs = {};
    for (const { name, value } of Array.from(element.attributes)) {
      if (SKIPPED_ATTRS.has(name) || /^on/i.test(name) || name.length > MAX_VALUE) continue;
      // The raw class attribute only when classes cannot rebuild it ([class^="…"] stays exact),
      // or when it has no tokens at all: class="" still matches [class].
      if (name === "class" && classes.length && value === classes.join(" ")) continue;
      attrs[name] = keep(value);
    }
    if (Object.keys(attrs).length) entry.attrs = attrs;
    return entry;
  }

  // Target first, then every ancestor up to <body>, then <html>.
  function hierarchyOf(element) {
    const nodes = [];
    for (let node = element; node && node.nodeType === Node.ELEMENT_NODE; node = node.parentNode) {
      nodes.push(node);
    }
    if (nodes.length > MAX_HIERARCHY) {
      // Absurdly deep pages keep the nearest ancestors, then <body> and <html> (docs/snippet.md).
      nodes.splice(MAX_HIERARCHY - 2, nodes.length - MAX_HIERARCHY);
    }
    return nodes.map(describeElement);
  }

  // The server accepts only hierarchies of elements in this document (ending <body>, <html>).
  const sendable = (element, hierarchy) =>
    element.ownerDocument === document &&
    element.isConnected &&
    hierarchy.length >= 2 &&
    hierarchy[hierarchy.length - 1].tag === "html" &&
    ["body", "frameset"].includes(hierarchy[hierarchy.length - 2].tag) &&
    hierarchy.every((entry) => entry.tag.length <= MAX_TAG);

  const isVisible = (style) => style.visibility !== "hidden" && style.visibility !== "collapse";

  // Visible text: skips hidden and opted-out elements and every form value.
  function collectText(element, parts, visible) {
    for (const node of Array.from(element.childNodes)) {
      if (parts.length > 4 * MAX_VALUE) break;
      if (node.nodeType === Node.TEXT_NODE) {
        if (visible) parts.push(node.data);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (TEXTLESS_TAGS.has(node.localName) || hasIgnoreClass(node)) continue;
        const style = window.getComputedStyle(node);
        if (style.display === "none") continue;
        const block = !style.display.startsWith("inline") && style.display !== "contents";
        if (block || node.localName === "br") parts.push(" ");
        collectText(node, parts, isVisible(style));
        if (block) parts.push(" ");
      }
    }
    return parts;
  }

  function textOf(element) {
    if (element.localName === "input") {
      // A button-like input shows its value as its label; every other input value is private.
      const type = (element.getAttribute("type") || "").toLowerCase();
      return BUTTON_INPUTS.has(type) ? cap(collapse(element.value || "")) : "";
    }
    if (TEXTLESS_TAGS.has(element.localName)) return "";
    const visible = isVisible(window.getComputedStyle(element));
    return cap(collapse(collectText(element, [], visible).join("")));
  }

  // The href attribute of the target or its nearest link ancestor, as written in the page.
  function nearestHref(element) {
    for (let node = element; node && node.nodeType === Node.ELEMENT_NODE; node = node.parentNode) {
      if (node.localName !== "a" && node.localName !== "area") continue;
      const href = node.hasAttribute("href") ? node.getAttribute("href") : node.getAttributeNS(XLINK_NS, "href");
      if (href !== null) return capUrl(href);
    }
    return "";
  }

  function describe(element) {
    if (!element || element.nodeType !== Node.ELEMENT_NODE || isIgnored(element)) return null;
    const hierarchy = hierarchyOf(element);
    if (!sendable(element, hierarchy)) return null;
    const first = hierarchy[0];
    return {
      target: {
        tag: first.tag,
        id: first.id || "",
        classes: first.classes || [],
        text: textOf(element),
        href: nearestHref(element),
      },
      hierarchy,
    };
  }

  // ---- recording events ---------------------------------------------------------------------

  function pageFields() {
    const { hostname, pathname, search, hash } = window.location;
    return {
      domain: hostname,
      path: capUrl(pathname),
      query: capUrl(search),
      hash: capUrl(hash),
      title: cap(document.title || ""),
      referrer: capUrl(pageReferrer),
    };
  }

  function record(type, fields) {
    const time = now();
    touchSession(time);
    enqueue({ id: eventId(), type, time, ...fields });
  }

  // Properties from addEventProperties, then the call's own (which win).
  const eventProperties = (extra) => ({ ...state.eventProperties, ...cleanProperties(extra) });

  function recordPageview() {
    lastPageHref = window.location.href;
    record("pageview", { ...pageFields(), properties: eventProperties() });
  }

  function onNavigation() {
    // Apps usually set the title right after pushState: record on the next tick.
    if (pageviewTimer) return;
    const previous = lastPageHref;
    pageviewTimer = setTimeout(
      safe(() => {
        pageviewTimer = null;
        if (window.location.href === lastPageHref) return; // state-only change, or same URL
        pageReferrer = previous || pageReferrer;
        recordPageview();
      }),
      0,
    );
  }

  const isPassword = (element) =>
    element.localName === "input" && (element.getAttribute("type") || "").toLowerCase() === "password";

  function interaction(type, element) {
    if (!element || element.nodeType !== Node.ELEMENT_NODE) return;
    if (isPassword(element)) return; // not even that a password field was touched
    const description = describe(element);
    if (!description) return;
    record(type, { ...pageFields(), ...description, properties: eventProperties() });
  }

  // ---- batching and sending -----------------------------------------------------------------

  const batchSize = () => Math.max(1, Math.min(1000, option("batchSize", 50)));
  const endpoint = () => option("endpoint", "/api/collect");

  function newBatch() {
    return {
      app_id: String(heap.appid),
      library: "web",
      user_id: state.userId,
      identity: state.identity,
      session: { ...state.session },
      events: [],
      attempts: 0,
      sending: false,
    };
  }

  const isOpen = (batch) =>
    batch &&
    !batch.sending &&
    !batch.attempts &&
    batch.events.length < batchSize() &&
    batch.user_id === state.userId &&
    batch.identity === state.identity &&
    batch.session.id === state.session.id;

  // A batch carries one user, identity and session: a change of any of them starts a new batch.
  function enqueue(event) {
    let batch = outbox[outbox.length - 1];
    if (!isOpen(batch)) {
      batch = newBatch();
      outbox.push(batch);
    }
    batch.events.push(event);
    if (batch.events.length >= batchSize()) {
      flush();
    } else if (!flushTimer) {
      flushTimer = setTimeout(safe(flush), option("flushInterval", 1000));
    }
  }

  // sent_at is stamped at each attempt, so the server corrects clock skew for retries too.
  const payload = ({ app_id, library, user_id, identity, session, events }) =>
    JSON.stringify({ app_id, library, sent_at: now(), user_id, identity, session, events });

  function flush() {
    clearTimeout(flushTimer);
    flushTimer = null;
    // While the server is failing, new batches wait for the next retry instead of adding requests
    // (and the browser's network-error lines) of their own.
    if (retryTimer) return Promise.resolve();
    const fresh = outbox.filter((batch) => !batch.sending && !batch.attempts && batch.events.length);
    return Promise.all(fresh.map(send)).then(() => undefined);
  }

  function send(batch) {
    batch.sending = true;
    const body = payload(batch);
    // keepalive lets a request outlive the page, but the browser refuses it once the bodies in
    // flight pass 64 KiB: bursts go without it (pagehide hands leftovers to sendBeacon).
    const keepalive = keepaliveBytes + body.length < 60000;
    if (keepalive) keepaliveBytes += body.length;
    const release = () => {
      if (keepalive) keepaliveBytes -= body.length;
    };
    let request;
    try {
      // text/plain keeps this a "simple" CORS request: no preflight round trip.
      request = window.fetch(endpoint(), {
        method: "POST",
        body,
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        credentials: "omit",
        mode: "cors",
        keepalive,
      });
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(release, release);
    return request.then(
      (response) => {
        if (response.ok) {
          settle(batch);
        } else if (response.status >= 500 || response.status === 408 || response.status === 429) {
          retryLater(batch);
        } else {
          // The server named a problem in this batch; resending the same bytes cannot help.
          debug("heap.js: batch rejected with status", response.status);
          return response.json().then(
            (error) => resendWithout(batch, error),
            () => settle(batch),
          );
        }
        return undefined;
      },
      () => retryLater(batch), // network error: server down, offline, blocked
    );
  }

  // A batch is accepted or rejected whole: when the error names only some events
  // ("events[3].target.tag"), send the others once more rather than lose them all.
  function resendWithout(batch, error) {
    const details = (error && Array.isArray(error.details) && error.details) || [];
    const rejected = new Set();
    for (const detail of details) {
      const match = /^events\[(\d+)\]/.exec((detail && detail.field) || "");
      if (!match) return settle(batch); // a problem with the batch itself
      rejected.add(Number(match[1]));
    }
    if (batch.pruned || !rejected.size || rejected.size >= batch.events.length) return settle(batch);
    batch.pruned = true;
    batch.events = batch.events.filter((event, index) => !rejected.has(index));
    return send(batch);
  }

  function settle(batch) {
    failures = 0; // the server answered
    batch.sending = false;
    const index = outbox.indexOf(batch);
    if (index !== -1) outbox.splice(index, 1);
  }

  // Exponential backoff (with jitter) on consecutive failures, up to a minute between attempts.
  function retryLater(batch) {
    batch.sending = false;
    batch.attempts += 1;
    failures += 1;
    if (retryTimer) return;
    const delay = Math.min(60000, option("retryDelay", 1000) * 2 ** Math.min(failures - 1, 16));
    retryTimer = setTimeout(safe(retryDue), delay / 2 + (Math.random() * delay) / 2);
  }

  // Failed batches again with the same event ids (the server writes each id once), and whatever
  // was queued meanwhile.
  function retryDue() {
    retryTimer = null;
    for (const batch of outbox) {
      if (!batch.sending && batch.events.length) send(batch);
    }
  }

  // The page is going away: hand every fresh batch to the browser with sendBeacon. Batches that
  // already failed (server down) or are still in flight are kept in localStorage for the next
  // page to send again; the server writes each event id once, so a repeat costs nothing.
  function beaconAll() {
    clearTimeout(flushTimer);
    flushTimer = null;
    saveState();
    const keep = [];
    for (const batch of outbox.slice()) {
      if (!batch.events.length) continue;
      let handed = false;
      if (!batch.sending && !batch.attempts && navigator.sendBeacon) {
        try {
          handed = navigator.sendBeacon(endpoint(), payload(batch));
        } catch (error) {
          handed = false;
        }
      }
      if (handed) settle(batch);
      else keep.push(batch);
    }
    if (keep.length) writeStorage(pendingKey(), keep.slice(-20));
  }

  function resendStored() {
    const stored = readStorage(pendingKey());
    writeStorage(pendingKey(), null);
    if (!Array.isArray(stored)) return;
    const dayAgo = now() - 24 * 3600 * 1000;
    for (const batch of stored) {
      if (!batch || !Array.isArray(batch.events) || !batch.events.length) continue;
      if (!(batch.events[0].time > dayAgo)) continue;
      outbox.push({ ...batch, sending: false, attempts: Math.max(1, batch.attempts || 0) });
    }
    if (outbox.length) retryDue();
  }

  // ---- the public API -----------------------------------------------------------------------

  function track(name, properties) {
    if (name === undefined || name === null || String(name) === "") return;
    record("custom", { name: cap(name), ...pageFields(), properties: eventProperties(properties) });
  }

  function identify(identity) {
    if (identity === undefined || identity === null) return;
    identity = String(identity).trim();
    if (!identity || Array.from(identity).length > MAX_IDENTITY) {
      debug("heap.js: identify() needs 1 to 255 characters");
      return;
    }
    if (identity === state.identity) return;
    if (state.identity !== null) newUser(); // someone else signs in on this browser
    state.identity = heap.identity = identity;
    saveState();
    record("identify", { identity });
  }

  function addUserProperties(properties) {
    const clean = cleanProperties(properties);
    if (Object.keys(clean).length) record("user_properties", { properties: clean });
  }

  function addEventProperties(properties) {
    Object.assign(state.eventProperties, cleanProperties(properties));
    saveState();
  }

  function removeEventProperty(name) {
    delete state.eventProperties[name];
    saveState();
  }

  function clearEventProperties() {
    state.eventProperties = {};
    saveState();
  }

  function newUser() {
    state.userId = heap.userId = randomId53();
    state.identity = heap.identity = null;
    state.eventProperties = {};
    startSession(now());
  }

  function resetIdentity() {
    newUser();
    saveState();
  }

  const API = {
    track,
    identify,
    resetIdentity,
    addUserProperties,
    addEventProperties,
    removeEventProperty,
    clearEventProperties,
    // The names older copies of Heap's classic snippet still queue.
    setEventProperties: addEventProperties,
    unsetEventProperty: removeEventProperty,
  };

  // ---- start-up -----------------------------------------------------------------------------

  function patchHistory(name) {
    const original = window.history[name];
    if (typeof original !== "function") return;
    window.history[name] = function (...args) {
      const result = original.apply(this, args);
      safe(onNavigation)();
      return result;
    };
  }

  function listen() {
    const capture = (type, accepts) =>
      document.addEventListener(
        type,
        safe((event) => {
          if (accepts(event.target)) interaction(type, event.target);
        }),
        true,
      );
    capture("click", () => true);
    capture("submit", () => true);
    capture("change", (target) => Boolean(target) && /^(input|select|textarea)$/.test(target.localName));
    patchHistory("pushState");
    patchHistory("replaceState");
    window.addEventListener("popstate", safe(onNavigation));
    window.addEventListener("hashchange", safe(onNavigation));
    window.addEventListener("pagehide", safe(beaconAll));
    window.addEventListener(
      "storage",
      safe((event) => {
        if (event.key === storageKey() || event.key === null) otherTabWrote = true;
      }),
    );
    document.addEventListener(
      "visibilitychange",
      safe(() => {
        if (document.visibilityState === "hidden") beaconAll();
      }),
    );
  }

  function replay(call) {
    if (call && Object.prototype.hasOwnProperty.call(API, call[0])) API[call[0]](...Array.from(call).slice(1));
  }

  function load(appId, config) {
    if (heap.appid !== null) return; // one app per page
    heap.appid = String(appId);
    heap.config = config && typeof config === "object" ? config : {};
    // Start once the document is parsed, so the first pageview has the title (and whatever the
    // page's own scripts set up) rather than a half-parsed page's.
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", safe(start), { once: true });
    } else {
      start();
    }
  }

  function start() {
    pageReferrer = document.referrer || "";
    loadState();
    listen();
    resendStored();
    const calls = queued;
    queued = [];
    // Replay in order; the page's pageview goes just before the first queued track(), so
    // identity and event properties set early apply to it and tracked events follow it.
    let pageviewDue = option("capturePageviews", true);
    for (const call of calls) {
      if (pageviewDue && call && call[0] === "track") {
        pageviewDue = false;
        safe(recordPageview)();
      }
      safe(replay)(call);
    }
    if (pageviewDue) recordPageview();
  }

  for (const [name, fn] of Object.entries(API)) {
    heap[name] = safe((...args) => {
      if (state) {
        followOtherTabs();
        return fn(...args);
      }
      queued.push([name, ...args]);
      return undefined;
    });
  }
  heap.load = safe(load);
  heap.push = safe((call) => (state ? replay(call) : queued.push(call)));
  // For tests and tools: exactly the {target, hierarchy} an interaction with this element sends
  // (null when nothing would be sent: opted out, or not in this document), and a way to send
  // everything now.
  heap._describe = (element) => describe(element);
  heap._flush = () => (state ? flush() : Promise.resolve());

  window.heap = heap;
  if (existing && existing.appid) heap.load(existing.appid, existing.config);
})();

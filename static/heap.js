/*! heap.js 1.1.0 — heapsite's capture library (docs/snippet.md). It replaces the snippet's
 * `window.heap` queue (with `heap.appid`, `heap.config`) by the real API, never throwing into the page.
 */
(() => {
  "use strict";

  const existing = window.heap;
  if (existing && existing._loaded) return; // included twice: the first copy owns the page

  const VERSION = "1.1.0";
  const HTML_NS = "http://www.w3.org/1999/xhtml";
  const XLINK_NS = "http://www.w3.org/1999/xlink";
  const NAMESPACES = { "http://www.w3.org/2000/svg": "svg", "http://www.w3.org/1998/Math/MathML": "math" };
  const ATTRIBUTE_NAMESPACES = {
    [XLINK_NS]: "xlink",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "http://www.w3.org/2000/xmlns/": "xmlns",
  };
  // The server's limits (docs/api.md): nothing is sent that /api/collect would refuse.
  const MAX_VALUE = 1024; // attribute values, text, property keys and values
  const MAX_URL = 8192; // path, query, hash, referrer, href
  const MAX_DOMAIN = 255;
  const MAX_TAG = 64;
  const MAX_IDENTITY = 255;
  const MAX_HIERARCHY = 512;
  const MAX_CLASSES = 1024; // per element
  const MAX_ATTRS = 1000; // per element, and properties per event
  const MAX_ID = 2 ** 53;
  const MAX_INT64 = 2 ** 63;
  // Browsers allow 64 KiB (bytes) of keepalive and beacon bodies in flight: a batch takes half.
  const KEEPALIVE_BUDGET = 64000;
  const MAX_BATCH_BYTES = 32000;
  // Content that is no text a person reads (or a form value).
  const TEXTLESS_TAGS = new Set(["script", "style", "noscript", "template", "input", "select", "textarea"]);
  const BUTTON_INPUTS = new Set(["submit", "button", "reset"]);
  // [hostname pattern, the parameter with the search terms]
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
    // The clock of every timestamp: tests move it (also on the snippet's stub, before loading).
    _now: existing && typeof existing._now === "function" ? existing._now : () => Date.now(),
  };
  // Calls made on the snippet's stub before this file arrived: load() replays them.
  let queued = Array.isArray(existing) ? Array.from(existing) : [];

  let state = null; // {userId, identity, session, lastActivity, eventProperties}
  const outbox = []; // batches not yet accepted by the server
  let flushTimer = null;
  let retryTimer = null;
  let lastSaved = 0; // when the state was last stored
  let otherTabWrote = false; // another tab changed the stored state since
  let keepaliveBytes = 0; // keepalive bodies in flight
  let failures = 0; // consecutive failed sends (the backoff grows with them)
  let pageviewTimer = null;
  let navigations = []; // URLs navigated to since the last tick: {href, fields} (recordNavigations)
  let lastPageHref = null; // of the last pageview, to skip no-op navigations
  let pageReferrer = ""; // the previous URL after SPA navigation

  // ---- small helpers

  // Every entry point from the host page: heap.js must never break a site.
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

  // PostgreSQL stores neither NUL nor a lone surrogate: both become U+FFFD.
  const storable = (text) =>
    text
      .replace(/\0/g, "\ufffd")
      .replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, (match) => (match.length > 1 ? match : "\ufffd"));

  // Limits count code points, as the server does.
  function cap(text, limit = MAX_VALUE) {
    text = storable(String(text));
    if (text.length <= limit) return text;
    const chars = Array.from(text);
    return chars.length <= limit ? text : chars.slice(0, limit).join("");
  }

  const encoder = new TextEncoder();
  const utf8Bytes = (text) => encoder.encode(text).length;

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

  // 0 < id < 2**53: exact in a JavaScript number and in a bigint column.
  function randomId53() {
    const [high, low] = randomWords(2);
    return (high & 0x1fffff) * 2 ** 32 + low || 1;
  }

  const eventId = () =>
    Array.from(randomWords(4), (word) => word.toString(16).padStart(8, "0")).join("");

  // Flat values (the collect contract): objects become JSON text.
  function cleanProperties(props) {
    const out = {};
    if (!props || typeof props !== "object") return out;
    let count = 0;
    for (const key of Object.keys(props)) {
      if (count >= MAX_ATTRS) break;
      let value = props[key];
      if (key === "" || value === undefined || value === null || typeof value === "function") continue;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) continue;
        // JSON would write digits that no 64-bit integer holds.
        if ((value >= MAX_INT64 || value < -MAX_INT64) && Math.abs(value) < 1e21) value = String(value);
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
      count += 1;
    }
    return out;
  }

  // ---- storage: a first-party cookie and localStorage

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
      // Full or blocked: the cookie keeps the state.
    }
  }

  // User and session ids alike: integers 0 < id < 2**53.
  const validUserId = (id) => Number.isInteger(id) && id > 0 && id < MAX_ID;

  // An identity is a key: sent as given or not at all.
  const validIdentity = (identity) =>
    typeof identity === "string" &&
    identity !== "" &&
    Array.from(identity).length <= MAX_IDENTITY &&
    storable(identity) === identity;

  // "<userId>.<sessionId>.<sessionStart>.<lastActivity>": user and session survive localStorage.
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
      // Disabled: localStorage keeps the state.
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
      // A cookie naming another user (reset on another subdomain) keeps nothing else.
      identity: sameUser && validIdentity(stored.identity) ? stored.identity : null,
      session: sameUser && stored.session && stored.session.id ? stored.session : null,
      lastActivity: sameUser && stored.lastActivity ? stored.lastActivity : 0,
      eventProperties: sameUser && stored.eventProperties ? stored.eventProperties : {},
    };
    if (cookie && validUserId(cookie.sessionId) && (!state.session || state.session.id !== cookie.sessionId)) {
      // localStorage lost it; the server kept its start data.
      state.session = sessionFields(cookie.sessionId, cookie.sessionStart, "", "");
      state.lastActivity = cookie.lastActivity;
    }
    heap.userId = state.userId;
    heap.identity = state.identity;
  }

  // ---- sessions

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

  // Follow another tab that moved on (new session, identify, reset).
  function followOtherTabs() {
    if (!otherTabWrote) return;
    otherTabWrote = false;
    const stored = readStorage(storageKey());
    if (!stored || !validUserId(stored.userId) || !stored.session || !stored.session.id) return;
    if (!(stored.lastActivity > state.lastActivity)) return;
    state = {
      userId: stored.userId,
      identity: validIdentity(stored.identity) ? stored.identity : null,
      session: stored.session,
      lastActivity: stored.lastActivity,
      eventProperties: stored.eventProperties || {},
    };
    heap.userId = state.userId;
    heap.identity = state.identity;
  }

  function touchSession(time) {
    followOtherTabs();
    const timeout = option("sessionTimeout", 30 * 60 * 1000);
    const expired = !state.session || time - state.lastActivity > timeout || time < state.session.start_time;
    if (expired) startSession(time);
    state.lastActivity = Math.max(state.lastActivity, time);
    // Storage costs more than a click: seconds of precision do (leaving the page saves too).
    if (expired || Math.abs(time - lastSaved) >= 5000) saveState();
  }

  // ---- describing elements (docs/api.md "Element hierarchy")

  const ignoreClass = () => option("ignoreClass", "heap-ignore");

  const hasIgnoreClass = (element) => Boolean(element.classList && element.classList.contains(ignoreClass()));

  // Heap's redaction markers: for the element and all inside it.
  const REDACT_TEXT = "[data-heap-redact-text]";
  const REDACT_ATTRS = "data-heap-redact-attributes";
  // Per element of the last hierarchyOf(): the attributes markers leave out.
  let redactionsOf = new Map();

  // "*" (an empty list): all but id and class.
  function ownRedactions(element) {
    const list = element.getAttribute(REDACT_ATTRS);
    const names = (list || "").toLowerCase().split(",").map((name) => name.trim()).filter(Boolean);
    return list !== null && !names.length ? ["*"] : names;
  }

  const isRedacted = (names, name) =>
    names.has(name.toLowerCase()) || (names.has("*") && name !== "id" && name !== "class");

  // Anything inside an element with the opt-out class is never sent.
  function isIgnored(element) {
    for (let node = element; node && node.nodeType === Node.ELEMENT_NODE; node = node.parentNode) {
      if (hasIgnoreClass(node)) return true;
    }
    return false;
  }

  // Never captured, whatever the (ASCII) letter case (docs/api.md).
  const isSkipped = (name) => /^(id|style|value|srcdoc)$|^on/i.test(name);

  function describeElement(element, redactions) {
    const entry = {};
    // Anything not kept exactly marks the element.
    const keep = (value, limit = MAX_VALUE) => {
      const capped = cap(value, limit);
      if (capped !== value) entry.truncated = true;
      return capped;
    };
    entry.tag = keep(element.localName, MAX_TAG);
    const ns = element.namespaceURI;
    if (ns && ns !== HTML_NS) entry.ns = keep(NAMESPACES[ns] || ns);
    // Selectors without a namespace see only attributes in none.
    if (element.hasAttributeNS(null, "id") && !isRedacted(redactions, "id")) {
      entry.id = keep(element.getAttributeNS(null, "id"));
    }
    // classList is an ordered set; capping could make two tokens equal.
    const classList = isRedacted(redactions, "class") ? [] : element.classList || [];
    let classes = Array.from(new Set(Array.from(classList, (token) => keep(token))));
    if (classes.length > MAX_CLASSES) {
      classes = classes.slice(0, MAX_CLASSES);
      entry.truncated = true;
    }
    if (classes.length) entry.classes = classes;
    const attrs = {};
    const nsAttrs = [];
    let count = 0;
    for (const attribute of Array.from(element.attributes)) {
      const { localName, namespaceURI, value } = attribute;
      if (isSkipped(localName) || attribute.name.length > MAX_VALUE) continue;
      if (isRedacted(redactions, attribute.name)) continue;
      if (count >= MAX_ATTRS) {
        entry.truncated = true;
        break;
      }
      if (namespaceURI) {
        // xlink:href, xml:lang…: no unprefixed selector matches them.
        const namespace = keep(ATTRIBUTE_NAMESPACES[namespaceURI] || namespaceURI);
        nsAttrs.push({ ns: namespace, name: cap(attribute.name), value: keep(value) });
      } else if (localName === "class" && classes.length && value === classes.join(" ")) {
        // Only when classes cannot rebuild it: [class^="…"] stays exact, class="" matches [class].
        continue;
      } else {
        attrs[cap(localName)] = keep(value);
      }
      count += 1;
    }
    if (Object.keys(attrs).length) entry.attrs = attrs;
    if (nsAttrs.length) entry.ns_attrs = nsAttrs;
    return entry;
  }

  // Target first, then every ancestor up to <body>, then <html>.
  function hierarchyOf(element) {
    const nodes = [];
    for (let node = element; node && node.nodeType === Node.ELEMENT_NODE; node = node.parentNode) {
      nodes.push(node);
    }
    redactionsOf = new Map();
    let inherited = new Set();
    for (let index = nodes.length - 1; index >= 0; index--) {
      const own = ownRedactions(nodes[index]);
      if (own.length) inherited = new Set([...inherited, ...own]);
      redactionsOf.set(nodes[index], inherited);
    }
    if (nodes.length > MAX_HIERARCHY) {
      // The nearest ancestors, then <body> and <html> (docs/snippet.md).
      nodes.splice(MAX_HIERARCHY - 2, nodes.length - MAX_HIERARCHY);
    }
    return nodes.map((node) => describeElement(node, redactionsOf.get(node)));
  }

  // What the server accepts: elements of this document, up to its <html>.
  const sendable = (element, hierarchy) =>
    element.ownerDocument === document &&
    element.isConnected &&
    hierarchy.length >= 2 &&
    hierarchy[hierarchy.length - 1].tag === "html" &&
    !hierarchy[hierarchy.length - 1].ns;

  const isVisible = (style) => style.visibility !== "hidden" && style.visibility !== "collapse";

  // Visible text: skips hidden and opted-out elements and every form value.
  function collectText(element, parts, visible) {
    for (const node of Array.from(element.childNodes)) {
      if (parts.length > 4 * MAX_VALUE) break;
      if (node.nodeType === Node.TEXT_NODE) {
        if (visible) parts.push(node.data);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (TEXTLESS_TAGS.has(node.localName) || hasIgnoreClass(node) || node.matches(REDACT_TEXT)) continue;
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
    if (option("disableTextCapture", false) || element.closest(REDACT_TEXT)) return "";
    if (element.localName === "input") {
      // A button's value is its label; every other input value is private.
      const type = (element.getAttribute("type") || "").toLowerCase();
      return BUTTON_INPUTS.has(type) ? cap(collapse(element.value || "")) : "";
    }
    if (TEXTLESS_TAGS.has(element.localName)) return "";
    const visible = isVisible(window.getComputedStyle(element));
    return cap(collapse(collectText(element, [], visible).join("")));
  }

  // The href of the target or its nearest link, as written.
  function nearestHref(element) {
    for (let node = element; node && node.nodeType === Node.ELEMENT_NODE; node = node.parentNode) {
      if (node.localName !== "a" && node.localName !== "area") continue;
      const own = node.hasAttribute("href");
      const href = own ? node.getAttribute("href") : node.getAttributeNS(XLINK_NS, "href");
      if (href !== null) return isRedacted(redactionsOf.get(node), own ? "href" : "xlink:href") ? "" : capUrl(href);
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

  // ---- recording events

  function locationFields() {
    const { hostname, pathname, search, hash } = window.location;
    return {
      domain: cap(hostname, MAX_DOMAIN),
      path: capUrl(pathname),
      query: capUrl(search),
      hash: capUrl(hash),
    };
  }

  function pageFields() {
    return { ...locationFields(), title: cap(document.title || ""), referrer: capUrl(pageReferrer) };
  }

  function record(type, fields) {
    const time = now();
    touchSession(time);
    enqueue({ id: eventId(), type, time, ...fields });
  }

  // addEventProperties ones, then the call's own: they win, and come first past MAX_ATTRS.
  function eventProperties(extra) {
    const own = cleanProperties(extra);
    return cleanProperties({ ...own, ...state.eventProperties, ...own });
  }

  // `navigation`: the URL a navigation went to ({href, fields}), when it is recorded later; else the current one.
  function recordPageview(navigation) {
    lastPageHref = navigation ? navigation.href : window.location.href;
    record("pageview", { ...pageFields(), ...(navigation && navigation.fields), properties: eventProperties() });
  }

  // `replacing`: history.replaceState, which replaces a navigation not yet recorded (a router's
  // redirect, or a filter UI rewriting the query once per parameter, is one pageview).
  function onNavigation(replacing) {
    const href = window.location.href;
    if (replacing === true) navigations.pop();
    const last = navigations.length ? navigations[navigations.length - 1].href : lastPageHref;
    if (href === last) return; // a state-only change, or the same URL
    // The URL now: the app may navigate again (or go back) before the pageview is recorded.
    navigations.push({ href, fields: locationFields() });
    if (pageviewTimer) return;
    // Apps usually set the title right after pushState: recorded on the next tick.
    pageviewTimer = setTimeout(safe(recordNavigations), 0);
  }

  function recordNavigations() {
    pageviewTimer = null;
    const due = navigations;
    navigations = [];
    for (const navigation of due) {
      pageReferrer = lastPageHref || pageReferrer;
      recordPageview(navigation);
    }
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

  // ---- batching and sending

  const batchSize = () => Math.max(1, Math.min(1000, option("batchSize", 50)));
  const endpoint = () => option("endpoint", "/api/collect");

  function newBatch() {
    const batch = {
      app_id: String(heap.appid),
      library: "web",
      user_id: state.userId,
      identity: state.identity,
      session: { ...state.session },
      events: [],
      attempts: 0,
      sending: false,
      closed: false, // takes no more events
      plain: false, // refused with keepalive once: sent without
    };
    batch.bytes = utf8Bytes(payload(batch));
    return batch;
  }

  const isOpen = (batch) =>
    batch &&
    !batch.closed &&
    !batch.sending &&
    !batch.attempts &&
    batch.events.length < batchSize() &&
    batch.user_id === state.userId &&
    batch.identity === state.identity &&
    batch.session.id === state.session.id;

  // A full batch goes at once (while the server fails, with the next retry).
  function close(batch) {
    batch.closed = true;
    if (!retryTimer) send(batch);
  }

  // A batch carries one user, identity and session: a change of any of them starts a new batch.
  // It stays under MAX_BATCH_BYTES (a bigger event goes alone).
  function enqueue(event) {
    const size = utf8Bytes(JSON.stringify(event)) + 1; // and a comma
    let batch = outbox[outbox.length - 1];
    if (isOpen(batch) && batch.bytes + size > MAX_BATCH_BYTES) close(batch);
    if (!isOpen(batch)) {
      batch = newBatch();
      outbox.push(batch);
    }
    batch.events.push(event);
    batch.bytes += size;
    if (batch.events.length >= batchSize()) {
      flush();
    } else if (batch.bytes >= MAX_BATCH_BYTES) {
      close(batch);
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
    // While the server fails, new batches wait for the next retry.
    if (retryTimer) return Promise.resolve();
    const fresh = outbox.filter((batch) => !batch.sending && !batch.attempts && batch.events.length);
    return Promise.all(fresh.map(send)).then(() => undefined);
  }

  function send(batch) {
    batch.sending = true;
    batch.closed = true;
    const body = payload(batch);
    const bytes = utf8Bytes(body);
    // keepalive outlives the page, within the browser's budget (pagehide beacons the rest).
    const keepalive = !batch.plain && keepaliveBytes + bytes <= KEEPALIVE_BUDGET;
    if (keepalive) keepaliveBytes += bytes;
    const release = () => {
      if (keepalive) keepaliveBytes -= bytes;
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
    return request.then(
      // The browser frees a keepalive request's quota once its answer is read.
      (response) => response.text().then(
        (text) => answered(batch, response.status, text),
        () => answered(batch, response.status, ""),
      ).finally(release),
      () => {
        release();
        // Offline, server down — or keepalive refused (quota shared with other scripts): retries
        // go without keepalive, so that refusal cannot repeat.
        if (keepalive) batch.plain = true;
        retryLater(batch);
      },
    );
  }

  function answered(batch, status, text) {
    // 2xx: stored, but for events named as unstorable (docs/api.md).
    if (status >= 200 && status < 300) return settle(batch);
    if (status === 413) return split(batch);
    if (status >= 500 || status === 408 || status === 429) return retryLater(batch);
    debug("heap.js: batch rejected with status", status);
    let error = null;
    try {
      error = JSON.parse(text);
    } catch (parseError) {
      return settle(batch);
    }
    return resendWithout(batch, error);
  }

  // Too big for the server (413, or past INGEST_MAX_BATCH): halves, down to single events, then
  // dropped. Halving ends: no loop.
  function split(batch) {
    settle(batch);
    if (batch.events.length < 2) return undefined;
    const middle = Math.ceil(batch.events.length / 2);
    const halves = [batch.events.slice(0, middle), batch.events.slice(middle)].map((events) => ({
      ...batch,
      events,
      sending: false,
    }));
    outbox.push(...halves);
    return Promise.all(halves.map(send));
  }

  // Refused naming some events ("events[3].tag"): the others once more.
  function resendWithout(batch, error) {
    const details = (error && Array.isArray(error.details) && error.details) || [];
    if (details.some((detail) => detail && detail.field === "events")) return split(batch);
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

  // Exponential backoff with jitter, up to a minute.
  function retryLater(batch) {
    batch.sending = false;
    batch.attempts += 1;
    failures += 1;
    if (retryTimer) return;
    const delay = Math.min(60000, option("retryDelay", 1000) * 2 ** Math.min(failures - 1, 16));
    retryTimer = setTimeout(safe(retryDue), delay / 2 + (Math.random() * delay) / 2);
  }

  // Failed batches (same event ids, stored once) and whatever was queued meanwhile.
  function retryDue() {
    retryTimer = null;
    for (const batch of outbox) {
      if (!batch.sending && batch.events.length) send(batch);
    }
  }

  // Leaving: fresh batches go with sendBeacon; failed, in-flight or refused ones wait in
  // localStorage for the next page.
  function beaconAll() {
    if (pageviewTimer) {
      // The page is going: the navigations of its last tick are recorded now or never.
      clearTimeout(pageviewTimer);
      recordNavigations();
    }
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

  // ---- the public API

  function track(name, properties) {
    if (name === undefined || name === null || String(name) === "") return;
    record("custom", { name: cap(name), ...pageFields(), properties: eventProperties(properties) });
  }

  function identify(identity) {
    if (identity === undefined || identity === null) return;
    identity = String(identity).trim();
    if (!validIdentity(identity)) {
      debug("heap.js: identify() needs 1 to 255 characters, without NUL or unpaired surrogates");
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

  // ---- start-up

  // The labeler (docs/labeler.md): heapsite opens the site with #heapsite-label=<one-time token>. The token
  // leaves the address bar before anything is recorded; the labeler comes from where heap.js came from.
  const SCRIPT = document.currentScript && document.currentScript.src;
  function labeler() {
    const found = /#heapsite-label=([\w.-]+)$/.exec(window.location.hash);
    if (found) {
      sessionStorage.setItem("_hs_label", JSON.stringify({ launch: found[1] }));
      window.history.replaceState(window.history.state, "", window.location.href.replace(/#.*/, ""));
    }
    if (!SCRIPT || !sessionStorage.getItem("_hs_label")) return;
    const script = document.createElement("script");
    script.src = new URL("labeler.js", SCRIPT).href;
    document.head.appendChild(script);
  }

  function patchHistory(name) {
    const original = window.history[name];
    if (typeof original !== "function") return;
    window.history[name] = function (...args) {
      const result = original.apply(this, args);
      safe(onNavigation)(name === "replaceState");
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
    // Once parsed, so the first pageview has the title.
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", safe(start), { once: true });
    } else {
      start();
    }
  }

  function start() {
    safe(labeler)();
    pageReferrer = document.referrer || "";
    loadState();
    listen();
    resendStored();
    const calls = queued;
    queued = [];
    // The pageview goes just before the first track(), after early identify() and properties.
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
  // For tests and tools.
  heap._describe = (element) => describe(element);
  heap._flush = () => (state ? flush() : Promise.resolve());

  window.heap = heap;
  if (existing && existing.appid) heap.load(existing.appid, existing.config);
})();

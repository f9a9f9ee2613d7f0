// Sends with the real Node clients to a heapsite server, as a team would, changing only the host and key.
// Usage: node send.js <heap-api|analytics-node> <base URL> <app id> <write key>
// Prints {"versions": {...}} on success; exits 1 with the error otherwise. Run with NODE_PATH set to the
// node_modules folder `make test` installs (.venv/node-clients/node_modules).
"use strict";

const [which, base, appId, writeKey] = process.argv.slice(2);

function version(name) {
  return require(`${name}/package.json`).version;
}

async function heapApi() {
  // heap-api has no host option: its request URLs are fixed to Heap's server, so the request module it
  // calls is wrapped to send them to `base` instead (the only change).
  const requestPath = require.resolve("request");
  const request = require(requestPath);
  const wrapped = (options, callback) =>
    request({ ...options, url: options.url.replace(/^https:\/\/heapanalytics\.com/, base) }, callback);
  require.cache[requestPath].exports = wrapped;
  const heap = require("heap-api")(appId);
  await heap.track("Order Completed", "carol@example.com", { total: 19, currency: "EUR" });
  await heap.addUserProperties("carol@example.com", { plan: "team", seats: 4 });
  return { "heap-api": version("heap-api") };
}

async function analyticsNode() {
  const { Analytics } = require("@segment/analytics-node");
  const analytics = new Analytics({ writeKey, host: base, flushAt: 20, flushInterval: 50, maxRetries: 1 });
  const failures = [];
  analytics.on("error", (error) => failures.push(String(error && (error.reason || error.message || error))));
  const context = {
    page: { url: "https://shop.example/cart?c=1#top", title: "Cart", referrer: "https://news.example/" },
    userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    ip: "192.0.2.44",
    campaign: { name: "launch", source: "ads", medium: "cpc", term: "boards", content: "a" },
  };
  analytics.identify({ anonymousId: "node-anon", traits: { plan: "trial" } });
  analytics.page({ anonymousId: "node-anon", name: "Cart", properties: { url: "https://shop.example/cart" }, messageId: "n-p" });
  analytics.identify({ userId: "dave@example.com", anonymousId: "node-anon", traits: { plan: "team", company: { name: "Acme" } } });
  analytics.track({ userId: "dave@example.com", event: "Order Completed", properties: { total: 99.5 }, context, messageId: "n-t" });
  analytics.screen({ userId: "dave@example.com", name: "Board", messageId: "n-s" });
  analytics.group({ userId: "dave@example.com", groupId: "g-7", traits: { industry: "retail" }, messageId: "n-g" });
  analytics.alias({ previousId: "node-anon-2", userId: "dave@example.com" });
  await analytics.closeAndFlush({ timeout: 10000 });
  if (failures.length) throw new Error(failures.join("; "));
  return { "@segment/analytics-node": version("@segment/analytics-node") };
}

const senders = { "heap-api": heapApi, "analytics-node": analyticsNode };
senders[which]()
  .then((versions) => {
    process.stdout.write(JSON.stringify({ versions }) + "\n");
  })
  .catch((error) => {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  });

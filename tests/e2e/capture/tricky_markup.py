"""Tricky markup for the hierarchy fidelity tests, and an in-page reference describer.

The reference (`EXPECTED_JS`) is written independently of heap.js, straight from docs/api.md,
using different DOM APIs (getAttributeNames, the raw class attribute split on ASCII whitespace)
so a shared mistake is unlikely. `MATCHES_JS` turns a stored element back into a CSS compound
selector and asks the browser's own selector engine whether the DOM element matches it.
"""

MANY_CLASSES = " ".join(f"c{index}" for index in range(60, 0, -1))
UTILITY_CLASSES = (
    "hover:bg-red-500 w-1/2 md:w-[calc(100%-2rem)] [mask-type:luminance] !font-bold "
    "group-hover:opacity-50 data-[state=open]:block -mt-1.5 peer-checked:[&>svg]:rotate-90"
)

BODY = f"""
<main id="main" class="{MANY_CLASSES}">
  <section class="{UTILITY_CLASSES}" data-testid="section" DATA-UPPER="Kept Case">
    <button id='he said "hi"' class="btn btn btn-primary" type="button" title="line one
line two	tabbed" aria-label='Say "hi" — it&#39;s free' data-ünï="✓">
      <svg class="icon icon-lg" viewBox="0 0 24 24" xmlns:xlink="http://www.w3.org/1999/xlink" data-icon="star">
        <g class="layer" transform="translate(1 1)"><path id="star-path" d="M12 2l3 7h7l-6 5 2 8-6-4z"/></g>
        <use xlink:href="#star-path" href="#star-path"></use>
        <foreignObject width="10" height="10"><span class="fo-label">inside foreignObject</span></foreignObject>
      </svg>
      <span class="label">Say hi</span>
    </button>
    <a id="with space" class="link	tabbed
newline" href="/path?q=a%20b&amp;x='y'#frag" data-json='{{"a": [1, 2], "b": "c\\"d"}}'
       >Link <b class="strong">bold</b></a>
    <p id="ünïcødé-✓-日本-🚀" class="emoji-🚀 日本語" lang="ja">テキスト</p>
    <my-widget id="w1" class="widget" some-attr="x" onclick="void 0" style="color:red" value="v" srcdoc="s">
      <x-inner-part class="inner" tabindex="0">custom</x-inner-part>
    </my-widget>
    <math display="block"><mi class="math-var" xml:lang="en">x</mi></math>
    <div id="ns-host" xlink:href="/plain" xml:lang="en" xmlns="urn:plain" class="nb&nbsp;sp ideo&#x3000;space">namespaces</div>
    <div id="" class="" title="">empty id, class and title</div>
    <input id="email" type="email" value="initial value" placeholder="you@example.com" name="email" required>
    <div id="long" data-long="LONG">long attribute</div>
  </section>
  <div id="deep-root"></div>
  <div id="very-deep-root"></div>
</main>
<script>
  function nest(root, depth) {{
    let node = document.getElementById(root);
    for (let i = 0; i < depth; i++) {{
      const child = document.createElement(i % 3 ? "div" : "span");
      child.className = "level-" + i + (i % 2 ? " odd" : " even");
      if (i % 5 === 0) child.setAttribute("data-level", String(i));
      node.appendChild(child);
      node = child;
    }}
    const leaf = document.createElement("button");
    leaf.id = root + "-leaf";
    leaf.textContent = "deep";
    node.appendChild(leaf);
  }}
  nest("deep-root", 200);
  nest("very-deep-root", 600);
  document.getElementById("long").setAttribute("data-long", "x".repeat(1500));
  const host = document.getElementById("ns-host");
  host.setAttributeNS("urn:x", "p:data-plan", "namespaced");
  host.setAttribute("title", "plain title");
  host.setAttributeNS("urn:y", "q:title", "namespaced title");  // the same local name as a plain one
  host.setAttributeNS("urn:z", "z:id", "namespaced id");  // not the element's id, and never captured
  document.querySelector("use").setAttributeNS(null, "Style", "fill: red");  // never captured, any case
  document.addEventListener("click", (event) => event.preventDefault());  // stay on the page
  window.tricky = {{
    button: document.getElementById('he said "hi"'),
    buttonLabel: document.querySelector(".label"),
    svgPath: document.getElementById("star-path"),
    svgUse: document.querySelector("use"),
    foreign: document.querySelector(".fo-label"),
    link: document.getElementById("with space"),
    bold: document.querySelector(".strong"),
    unicode: document.getElementById("ünïcødé-✓-日本-🚀"),
    widget: document.getElementById("w1"),
    inner: document.querySelector("x-inner-part"),
    math: document.querySelector("mi"),
    namespaced: host,
    empty: document.querySelector('div[id=""]'),
    input: document.getElementById("email"),
    long: document.getElementById("long"),
    section: document.querySelector("[data-testid=section]"),
    deep: document.getElementById("deep-root-leaf"),
    veryDeep: document.getElementById("very-deep-root-leaf"),
  }};
</script>
"""

EXPECTED_JS = r"""
(element) => {
  const NS = {"http://www.w3.org/2000/svg": "svg", "http://www.w3.org/1998/Math/MathML": "math"};
  const ATTRIBUTE_NS = {
    "http://www.w3.org/1999/xlink": "xlink",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "http://www.w3.org/2000/xmlns/": "xmlns",
  };
  const cut = (value) => [...value].length > 1024 ? [...value].slice(0, 1024).join("") : value;
  const chain = [];
  for (let node = element; node; node = node.parentElement) chain.push(node);
  return chain.map((node) => {
    const entry = {tag: node.localName};
    let truncated = false;
    const keep = (value) => { const out = cut(value); truncated = truncated || out !== value; return out; };
    if (node.namespaceURI !== "http://www.w3.org/1999/xhtml") entry.ns = NS[node.namespaceURI];
    const nodes = node.getAttributeNames().map((name) => node.getAttributeNode(name));
    const plain = nodes.filter((attr) => attr.namespaceURI === null);
    const idNode = plain.find((attr) => attr.name === "id");
    if (idNode) entry.id = keep(idNode.value);
    const classNode = plain.find((attr) => attr.name === "class");
    const raw = classNode ? classNode.value : null;
    const classes = [];
    for (const token of (raw || "").split(/[ \t\n\f\r]+/)) {
      if (token && !classes.includes(token)) classes.push(token);
    }
    if (classes.length) entry.classes = classes.map(keep);
    const skipped = (local) => ["id", "style", "value", "srcdoc"].includes(local.toLowerCase()) || /^on/i.test(local);
    const attrs = {};
    const nsAttrs = [];
    for (const attr of nodes) {
      if (skipped(attr.localName)) continue;
      if (attr.namespaceURI !== null) {
        nsAttrs.push({ns: ATTRIBUTE_NS[attr.namespaceURI] || attr.namespaceURI, name: attr.name, value: keep(attr.value)});
        continue;
      }
      if (attr.name === "class" && classes.length && raw === classes.join(" ")) continue;
      attrs[attr.name] = keep(attr.value);
    }
    if (Object.keys(attrs).length) entry.attrs = attrs;
    if (nsAttrs.length) entry.ns_attrs = nsAttrs;
    if (truncated) entry.truncated = true;
    return entry;
  });
}
"""

# For each stored element and the DOM element at the same position: does the browser agree that
# the element matches the compound selector rebuilt from what was stored?
MATCHES_JS = r"""
([element, stored]) => {
  const chain = [];
  for (let node = element; node; node = node.parentElement) chain.push(node);
  const failures = [];
  stored.forEach((entry, index) => {
    const node = chain[index];
    let selector = CSS.escape(entry.tag);
    if (entry.id && !entry.truncated) selector += "#" + CSS.escape(entry.id);
    if (entry.id === "") selector += '[id=""]';
    if (entry.id === undefined) selector += ":not([id])";
    for (const name of entry.classes || []) selector += "." + CSS.escape(name);
    for (const [name, value] of Object.entries(entry.attrs || {})) {
      const operator = entry.truncated && [...value].length === 1024 ? "^=" : "=";
      selector += `[${CSS.escape(name)}${operator}"${CSS.escape(value)}"]`;
    }
    if (!node || !node.matches(selector)) failures.push({index, selector});
    // A namespaced attribute never matches an unprefixed selector, unless a plain one has its name.
    for (const {name} of entry.ns_attrs || []) {
      const unprefixed = `[${CSS.escape(name)}]`;
      if (node && node.matches(unprefixed) !== name in (entry.attrs || {})) failures.push({index, selector: unprefixed});
    }
  });
  return failures;
}
"""


def expected_hierarchies(page, names: list[str]) -> dict[str, list[dict]]:
    """The reference hierarchy of each named element of `window.tricky`, as the server keeps it
    (a hierarchy deeper than 512 keeps its nearest 510 elements, then <body> and <html>)."""
    script = f"(names) => names.map((name) => ({EXPECTED_JS})(window.tricky[name]))"
    hierarchies = page.evaluate(script, names)
    return {
        name: hierarchy[:510] + hierarchy[-2:] if len(hierarchy) > 512 else hierarchy
        for name, hierarchy in zip(names, hierarchies, strict=True)
    }


def selector_mismatches(page, stored: dict[str, list[dict]]) -> dict[str, list]:
    """For each named element, the stored entries the browser's selector engine disagrees with."""
    script = f"(stored) => Object.fromEntries(Object.entries(stored).map(([name, hierarchy]) => [name, ({MATCHES_JS})([window.tricky[name], hierarchy.slice(0, 510)])]))"
    return {name: failures for name, failures in page.evaluate(script, stored).items() if failures}

"""heap.js as browsers get it: comments and whitespace removed by rjsmin, the `/*! … */` banner kept.

The readable source stays static/heap.js; no JavaScript build toolchain. Free of Django so the
capture benchmark (bench/capture.py) measures exactly these bytes.
"""

import rjsmin

# Static files served minified, by their path under static/.
MINIFIED_STATIC = frozenset({"heap.js"})


def minify_js(source: str) -> str:
    return rjsmin.jsmin(source, keep_bang_comments=True).strip() + "\n"

"""The reference CSL processor, citeproc-js (the one Zotero and Mendeley use), run inside archiver by
V8 (mini-racer): the one home of both. No Node.js is needed at run time.

citeproc-js is vendored unchanged in ``citeproc-js/`` (its README gives the version, the licence
and how to update it). A :class:`CiteprocJS` loads it into one V8 context on first use; each
:meth:`CiteprocJS.bibliography` call returns the entries in the order the style sorts them, as
plain text.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from ...core.errors import UsageError
from .csl_styles import CslStyle, locales_for

VENDORED = Path(__file__).with_name("citeproc-js") / "citeproc_commonjs.js"
TIMEOUT_SECONDS = 120         # a style's macros can be made to run long; nothing real comes near
MAX_MEMORY = 1024 * 1024 * 1024
MAX_ENGINES = 8               # built style engines kept; the oldest goes first

# How archiver calls citeproc-js: the CSL 1.0 processor API (new CSL.Engine(sys, style, lang,
# forceLang); updateItems; makeBibliography) with the "text" output format.
_GLUE = """
var archiverEngines = {};          // style key -> {engine, items}: a built engine is reused
var archiverEngineOrder = [];
var archiverCalls = 0;
var archiverBibliography = function (styleKey, styleXml, localesJson, itemsJson, lang) {
  var slot = archiverEngines[styleKey];
  if (!slot) {
    var locales = JSON.parse(localesJson);
    slot = {items: {}};
    var sys = {
      retrieveLocale: function (tag) { return locales[tag] || false; },
      retrieveItem: function (id) { return slot.items[id]; }
    };
    slot.engine = new CSL.Engine(sys, styleXml, lang, false);
    slot.engine.setOutputFormat("text");
    archiverEngines[styleKey] = slot;
    archiverEngineOrder.push(styleKey);
    if (archiverEngineOrder.length > MAX_ENGINES) { delete archiverEngines[archiverEngineOrder.shift()]; }
  }
  // fresh ids on every call: the engine caches items by id, and a reused id could bring back old data
  archiverCalls += 1;
  var items = JSON.parse(itemsJson);
  var ids = [];
  var ours = {};
  slot.items = {};
  for (var i = 0; i < items.length; i++) {
    var id = archiverCalls + ":" + i;
    ours[id] = items[i].id;
    items[i].id = id;
    slot.items[id] = items[i];
    ids.push(id);
  }
  slot.engine.updateItems(ids);
  var bibliography = slot.engine.makeBibliography();
  if (!bibliography) { return JSON.stringify({error: "the style made no bibliography"}); }
  if (bibliography[0].bibliography_errors.length) {
    return JSON.stringify({error: JSON.stringify(bibliography[0].bibliography_errors[0])});
  }
  var entryIds = [];
  for (var j = 0; j < bibliography[0].entry_ids.length; j++) {
    var e = bibliography[0].entry_ids[j];
    entryIds.push(ours[Array.isArray(e) ? e[0] : e]);
  }
  return JSON.stringify({ids: entryIds, entries: bibliography[1]});
};
"""


class CiteprocJS:
    """citeproc-js in one V8 context, loaded on first use, keeping the engine of each style it has
    built (the slow part: 0.5 s for APA); close() (or ``with``) frees it. Calls are serialised."""

    def __init__(self) -> None:
        self._racer: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> CiteprocJS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._racer is not None:
                self._racer.close()
                self._racer = None

    def _context(self) -> Any:
        if self._racer is None:
            from py_mini_racer import MiniRacer

            racer = MiniRacer()
            source = VENDORED.read_text(encoding="utf-8")
            racer.eval("var module = {exports: {}}; var exports = module.exports;\n" + source
                       + f"\nvar CSL = module.exports;\nvar MAX_ENGINES = {MAX_ENGINES};\n" + _GLUE)
            self._racer = racer
        return self._racer

    def bibliography(self, style: CslStyle, items: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """(item id, entry text) for each item, in the style's bibliography order."""
        if not items:
            return []
        from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException

        key = hashlib.sha256(f"{style.locale}\n{style.xml}".encode()).hexdigest()
        with self._lock:
            try:
                answer = self._context().call(
                    "archiverBibliography", key, style.xml, json.dumps(locales_for(style.locale)),
                    json.dumps(items, ensure_ascii=False), style.locale, timeout_sec=TIMEOUT_SECONDS, max_memory=MAX_MEMORY)
            except (JSTimeoutException, JSOOMException) as e:
                raise UsageError(f"{style.path}: citeproc-js gave up on this style ({type(e).__name__})") from None
            except JSEvalException as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise UsageError(f"{style.path}: citeproc-js cannot use this style: {first[:200]}") from None
        result = json.loads(str(answer))
        if "error" in result:
            raise UsageError(f"{style.path}: citeproc-js made no bibliography: {str(result['error'])[:200]}")
        return [(str(i), str(e).strip()) for i, e in zip(result["ids"], result["entries"])]


@functools.cache
def shared_processor() -> CiteprocJS:
    """The process's one CiteprocJS, so that a server or a loop of renders builds each style once.
    A cache, not state: its answers are those of a fresh CiteprocJS.

    It is closed when the interpreter exits (atexit, while V8's threads still run): left to the
    garbage collector at finalization, closing a V8 context can wait forever on a thread that is gone
    (seen: ``archiver report`` hanging after printing, one time in three)."""
    import atexit

    processor = CiteprocJS()
    atexit.register(processor.close)
    return processor

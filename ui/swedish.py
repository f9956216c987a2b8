"""Streamlit's own English in Swedish: the page language and the widgets' fixed texts.

Streamlit has no locale setting. Widgets that take a text get a Swedish one (placeholders),
and choices that only bring English are left out (a multiselect's "Select all"). What is left
is fixed English in Streamlit's browser bundle (the file uploader's "Drag and drop a file
here", "Upload", "20MB per file", its refusal of a large file; a dropdown's "No results"):
a small script in the page sets `<html lang="sv">` and replaces those texts, only inside
Streamlit's widgets and dropdowns (never in answers or documents), as they appear.
"""

from __future__ import annotations

import json

import streamlit as st

from ui import texts

# Where Streamlit's widgets and their dropdown menus draw (menus are drawn in a popover at
# the end of the page).
WIDGET_SCOPE = ", ".join([
    '[data-testid="stFileUploader"]', '[data-testid="stMultiSelect"]',
    '[data-testid="stSelectbox"]', '[data-baseweb="popover"]', '[role="listbox"]',
    '[data-testid="stSkipToContent"]', '[data-testid="stToolbar"]', "[aria-live]",
])
MARKER_ID = "asf-swedish"

_SCRIPT = """
<span id="%(marker)s"></span>
<style>[data-testid="stElementContainer"]:has(#%(marker)s) { display: none; }</style>
<script>
(() => {
  const doc = document;
  doc.documentElement.lang = %(lang)s;
  if (window.__asfSwedish) return;
  window.__asfSwedish = true;
  const exact = %(exact)s;
  const patterns = %(patterns)s.map(([source, to]) => [new RegExp(source), to]);
  const scope = %(scope)s;
  const swedish = (text) => {
    const trimmed = text.trim();
    if (!trimmed) return null;
    if (Object.prototype.hasOwnProperty.call(exact, trimmed)) {
      return text.replace(trimmed, exact[trimmed]);
    }
    for (const [pattern, to] of patterns) {
      if (pattern.test(trimmed)) return text.replace(trimmed, trimmed.replace(pattern, to));
    }
    return null;
  };
  const attributes = ["aria-label", "title", "placeholder"];
  const translate = (root) => {
    const base = root.nodeType === Node.TEXT_NODE ? root.parentElement : root;
    if (!base || !base.closest) return;
    const inScope = base.closest(scope) ? [base] : Array.from(base.querySelectorAll(scope));
    for (const element of inScope) {
      const walker = doc.createTreeWalker(element, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const to = swedish(node.nodeValue);
        if (to !== null && to !== node.nodeValue) node.nodeValue = to;
      }
      const labelled = element.querySelectorAll("[aria-label],[title],[placeholder]");
      for (const el of [element, ...labelled]) {
        for (const name of attributes) {
          const value = el.getAttribute && el.getAttribute(name);
          const to = value && swedish(value);
          if (to && to !== value) el.setAttribute(name, to);
        }
      }
    }
  };
  translate(doc.body);
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "characterData") translate(m.target);
      else if (m.type === "attributes") translate(m.target);
      else m.addedNodes.forEach((node) => translate(node));
    }
  }).observe(doc.body, {subtree: true, childList: true, characterData: true,
                        attributes: true, attributeFilter: attributes});
})();
</script>
"""


def page_script() -> str:
    """Return the HTML (a hidden marker, its style and the script) that makes the page
    Swedish."""
    return _SCRIPT % {
        "marker": MARKER_ID,
        "lang": json.dumps(texts.PAGE_LANGUAGE),
        "exact": json.dumps(texts.BROWSER_TEXTS, ensure_ascii=False),
        "patterns": json.dumps(texts.BROWSER_PATTERNS, ensure_ascii=False),
        "scope": json.dumps(WIDGET_SCOPE),
    }


def install() -> None:
    """Add the script to the page (once per run; the browser keeps one observer)."""
    st.html(page_script(), unsafe_allow_javascript=True)

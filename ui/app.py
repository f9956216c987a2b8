"""ASF-assistenten in the browser: `python -m ui.serve` (what `make run` starts: the model
loads in its own process while the page draws), or `streamlit run ui/app.py` (the model then
loads in this process, when the first page opens).

The entrypoint only frames the pages; the chat is ui/app_pages/chat.py and the sources page
ui/app_pages/sources.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One torch thread per question: sessions are answered in parallel threads, and on a shared
# CPU torch's thread pool stalls (measured on 2 busy cores: 2.5 s instead of 0.1 s to embed a
# question). Set before torch is imported; an explicit OMP_NUM_THREADS wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# `streamlit run` puts only this folder on sys.path; the pages import the `ui` package.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from ui import cases_view, plan_view, swedish, texts  # noqa: E402

st.set_page_config(page_title=texts.APP_TITLE, page_icon=texts.APP_ICON, layout="centered")
swedish.install()           # <html lang="sv"> and Streamlit's own widget texts in Swedish
# Widget values live only while their widget is drawn; keep the role when the user visits
# the sources page and comes back.
if "role" in st.session_state:
    st.session_state.role = st.session_state.role

page = st.navigation([
    st.Page("app_pages/chat.py", title=texts.PAGE_CHAT, icon=":material/chat:", default=True),
    st.Page("app_pages/sources.py", title=texts.PAGE_SOURCES, icon=":material/menu_book:"),
    st.Page("app_pages/guide.py", title=texts.PAGE_GUIDE, icon=":material/explore:"),
    st.Page(cases_view.PAGE_PATH, title=cases_view.PAGE_TITLE, icon=":material/work:"),
    st.Page(plan_view.PAGE_PATH, title=plan_view.PAGE_TITLE, icon=":material/event:"),
])
page.run()

"""The guide page: the guide cards by role and topic; a title opens the card's cited answer."""

from __future__ import annotations

import streamlit as st

from assistant.prompts import ROLES
from assistant.text import tokens
from ui import components, state, texts

assistant = state.assistant_or_stop()
st.title(texts.GUIDE_TITLE)
st.caption(texts.GUIDE_INTRO)
cards = assistant.guide_cards()
if not cards:
    st.info(texts.GUIDE_EMPTY)
    st.stop()

choices = [texts.GUIDE_ALL_ROLES, *ROLES]
current = state.current_role()
role = st.segmented_control(
    texts.GUIDE_ROLE_FILTER, choices, key="guide-role",
    default=current if current in ROLES else texts.GUIDE_ALL_ROLES,
    format_func=lambda r: r if r == texts.GUIDE_ALL_ROLES else state.role_label(r))
text = st.text_input(texts.GUIDE_SEARCH, key="guide-text")
wanted = set(tokens(text))
shown = [c for c in cards
         if (not role or role == texts.GUIDE_ALL_ROLES or role in c.roles)
         and wanted <= set(tokens(" ".join([c.title, *(q for q, _ in c.points)])))]
st.caption(texts.GUIDE_COUNT.format(count=len(shown), total=len(cards)))
if not shown:
    st.info(texts.GUIDE_NONE)
for card in shown:
    with st.expander(card.title):
        answer = assistant.card_answer(card.id)
        if answer is not None:
            components.answer_body(assistant, answer, key=f"guide-{card.id}",
                                   show_related=False)
        if st.button(texts.GUIDE_ASK, key=f"guide-ask-{card.id}",
                     icon=":material/chat:"):
            st.session_state.pending = card.title
            st.switch_page("app_pages/chat.py")

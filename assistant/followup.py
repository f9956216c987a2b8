"""Follow-up questions -> standalone questions, without a language model.

An elliptical follow-up ("Och hur började det samarbetet?", "Finns det fler exempel?") gets the
topic of the previous turn carried into it: the names and content words of the last question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text import STOPWORDS, words

# Words that make a question lean on what was said before.
_ANAPHORA = frozenset(
    """det den de dem dess deras detta dessa där dit samarbetet företaget företagen exemplet
    exempel fler mer mera också även sen sedan då och it they them their that this those there
    he she his her its more also""".split())
_NAME = re.compile(r"\b[A-ZÅÄÖ][\wåäöÅÄÖé\-]*(?:\s+(?:och\s+)?[A-ZÅÄÖ][\wåäöÅÄÖé\-]*)*")


def _user_turns(history: Sequence[dict | str]) -> list[str]:
    turns = []
    for turn in history:
        if isinstance(turn, str):
            turns.append(turn)
        elif isinstance(turn, dict) and turn.get("role", "user") == "user":
            turns.append(str(turn.get("content", "")))
    return [t for t in turns if t.strip()]


def needs_context(question: str) -> bool:
    """Return True when a question is short or leans on earlier turns."""
    ws = words(question)
    content = [w for w in ws if w not in STOPWORDS and w not in _ANAPHORA]
    has_name = any(m.group(0) and m.start() > 0 for m in _NAME.finditer(question))
    return len(content) <= 3 or (bool(set(ws) & _ANAPHORA) and not has_name)


def rewrite(question: str, history: Sequence[dict | str]) -> str:
    """Return the question with the previous turn's topic carried in, when it needs one."""
    turns = _user_turns(history)
    if not turns or not needs_context(question):
        return question
    previous = turns[-1]
    return f"{question.strip()} ({previous.strip()})"

"""Answering: passages -> a cited Swedish answer (extractive, broad, from the case catalog,
or written by a language model and checked against its sources).

Stage 5 of assistant/: imports the base modules and the stages before it. The LLM backend
(answering/llm.py) is imported where it is chosen, so this package stays light.
"""

from assistant.answering.answerability import missing_answer_type
from assistant.answering.base import (
    Answerer,
    Rewriter,
    by_match,
    contexts_of,
    final_answer,
    refusal,
    source_lines,
)
from assistant.answering.broad import BroadAnswerer
from assistant.answering.catalog import answer_from_catalog
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.grounding import Grounder

__all__ = [
    "Answerer", "BroadAnswerer", "ExtractiveAnswerer", "Grounder", "Rewriter",
    "answer_from_catalog", "by_match", "contexts_of", "final_answer", "missing_answer_type",
    "refusal", "source_lines",
]

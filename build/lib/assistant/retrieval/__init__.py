"""Retrieval: a question -> ranked passages (BM25, dense and token matching, fused), the
question's analysis, follow-up rewriting and the section-level topic index.

Stage 4 of assistant/: imports the base modules and the stages before it, never answering.
"""

from assistant.retrieval.followup import rewrite
from assistant.retrieval.hybrid import BM25, HybridRetriever, Retrieval
from assistant.retrieval.question import Analysis, analyse
from assistant.retrieval.topics import TopicIndex

__all__ = ["BM25", "Analysis", "HybridRetriever", "Retrieval", "TopicIndex", "analyse",
           "rewrite"]

"""Cases: the case cards (the report's named examples) and the catalog that filters them.

Stage 2 of assistant/: imports the base modules and ingest. It also completes ingest's loader
table with the YAML cards (`CORPUS_LOADERS`); answering from the catalog is in answering/.
"""

from assistant.cases.cards import (
    CASE_SUFFIXES,
    CORPUS_LOADERS,
    Case,
    CaseDocument,
    Fact,
    case_chunk,
    case_slug_of,
    check_quotes,
    document_text,
    is_case_file,
    is_corpus_file,
    load_case,
    load_case_document,
    load_corpus_document,
)
from assistant.cases.catalog import (
    INDUSTRIES,
    CaseQuery,
    Catalog,
    Match,
    cases_json,
    query_from_options,
    question_query,
)

__all__ = [
    "CASE_SUFFIXES", "CORPUS_LOADERS", "INDUSTRIES", "Case", "CaseDocument", "CaseQuery",
    "Catalog", "Fact", "Match", "case_chunk", "case_slug_of", "cases_json", "check_quotes",
    "document_text", "is_case_file", "is_corpus_file", "load_case", "load_case_document",
    "load_corpus_document", "query_from_options", "question_query",
]

"""The lexicon: every entry's examples match it and its counter-examples do not; a malformed
entry is a Swedish error naming the file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import lexicon
from assistant.lexicon import Entry, LexiconError, entries

ENTRIES = sorted(entries().values(), key=lambda e: e.name)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_every_example_matches_its_entry(entry: Entry) -> None:
    assert [s for s in entry.examples if not entry.matches(s)] == []


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.counter],
                         ids=[e.name for e in ENTRIES if e.counter])
def test_no_counter_example_matches_its_entry(entry: Entry) -> None:
    assert [s for s in entry.counter if entry.matches(s)] == []


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patterns: str, words: str = ""
          ) -> None:
    (tmp_path / "patterns.yaml").write_text(patterns, encoding="utf-8")
    (tmp_path / "words.yaml").write_text(words, encoding="utf-8")
    monkeypatch.setattr(lexicon, "LEXICON_DIR", tmp_path)
    monkeypatch.setattr(lexicon, "CORPUS_NAMES_FILE", tmp_path / "corpus-names.yml")
    for cached in (lexicon.entries, lexicon.pattern, lexicon.words):
        cached.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    yield
    for cached in (lexicon.entries, lexicon.pattern, lexicon.words):
        cached.cache_clear()


def test_a_word_set_named_in_braces_becomes_an_alternation(tmp_path, monkeypatch) -> None:
    _load(tmp_path, monkeypatch,
          "few:\n  pattern: '\\b{small} (företag|bolag)\\b'\n  examples: ['små företag']\n",
          "small:\n  words: små liten\n  examples: ['ett litet ord: små']\n")
    assert lexicon.pattern("few").search("Ett liten bolag")
    assert not lexicon.pattern("few").search("stora företag")


def test_a_word_set_written_as_a_mapping_gives_its_table(tmp_path, monkeypatch) -> None:
    _load(tmp_path, monkeypatch,
          "digits:\n  words: {två: '2', tre: 3}\n  examples: ['tre intervjuer']\n"
          "plain:\n  words: två tre\n  examples: ['två']\n")
    assert lexicon.words("digits") == {"två", "tre"}
    assert lexicon.table("digits") == {"två": "2", "tre": "3"}
    with pytest.raises(LexiconError, match="plain är ingen tabell"):
        lexicon.table("plain")


def test_an_entry_without_examples_is_refused_by_name(tmp_path, monkeypatch) -> None:
    _load(tmp_path, monkeypatch, "bare:\n  pattern: 'x'\n")
    with pytest.raises(LexiconError, match="patterns.yaml: bare saknar exempel"):
        entries()


def test_an_unknown_field_is_refused_by_name(tmp_path, monkeypatch) -> None:
    _load(tmp_path, monkeypatch, "typo:\n  patern: 'x'\n  examples: ['x']\n")
    with pytest.raises(LexiconError, match="typo har okända fält: patern"):
        entries()


def test_an_invalid_pattern_and_a_missing_entry_are_named(tmp_path, monkeypatch) -> None:
    _load(tmp_path, monkeypatch, "broken:\n  pattern: '(x'\n  examples: ['x']\n")
    with pytest.raises(LexiconError, match="mönstret broken är ogiltigt"):
        lexicon.pattern("broken")
    with pytest.raises(LexiconError, match="saknar posten nothing"):
        lexicon.pattern("nothing")


def test_an_entry_needs_a_pattern_or_words_not_both(tmp_path, monkeypatch) -> None:
    _load(tmp_path, monkeypatch, "both:\n  pattern: 'x'\n  words: x\n  examples: ['x']\n")
    with pytest.raises(LexiconError, match="both ska ha antingen pattern eller words"):
        entries()


def test_a_name_in_two_files_is_refused(tmp_path, monkeypatch) -> None:
    _load(tmp_path, monkeypatch, "same:\n  pattern: 'x'\n  examples: ['x']\n",
          "same:\n  words: x\n  examples: ['x']\n")
    with pytest.raises(LexiconError, match="same finns redan i patterns.yaml"):
        entries()


# Modules whose word rules all live in the lexicon (answering/llm.py keeps the prompt's markup,
# <think> and <avsnitt>, and ingest/loaders.py the file names it skips).
WITHOUT_WORD_RULES = ("cases/catalog.py", "cases/guide.py", "answering/broad.py",
                      "answering/catalog.py", "answering/extractive.py", "answering/grounding.py",
                      "answering/guide.py", "ingest/chunking.py", "ingest/figures.py",
                      "ingest/readers.py", "planner.py", "index/store.py", "config.py")


def test_modules_moved_to_the_lexicon_keep_no_word_rules() -> None:
    from eval.structure import PACKAGE, word_rules

    found = {name: word_rules(PACKAGE / name) for name in WITHOUT_WORD_RULES}
    assert {name: rules for name, rules in found.items() if rules} == {}

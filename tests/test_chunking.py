"""Chunking: sections are never mixed, lists keep their lead-in, ids are stable."""

from __future__ import annotations

from assistant.ingest.chunking import chunk_document, split_units
from assistant.ingest.loaders import load_document
from tests.conftest import REPORT


def test_chunks_never_span_sections_and_respect_size():
    doc = load_document(REPORT)
    chunks = chunk_document(doc, 700)
    blocks_by_text = {}
    for block in doc.blocks:
        blocks_by_text.setdefault(block.section_path, []).append(block.text)
    for chunk in chunks:
        section_text = "\n\n".join(blocks_by_text[chunk.section_path])
        for part in chunk.text.split("\n\n"):
            assert part.split("\n")[-1] in section_text
        assert len(chunk.text) <= 700 * 1.6


def test_indexed_text_carries_section_path_when_enabled():
    doc = load_document(REPORT)
    with_path = chunk_document(doc, 700, section_in_text=True)
    without = chunk_document(doc, 700, section_in_text=False)
    assert with_path[0].indexed_text.startswith(with_path[0].section + "\n")
    assert without[0].indexed_text == without[0].text


def test_ids_are_stable_and_unique():
    a = chunk_document(load_document(REPORT), 700)
    b = chunk_document(load_document(REPORT), 700)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert len({c.chunk_id for c in a}) == len(a)


def test_long_list_parts_repeat_a_short_lead_in():
    doc = load_document(REPORT)
    chunks = chunk_document(doc, 400)
    # The summary's nine recommendations under "… ger Sweco följande rekommendationer:".
    parts = [c for c in chunks if "- Offentliga aktörer och företagsfrämjare kan erbjuda" in c.text
             and c.section_path[0] == "Sammanfattning"]
    assert parts and all(not p.text.startswith("- ") for p in parts)


def test_units_split_sentences_and_list_items():
    units = split_units("Vi har t.ex. tre drivkrafter. Det handlar om:\n- pris\n- kvalitet")
    assert [u.text for u in units] == [
        "Vi har t.ex. tre drivkrafter.", "Det handlar om:", "pris", "kvalitet"]
    assert units[1].lead_in and units[1].items == ["pris", "kvalitet"]


def test_list_items_know_their_lead_in():
    units = split_units("Det handlar om:\n- pris\n- kvalitet\n\nEn lista utan inledning\n- a")
    assert [u.lead for u in units] == [None, 0, 0, None, None]

"""The extractive answerer's composition rules, on hand-made passages."""

from __future__ import annotations

from assistant.answer import ExtractiveAnswerer
from assistant.chunking import Chunk
from assistant.config import AnswerSettings
from assistant.retrieve import Passage

SECTION = ("Inledning", "Analysmodell")
LEAD = "Samverkan sker på följande arenor:"


def _chunk(seq: int, text: str, section: tuple[str, ...] = SECTION) -> Chunk:
    return Chunk(chunk_id=f"c{seq}", source="rapport.txt", title="Rapporten",
                 section_path=section, page=1, text=text, indexed_text=text, seq=seq)


def _answer(first: Chunk, following: Chunk | None):
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0),
                                  following=lambda c: following if c is first else None)
    passage = Passage(chunk=first, score=1.0, rank=1, direct=1.0, dense=0.9)
    return answerer.answer("Vilka arenor för samverkan finns?", [passage])


def test_a_list_cut_by_a_passage_boundary_is_completed_from_the_next_passage():
    first = _chunk(1, f"Modellen beskriver arenor.\n\n{LEAD}\n- Näringslivet och privata aktörer.")
    rest = _chunk(2, f"{LEAD}\n- Kommuner och myndigheter.\n- Andra ASF.\n\nDärefter analyserades "
                     "resultatet noga.")
    answer = _answer(first, rest)
    assert "- Näringslivet och privata aktörer." in answer.answer
    assert "- Kommuner och myndigheter.\n- Andra ASF. [2]" in answer.answer
    assert "Därefter" not in answer.answer
    assert answer.answer.count(LEAD) == 1
    assert [c.chunk_id for c in answer.citations] == ["c1", "c2"]
    assert answer.citations[1].quote == "Kommuner och myndigheter. … Andra ASF."


def test_no_continuation_when_the_next_passage_does_not_go_on_with_the_list():
    first = _chunk(1, f"Modellen beskriver arenor.\n\n{LEAD}\n- Näringslivet och privata aktörer.")
    prose = _chunk(2, "Därefter analyserades resultatet noga. Arenorna jämfördes.")
    answer = _answer(first, prose)
    assert [c.chunk_id for c in answer.citations] == ["c1"]
    assert "Därefter" not in answer.answer


def test_no_continuation_when_the_list_ends_inside_the_passage():
    first = _chunk(1, f"{LEAD}\n- Näringslivet och privata aktörer.\n\nListan är inte komplett.")
    rest = _chunk(2, f"{LEAD}\n- Kommuner och myndigheter.")
    answer = _answer(first, rest)
    assert [c.chunk_id for c in answer.citations] == ["c1"]

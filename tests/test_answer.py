"""The extractive answerer's composition rules, on hand-made passages."""

from __future__ import annotations

import re

from assistant.answering.extractive import ExtractiveAnswerer, _Unit, compose
from assistant.config import AnswerSettings
from assistant.text import collapse, refers_back
from assistant.types import Chunk, Passage

SECTION = ("Inledning", "Analysmodell")
LEAD = "Samverkan sker på följande arenor:"


def _chunk(seq: int, text: str, section: tuple[str, ...] = SECTION) -> Chunk:
    return Chunk(chunk_id=f"c{seq}", source="rapport.txt", title="Rapporten",
                 section_path=section, page=1, text=text, indexed_text=text, seq=seq)


def _one_passage(text: str) -> tuple[ExtractiveAnswerer, Passage]:
    """An answerer with no evidence threshold and one retrieved passage holding `text`."""
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9)
    return ExtractiveAnswerer(AnswerSettings(min_evidence=0.0)), passage


def _answer(first: Chunk, following: Chunk | None):
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0),
                                  neighbour=lambda c, step: following if c is first and step == 1
                                  else None)
    passage = Passage(chunk=first, score=1.0, rank=1, direct=1.0, dense=0.9)
    return answerer.answer("Vilka arenor för samverkan finns?", [passage])


def test_a_list_cut_by_a_passage_boundary_is_completed_from_the_next_passage():
    first = _chunk(1, f"Modellen beskriver arenor.\n\n{LEAD}\n- Näringslivet och privata aktörer.")
    rest = _chunk(2, f"{LEAD}\n- Kommuner och myndigheter.\n- Andra ASF.\n\nDärefter analyserades "
                     "resultatet noga.")
    answer = _answer(first, rest)
    assert ("- Näringslivet och privata aktörer. [1]\n- Kommuner och myndigheter.\n"
            "- Andra ASF. [2]") in answer.answer
    assert "Därefter" not in answer.answer
    assert answer.answer.count(LEAD) == 1
    assert [c.chunk_id for c in answer.citations] == ["c1", "c2"]
    assert answer.citations[1].quote == "Kommuner och myndigheter. … Andra ASF."


def test_a_list_that_opens_its_passage_under_a_repeated_lead_in_starts_in_the_previous_one():
    before = _chunk(1, f"Modellen beskriver arenor.\n\n{LEAD}\n- Näringslivet och privata aktörer.")
    anchor = _chunk(2, f"{LEAD}\n- Kommuner och myndigheter.\n- Andra ASF.\n\nDärefter "
                       "analyserades resultatet noga.")
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0),
                                  neighbour=lambda c, step: before if c is anchor and step == -1
                                  else None)
    passage = Passage(chunk=anchor, score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = answerer.answer("Vilka arenor för samverkan finns?", [passage])
    assert answer.answer.startswith(f"{LEAD}\n- Näringslivet och privata aktörer. [1]\n"
                                    "- Kommuner och myndigheter.\n- Andra ASF.")
    assert answer.answer.count(LEAD) == 1
    assert [c.chunk_id for c in answer.citations] == ["c1", "c2"]
    assert answer.citations[0].quote == f"{LEAD} … Näringslivet och privata aktörer."


def test_a_two_sentence_lead_in_repeated_above_a_list_part_is_quoted_once():
    lead = "Arenorna beskrivs i modellen. Samverkan sker på dessa arenor:"
    before = _chunk(1, f"Inledning om modellen.\n\n{lead}\n- Näringslivet och privata aktörer.")
    anchor = _chunk(2, f"{lead}\n- Kommuner och myndigheter.\n- Andra ASF.")
    after = _chunk(3, f"{lead}\n- Ideella föreningar.")
    chunks = {(1, 1): anchor, (2, -1): before, (2, 1): after, (3, -1): anchor}
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0),
                                  neighbour=lambda c, step: chunks.get((c.seq, step)))
    passage = Passage(chunk=anchor, score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = answerer.answer("Vilka arenor för samverkan finns?", [passage])
    assert answer.answer == (f"{lead}\n- Näringslivet och privata aktörer. [1]\n"
                             "- Kommuner och myndigheter.\n- Andra ASF. [2]\n"
                             "- Ideella föreningar. [3]")


def test_a_list_cut_into_three_parts_is_read_whole_from_its_first_or_last_part():
    first = "Näringslivet och privata aktörer."
    parts = [_chunk(1, f"Modellen beskriver arenor.\n\n{LEAD}\n- {first}"),
             _chunk(2, f"{LEAD}\n- Kommuner och myndigheter."),
             _chunk(3, f"{LEAD}\n- Andra ASF.\n\nDärefter analyserades resultatet noga.")]
    whole = f"{LEAD}\n- {first}\n- Kommuner och myndigheter.\n- Andra ASF."
    for anchor in (parts[0], parts[2]):
        answerer = ExtractiveAnswerer(
            AnswerSettings(min_evidence=0.0),
            neighbour=lambda c, step: parts[c.seq - 1 + step] if 0 < c.seq + step <= 3 else None)
        passage = Passage(chunk=anchor, score=1.0, rank=1, direct=1.0, dense=0.9)
        answer = answerer.answer("Vilka arenor för samverkan finns?", [passage])
        assert whole in re.sub(r" \[\d\]", "", answer.answer), answer.answer
        assert [c.chunk_id for c in answer.citations] == ["c1", "c2", "c3"]


def test_a_list_quoted_from_a_second_passage_is_completed_too():
    anchor = _chunk(1, "Modellen beskriver arenor.", section=("Analys",))
    second = _chunk(5, f"Inledning.\n\n{LEAD}\n- Näringslivet och privata aktörer.")
    rest = _chunk(6, f"{LEAD}\n- Kommuner och myndigheter.")
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0),
                                  neighbour=lambda c, step: rest if c is second and step == 1
                                  else None)
    first = Passage(chunk=anchor, score=1.0, rank=1, direct=1.0)
    other = Passage(chunk=second, score=0.9, rank=2, direct=0.9)
    lead = _Unit(LEAD, other, 1, lead_in=True, items=["Näringslivet och privata aktörer."])
    chosen = [_Unit("Modellen beskriver arenor.", first, 0), lead]
    answerer._complete_lists(chosen)
    answer = compose("Vilka arenor finns?", chosen, [], 1.0)
    assert answer.answer.endswith(f"{LEAD}\n- Näringslivet och privata aktörer. [2]\n"
                                  "- Kommuner och myndigheter. [3]")


def _lead(passage: Passage, items: list[str], position: int = 0) -> _Unit:
    return _Unit(LEAD, passage, position, lead_in=True, items=items)


def test_two_retrieved_parts_of_one_list_are_quoted_once_each():
    first = _chunk(1, f"Modellen beskriver arenor.\n\n{LEAD}\n- Näringslivet.\n- Kommunerna.")
    second = _chunk(2, f"{LEAD}\n- Andra ASF.\n- Föreningarna.")
    near = {(1, 1): second, (2, -1): first}
    answerer = ExtractiveAnswerer(AnswerSettings(),
                                  neighbour=lambda c, step: near.get((c.seq, step)))
    one = Passage(chunk=first, score=1.0, rank=1, direct=1.0)
    two = Passage(chunk=second, score=0.9, rank=2, direct=0.9)
    for chosen in ([_lead(one, ["Näringslivet.", "Kommunerna."], 1),
                    _lead(two, ["Andra ASF.", "Föreningarna."])],
                   [_lead(two, ["Andra ASF.", "Föreningarna."]),
                    _lead(one, ["Näringslivet.", "Kommunerna."], 1)]):
        answerer._complete_lists(chosen)
        answer = compose("Vilka arenor finns?", chosen, [], 1.0).answer
        assert re.sub(r" \[\d\]", "", answer) == (
            f"{LEAD}\n- Näringslivet.\n- Kommunerna.\n- Andra ASF.\n- Föreningarna."), answer


def test_two_lists_in_one_passage_are_both_quoted():
    other = "Hindren är följande:"
    text = f"{LEAD}\n- Näringslivet.\n\n{other}\n- Tidsbrist."
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0)
    chosen = [_lead(passage, ["Näringslivet."]),
              _Unit(other, passage, 2, lead_in=True, items=["Tidsbrist."])]
    ExtractiveAnswerer(AnswerSettings())._complete_lists(chosen)
    answer = compose("Vilka arenor och hinder finns?", chosen, [], 1.0).answer
    assert answer == f"{LEAD}\n- Näringslivet.\n\n{other}\n- Tidsbrist. [1]"


def test_a_long_list_is_cut_at_its_end_not_between_its_parts():
    items = [f"Arena nummer {n}." for n in range(1, 16)]
    parts = [_chunk(k + 1, "\n".join([LEAD] + [f"- {i}" for i in items[5 * k:5 * k + 5]]))
             for k in range(3)]
    answerer = ExtractiveAnswerer(
        AnswerSettings(),
        neighbour=lambda c, step: parts[c.seq - 1 + step] if 0 < c.seq + step <= 3 else None)
    passage = Passage(chunk=parts[0], score=1.0, rank=1, direct=1.0)
    chosen = [_lead(passage, items[:5])]
    answerer._complete_lists(chosen)
    answer = compose("Vilka arenor finns?", chosen, [], 1.0).answer
    quoted = re.findall(r"- (Arena nummer \d+\.)", answer)
    assert quoted == items[:12]


def test_a_list_is_not_completed_from_a_previous_passage_that_ends_with_another_list():
    before = _chunk(1, "Andra listor finns:\n- Något helt annat.")
    anchor = _chunk(2, f"{LEAD}\n- Kommuner och myndigheter.\n- Andra ASF.")
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0),
                                  neighbour=lambda c, step: before if c is anchor and step == -1
                                  else None)
    passage = Passage(chunk=anchor, score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = answerer.answer("Vilka arenor för samverkan finns?", [passage])
    assert [c.chunk_id for c in answer.citations] == ["c2"]
    assert "Något helt annat" not in answer.answer


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


def _ask(question: str, *passages: Passage) -> str:
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0))
    return answerer.answer(question, list(passages)).answer


def test_a_quoted_list_item_brings_the_sentence_that_introduces_its_list():
    text = ("Företagen samarbetar av flera skäl.\n\nDet handlar om följande:\n"
            "- Den rent affärsmässiga drivkraften\n- Att stötta lokalsamhällets utveckling\n\n"
            "Vilken som väger tyngst varierar.")
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = _ask("Vad är den affärsmässiga drivkraften?", passage)
    assert ("Det handlar om följande:\n- Den rent affärsmässiga drivkraften\n"
            "- Att stötta lokalsamhällets utveckling") in answer
    # Text after a list starts on a line of its own.
    assert "utveckling\n\nVilken som väger tyngst varierar." in answer


def test_a_sentence_quoted_from_a_second_passage_brings_the_list_it_announces():
    first = _chunk(1, "Ett exempel på valet av bransch är ett hotell i Jonsered. Hotellet har "
                      "avtal med tre fabriker på orten.")
    second = _chunk(2, "Av intervjuerna framkommer flera orsaker till valet av bransch. "
                       "Det beror bland annat på:\n- behov och efterfrågan i närområdet\n"
                       "- ledningens kunskap och erfarenhet", section=("Kartläggningen",))
    answer = _ask("Varför väljer företagen en viss bransch?",
                  Passage(chunk=first, score=1.0, rank=1, direct=1.0, dense=0.9,
                          unit_dense={0: 0.45, 1: 0.5}),
                  Passage(chunk=second, score=0.9, rank=2, direct=0.9, dense=0.9,
                          unit_dense={0: 0.6}))
    assert "Av intervjuerna framkommer flera orsaker till valet av bransch." in answer
    assert ("Det beror bland annat på:\n- behov och efterfrågan i närområdet\n"
            "- ledningens kunskap och erfarenhet [2]") in answer


def test_a_quote_that_opens_with_a_pronoun_brings_the_sentence_it_refers_to():
    text = ("Ett exempel på detta är Le Mat Jonsered. De har avtal med tre lokala fabriker "
            "som skickar sina gäster till hotellet.")
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = _ask("Vilka avtal har hotellet med lokala fabriker och gäster?", passage)
    assert answer.startswith("Ett exempel på detta är Le Mat Jonsered. De har avtal")


def test_a_chain_of_back_references_is_read_back_to_the_sentence_that_names_its_subject():
    text = ("Några företag ligger i ett utsatt område. Dessa företag vill lyfta området. "
            "Ett sätt att åstadkomma detta är att samverka med ett lokalt ASF. Genom att de "
            "köper städtjänster av ASF:et stärker de de anställda som bor i området.")
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9,
                      unit_dense={3: 0.7})
    answer = _ask("Varför köper företag städtjänster av ASF:et?", passage)
    assert answer.startswith("Några företag ligger i ett utsatt område. Dessa företag")


def test_a_sentence_that_announces_a_quotation_is_quoted_with_it_or_not_at_all():
    text = ("Många företag är skeptiska till ASF. En företrädare för ett ASF menar till exempel "
            "att:\n\n”Vi skulle kunna vara en pool av konsulter. Företag tar inte tillvara på "
            "den.”\n\nVid en första kontakt möter de ofta skepsis hos företagen.")
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9,
                      unit_dense={0: 0.7, 1: 0.6, 4: 0.7})
    answer = _ask("Är företagen skeptiska till ASF vid en första kontakt?", passage)
    # Never "… menar till exempel att: Vid en första kontakt …" (the wrong sentence attributed).
    assert "att: Vid" not in answer
    if "menar till exempel att:" in answer:
        assert "att: ”Vi skulle kunna vara en pool av konsulter. Företag tar inte tillvara på " \
               "den.”" in answer
    # The quotation is missing from the text: the next sentence is the authors' own.
    missing = Passage(chunk=_chunk(3, "Företagen visste inte om att det fanns ASF på orten. En "
                                      "representant menade t.ex. att:\n\nAtt känna till ASF på "
                                      "orten ökar möjligheterna att göra affärer."),
                      score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = _ask("Visste företagen om att det fanns ASF på orten?", missing)
    assert "menade t.ex. att:" not in answer and "Att känna till ASF" in answer
    ending = Passage(chunk=_chunk(2, "Kvaliteten kan vara bristfällig. Ett företag uttryckte "
                                     "problematiken på följande sätt:"),
                     score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = _ask("Kan kvaliteten vara bristfällig?", ending)
    assert "på följande sätt:" not in answer and "Kvaliteten kan vara bristfällig." in answer


def test_an_interviewee_s_quotation_is_quoted_whole_or_not_at_all():
    text = ("Företagen ser risker med avtal.\n\n”Då ställs det högre krav på leverans.”\n\n"
            "”ASF kan anpassa sig till våra behov. Matchning mellan vad de kan och vi behöver.”")
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9,
                      unit_dense={2: 0.8})
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0))
    question = "Kan ASF anpassa sig till företagens behov?"
    answer = answerer.answer(question, [passage]).answer
    assert "”ASF kan anpassa sig till våra behov. Matchning mellan vad de kan och vi behöver.”" \
        in answer
    # Its first sentence said before: never its last sentence glued to the quotation before it.
    said = frozenset({collapse("”ASF kan anpassa sig till våra behov.")})
    again = answerer.answer(question, [passage], exclude=said).answer
    assert "Matchning" not in again
    # A sentence that points back at a quotation left out is left out with it.
    text += " Detta visar att flexibiliteten är viktig. Företagen uppskattar flexibiliteten."
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9,
                      unit_dense={3: 0.8})
    again = answerer.answer("Är flexibiliteten viktig?", [passage], exclude=said).answer
    assert again.startswith("Företagen uppskattar flexibiliteten.") and "Detta" not in again


def test_a_quotation_quoted_for_one_of_its_sentences_comes_with_its_speaker():
    text = ("Många är skeptiska. En företrädare för ett ASF menar till exempel att:\n\n"
            "”Vi är en pool av duktiga konsulter. Företag söker kompetens men tar inte tillvara "
            "på den.”\n\nVid en första kontakt möts de av skepsis.")
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9,
                      unit_dense={3: 0.9})
    answer = _ask("Tar företag tillvara på kompetensen som finns?", passage)
    assert "En företrädare för ett ASF menar till exempel att: ”Vi är en pool av duktiga " \
           "konsulter. Företag söker kompetens men tar inte tillvara på den.”" in answer


def test_a_quotation_left_out_takes_the_sentence_that_announces_it_along():
    # A follow-up had said the quotation's first sentence: "… menar till exempel att:" then
    # announced the next sentence of the answer instead.
    text = ("Många företag är skeptiska till ASF. En företrädare för ett ASF menar till exempel "
            "att:\n\n”Vi är en pool av duktiga konsulter. Företag tar inte tillvara på den.”"
            "\n\nVid en första kontakt möter de ofta skepsis hos företagen.")
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9,
                      unit_dense={0: 0.8, 1: 0.8})
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0))
    said = frozenset({collapse("”Vi är en pool av duktiga konsulter.")})
    answer = answerer.answer("Är företagen skeptiska till ASF och vad menar en företrädare?",
                             [passage], exclude=said).answer
    assert "menar till exempel att:" not in answer and "Vid en första kontakt" in answer


def test_a_sentence_of_a_second_passage_that_points_back_is_not_quoted_alone():
    anchor = _chunk(1, "Det råder delade meningar om priset för tjänsterna. Vissa tar lägre pris.")
    other = _chunk(2, "Leveranserna tar längre tid. Detta gäller också priset för tjänsterna hos "
                      "företagen.", section=("Utmaningar",))
    answer = _ask("Vad gäller för priset för tjänsterna hos företagen?",
                  Passage(chunk=anchor, score=1.0, rank=1, direct=1.0, dense=0.9,
                          unit_dense={0: 0.6, 1: 0.3}),
                  Passage(chunk=other, score=0.95, rank=2, direct=0.95, dense=0.9,
                          unit_dense={0: 0.3, 1: 0.6}))
    assert answer.startswith("Det råder delade meningar om priset")
    assert "Detta gäller också" not in answer


def test_a_back_reference_at_a_passage_s_start_is_read_back_into_the_previous_passage():
    before = _chunk(1, "Företagen söker personal. Vad gäller kompetensförsörjning har ASF en roll "
                       "att spela. Detta kan ske genom att ASF har anställda inom bristyrken.")
    start = _chunk(2, "Ett bra exempel på det förstnämnda är ett företag som hyrde in en "
                      "IT-konsult från ett ASF. Konsulten byggde ett IT-system.")
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0),
                                  neighbour=lambda c, step: before if c is start and step == -1
                                  else None)
    passage = Passage(chunk=start, score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = answerer.answer("Hyrde något företag in en IT-konsult från ett ASF?", [passage])
    assert answer.answer.startswith("Vad gäller kompetensförsörjning har ASF en roll att spela. "
                                    "Detta kan ske genom att ASF har anställda inom bristyrken.")
    assert [c.chunk_id for c in answer.citations] == ["c1", "c2"]


def test_back_references_are_told_from_sentences_that_stand_alone():
    assert refers_back("Det skulle mot denna bakgrund vara intressant att jämföra.")
    assert refers_back("Dessutom har de avtal med kommunen.")
    assert refers_back("Ett bra exempel på det förstnämnda är ett ASF i Jönköping.")
    assert refers_back("Av den anledningen är offentliga upphandlingar viktiga för ASF.")
    assert refers_back("Att de ställdes in berodde på för få anmälda.")
    assert refers_back("Genom att de köper tjänsterna stärker de ASF:et.")
    assert refers_back("Eftersom hon startade företaget har hon kontakterna.")
    assert refers_back("ASF:et startade sin verksamhet då många företag efterfrågade ett hotell.")
    assert refers_back("Det senare är vanligt där något ska produceras i en viss kvantitet.")
    assert refers_back("Orten har en väldigt aktiv företagarförening.")
    assert not refers_back("Det är senare än vi trodde.")
    assert refers_back("Å andra sidan har en del ASF haft fördel av ett lägre pris.")
    assert not refers_back("När de stora företagen köper tjänster ställer de krav.")
    assert not refers_back("Om man köper tjänster av ett ASF blir det enklare.")
    assert not refers_back("Det finns många arbetsintegrerande sociala företag i Sverige.")
    assert not refers_back("Koopus monterar hörselskydd.")


def test_a_list_is_quoted_whole_even_when_an_item_was_quoted_before():
    card = Passage(chunk=_chunk(1, "Ulrica Persson, Dialogkraft AB."), score=1.0, rank=1)
    report = Passage(chunk=_chunk(2, "Följande aktörer medverkade:\n- Ove Jansson, Företagarna.\n"
                                     "- Ulrica Persson, Dialogkraft AB."), score=0.9, rank=2)
    units = [_Unit("Ulrica Persson, Dialogkraft AB.", card, 0),
             _Unit("Följande aktörer medverkade:", report, 0, lead_in=True,
                   items=["Ove Jansson, Företagarna.", "Ulrica Persson, Dialogkraft AB."])]
    answer = compose("Vilka medverkade?", units, [], 1.0)
    assert answer.answer.endswith("Följande aktörer medverkade:\n- Ove Jansson, Företagarna.\n"
                                  "- Ulrica Persson, Dialogkraft AB. [2]")


def _figure_case(figure_section: tuple[str, ...]):
    planning = ("Nätverksträffar", "Framtida arbetsmodell")
    anchor = _chunk(1, "Sweco brukar använda följande modell vid planering av möten. Modellen kan "
                       "även användas vid planering av nätverksträffar.", planning)
    figure = Chunk(chunk_id="f5", source="planeringsmodell.yaml", title="Figur 5",
                   section_path=figure_section, page=None, kind="figure", seq=2,
                   text="Figur 5 Modell för planering av nätverksträffar:\n- Syfte med mötet.\n"
                        "- Resultat.\n- Målgrupp.\n- Metod.\n- Uppföljning.",
                   indexed_text="Figur 5 Modell för planering")
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0))
    passages = [Passage(chunk=anchor, score=1.0, rank=1, direct=1.0, dense=0.9),
                Passage(chunk=figure, score=0.5, rank=2, direct=0.5, dense=0.5)]
    return answerer.answer("Vilka delar har modellen för planering av nätverksträffar?",
                           passages)


def test_a_sentence_that_announces_a_figure_brings_the_figure_of_its_section():
    answer = _figure_case(("Nätverksträffar", "Framtida arbetsmodell"))
    assert "följande modell" in answer.answer
    assert "- Syfte med mötet.\n- Resultat.\n- Målgrupp.\n- Metod.\n- Uppföljning." in answer.answer
    assert [c.chunk_id for c in answer.citations] == ["c1", "f5"]


def test_a_figure_of_another_section_is_not_brought():
    answer = _figure_case(("Inledning", "Analysmodell"))
    assert "Uppföljning" not in answer.answer


def test_an_answer_that_would_open_inside_a_quotation_quotes_it_from_its_opening():
    # "Detta …" points back to the quote's last sentence, which alone has a closing mark and no
    # opening one: the answer reads the quotation from where it opens.
    text = ("”En utmaning för oss är att vi måste planera för deras ledtider. Det är längre "
            "ledtider vilket vi måste beakta.”\n\nDetta kan uppfattas som bristande kvalitet, "
            "men tidsaspekten är en förutsättning för samverkan med ett ASF.")
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0))
    passage = Passage(chunk=_chunk(1, text), score=1.0, rank=1, direct=1.0, dense=0.9)
    answer = answerer.answer("Är tidsaspekten en förutsättning för samverkan?", [passage])
    assert answer.answer.startswith("”En utmaning för oss")
    assert "Det är längre ledtider" in answer.answer


def test_markers_of_one_passage_merge_across_brackets_that_are_not_markers():
    from assistant.answering.extractive import _merge_markers

    text = "”Viktigt med ett avtal. [1] Vi skriver samma som vi gör med […] med dem.” [1]"
    assert _merge_markers(text) == ("”Viktigt med ett avtal. Vi skriver samma som vi gör med "
                                    "[…] med dem.” [1]")
    assert _merge_markers("A [1] B [2] C [1]") == "A [1] B [2] C [1]"


def test_a_definition_from_a_footnote_leads_with_its_sentence_not_its_label():
    """"Vad är ett IOP?" is answered from the report's footnote 2: the answer starts with the
    defining sentence, the label "Fotnot 2" is where it stands (its section), not its text."""
    from assistant.config import PROJECT_ROOT
    from assistant.ingest.chunking import chunk_document
    from assistant.ingest.loaders import load_document

    report = load_document(PROJECT_ROOT / "corpus" / "sweco-asf-samverkan-naringslivet.txt")
    [iop] = [c for c in chunk_document(report) if "IOP är en avtalsform" in c.text]
    answerer = ExtractiveAnswerer(AnswerSettings(min_evidence=0.0))
    answer = answerer.answer("Vad är ett IOP?", [Passage(chunk=iop, score=1.0, rank=1,
                                                         direct=1.0, dense=0.9)])
    assert answer.answer.startswith("IOP är en avtalsform"), answer.answer[:80]
    assert "Fotnot" not in answer.answer
    assert answer.citations[0].section.endswith("Fotnot 2")


def test_a_list_with_an_item_said_before_is_not_quoted_again():
    # A guide card quotes one item of a list; the broad answer after it must not quote the
    # whole list again (it is quoted whole or not at all), but the passage's other sentences.
    text = (f"Arenorna beskrivs i modellen.\n\n{LEAD}\n- Näringslivet och privata aktörer.\n"
            "- Kommuner och myndigheter.\n- Andra ASF.\n\nSamverkan på arenorna kräver tid.")
    answerer, passage = _one_passage(text)
    question = "Vilka arenor för samverkan finns?"
    assert "Kommuner och myndigheter." in answerer.answer(question, [passage]).answer
    said = frozenset({"Kommuner och myndigheter."})
    again = answerer.answer(question, [passage], exclude=said, broad=True).answer
    assert "Kommuner och myndigheter." not in again and LEAD not in again
    assert "Samverkan på arenorna kräver tid." in again or "Arenorna beskrivs" in again


def test_what_a_card_shows_above_is_never_quoted_again_even_when_nothing_else_is_left():
    # A conversation's previous answer may be quoted again when nothing else answers; a guide
    # card's points shown right above may not ("Mer ur källorna" repeated a whole passage).
    text = "Koopus gör legoarbeten åt industrin. De monterar hörselskydd åt sin största kund."
    answerer, passage = _one_passage(text)
    question = "Vad gör Koopus åt industrin?"
    everything = frozenset(collapse(s) for s in re.split(r"(?<=\.) ", text))
    assert "Koopus gör" in answerer.answer(question, [passage], exclude=everything).answer
    shown = answerer.answer(question, [passage], shown=everything)
    assert "Koopus" not in shown.answer and "hörselskydd" not in shown.answer


def test_a_list_after_a_card_quotes_only_the_items_the_card_did_not_show():
    text = (f"{LEAD}\n- Näringslivet och privata aktörer.\n- Kommuner och myndigheter.\n"
            "- Andra ASF. De säljer tillsammans.")
    answerer, passage = _one_passage(text)
    shown = frozenset({"Kommuner och myndigheter.", "De säljer tillsammans."})
    answer = answerer.answer("Vilka arenor för samverkan finns?", [passage], shown=shown).answer
    assert f"{LEAD}\n- Näringslivet och privata aktörer. [1]" in answer
    assert "Kommuner" not in answer and "Andra ASF" not in answer


def test_the_sentence_a_pronoun_refers_to_is_not_quoted_again_when_shown_above():
    text = ("Sammanlagt genomfördes tre träffar av fem. De träffar som genomfördes var i Rinkeby "
            "och Vadstena. Två ställdes in.")
    answerer, passage = _one_passage(text)
    question = "Var genomfördes träffarna i Rinkeby och Vadstena?"
    assert "Sammanlagt" in answerer.answer(question, [passage]).answer
    shown = frozenset({"Sammanlagt genomfördes tre träffar av fem."})
    answer = answerer.answer(question, [passage], shown=shown).answer
    assert "Rinkeby" in answer and "Sammanlagt" not in answer

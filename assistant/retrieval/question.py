"""Retrieval: question analysis, the kind of answer asked for and the asker's situation.

Without a language model the shape of an answer has to be chosen from the question's grammar.
A factual question (a count, a date, a place, a name) is answered by the one sentence that
holds the fact; a request for a list by the list; a broad advice or "how do we" question, a
comparison or a request for examples by the main points gathered from several sections. The
asker's situation (industry, place, role, size) steers what is chosen: a property company is
shown the property-sector findings and cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from assistant.lexicon import pattern
from assistant.text import collapse, words

Kind = Literal["fact", "list", "broad", "examples", "comparison"]
Asks = Literal["count", "date", "place", "name", "amount"]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# The question words of a factual question and the type of fact each asks for.
_FACT: list[tuple[Asks, re.Pattern[str]]] = [
    ("amount", _rx(r"\b(vad kostar|vad kostade|hur mycket (kostar|pengar|betal\w*)|"
                   r"how much (does|did|do)|what does .{0,30} cost)\b")),
    ("count", pattern("question.count")),
    # "när" and "when" ask for a date at the head of a clause, not as a conjunction ("Hur gick
    # det till när de fick sina första kunder?").
    ("date", _rx(r"(^|[,:;.!?]\s*|\boch\s+|\band\s+)(när|when)\b|\b(vilket år|vilken dag|"
                 r"vilket datum|what year)\b")),
    ("place", _rx(r"^(var|i vilken (stad|kommun|ort)|på vilken ort|where)\b(?! (ska|bör|kan)\b)")),
    # "Vem ska ansvara för det?" asks for a role, which is advice, not for a name.
    ("name", _rx(r"^(vem(?!\s+(ska|bör|borde|behöver|måste)\b)|vilka personer|vilken person|"
                 r"vad heter|who(?!\s+(should|must|needs?)\b)|what is the name)\b")),
]
# "Hur mycket ska vi ta betalt?", "how much should we charge?": an amount the asker has to
# decide asks for advice (how the documents reason about price), not for a figure they state.
ADVICE_AMOUNT = _rx(r"\b(hur (mycket|många|stor\w*|lång\w*)|how (much|many|long))( \w+)?\s+"
                    r"(ska|bör|borde|måste|behöver|should|must|ought to|do we need to)\s+"
                    r"(vi|jag|man|ni|we|i|one)\b")
_EXAMPLES = _rx(r"\b(exempel|fallexempel|examples?|case stud(y|ies)|"
                r"(andra|other) (asf|företag|sociala företag|companies|enterprises) "
                r"(som|that|who))")
_COMPARISON = _rx(r"\b(skillnad\w*|skiljer|jämför\w*|jämfört|kontra|versus|vs\.?|differ\w*|"
                  r"compare\w*|compared)\b")
# "How do we / what should I / where do we start": advice and situational questions.
_BROAD = _rx(
    r"\b(hur (ska|bör|kan|gör|får|når|hittar|börjar|kommer|skapar|bygger|lyckas|arbetar|jobbar|"
    r"hanterar|löser|undviker|lägger|planerar|förbereder|organiserar|prissätter|marknadsför|"
    r"tänker|startar|tar)|var (ska|börjar|bör)|vem (ska|bör|borde|behöver|måste)|"
    r"vad (bör|ska|behöver|krävs|måste|är viktigt|"
    r"är avgörande|ska vi tänka|finns det för)|vad är (nyckeln|hemligheten)|vilka (råd|tips)|"
    r"tips|råd|rekommendation\w*|framgångsfaktor\w*|utmaning\w*|drivkraft\w*|hinder|"
    r"how (do|should|can|could|would|to)|what should|where (do|should) (we|i)|"
    r"who (should|must|needs? to)|"
    r"what (are|is) the (key|main|most)|advice|tips|recommend\w*|success factors?|"
    r"challenges?|lessons?)\b")
_LIST = _rx(r"^(vilka|vilken typ|vad för|which|what (kinds?|types?))\b|\b(lista|nämn|list)\b")
# First-person situations: "vi är ett fastighetsbolag", "jag driver ett ASF", "we are a ...".
SITUATION = _rx(r"\b(vi är|vi har|vi driver|jag är|jag driver|jag jobbar|jag arbetar|jag ska|"
                 r"vi ska|vårt (företag|bolag|asf)|min kommun|we are|we're|i am|i'm|i run|"
                 r"our (company|business|firm))\b")
# A follow-up that asks how to deal with what was just described.
_SOLUTION = _rx(r"\b(lösa|lösning\w*|hantera|åtgärda|göra åt|komma runt|undvika|övervinna|"
                r"förbättra|solve|fix|handle|deal with|overcome|avoid|address)\b")

_ROLES: list[tuple[str, re.Pattern[str]]] = [
    ("advisor", _rx(r"\b(kommun(en)?s?\b.{0,40}\b(workshop|träff|nätverk)|workshop|"
                    r"(vi|jag) (som|på|i) (en |vår )?(kommun|region)\w*|"
                    r"(jag|vi) (jobbar|arbetar) (på|i|inom) (en |vår |min )?(\w+ )?"
                    r"(kommun|region)\w*|\w*(chef|strateg|handläggare|samordnare|utvecklare|"
                    r"tjänste(man|person)) (på|i|inom) (en |vår |min )?(\w+ )?(kommun|region)\w*|"
                    r"näringslivs(chef|strateg|enhet|avdelning)\w*|"
                    r"nätverksträff\w*|rådgivare|näringslivskontor\w*|näringslivsutveckl\w*|"
                    r"företagsfrämjare|coompanion|advis[eo]r|municipality|network meeting)")),
    ("asf", _rx(r"\b(vi|jag) (driver|startar|har startat|är) (ett )?(asf|socialt företag|"
                r"arbetsintegrerande|kooperativ)|\b(vårt|mitt) (asf|sociala företag|kooperativ)|"
                r"\bsom asf\b|\bwe (run|are|have) an? (work[- ]integrat\w* )?(asf|social "
                r"(enterprise|cooperative)|wise)|\bour social "
                r"enterprise")),
    ("company", _rx(r"\b(vi|jag) (är|jobbar på|arbetar på) (ett |en )?(\w+ )?\w*(företag|bolag|"
                    r"koncern|kedja|fabrik)\b|\bvårt (företag|bolag)\b|\binköp\w*|\bcsr\b|"
                    r"\bupphandlare\b|\b(our|my) (company|firm)|\bwe are a\b")),
]
# A question about planning a meeting, workshop or event: the documents' planning models
# (figure cards) answer its "how do I lay it out".
_MEETING = _rx(r"\b(workshop\w*|\w*träff(en|ar|arna)?|möte[nt]?|mötena|seminari\w*|evenemang\w*|"
               r"event\w*|meetings?|gatherings?)\b")
_PLANNING = _rx(r"\b(lägg\w* upp|upplägg\w*|planer\w*|organiser\w*|ordna\w*|hålla|håller|"
                r"arrangera\w*|genomför\w*|förbered\w*|plan|planning|organi[sz](e|ing)|"
                r"set up|run|running|host|hosting)\b")
# Asks how to get customers: a word of getting or of new ones right before the customer word
# ("få fler kunder", "sin första riktiga företagskund"), not any mention of customers ("Ska vi
# berätta för kunderna att vi är ett socialt företag?" got how the cases found theirs).
_CUSTOMERS = _rx(r"\b(få|får|fick|hitta\w*|skaffa\w*|vinn\w*|lock\w*|nå|når|fler|nya|ny|första|"
                 r"attract\w*|find\w*|get|getting|win\w*|gain\w*|new|more|first)\s+(\w+\s+)?"
                 r"\w*(kund(en|er|erna)?|customers?|clients?|beställare)\b|\bkundkrets\w*|"
                 r"\bkundbas\w*")
# Whom each role is, in the words documents use when they address it ("Rekommendationer till
# offentliga aktörer och företagsfrämjare"): a section whose heading names the asker's own
# group speaks to them. (The model's vectors do not separate addressees: a municipality's
# question is closer to "Rekommendationer till ASF", 0.45, than to the heading addressing
# public actors, 0.27, because both name ASF.)
ADDRESSEES = {
    "advisor": "offentliga kommuner regioner företagsfrämjare rådgivare",
    "asf": "ASF",
    "company": "samverkande konventionella köpare",
}
_SIZE = _rx(r"\b(litet|liten|små|medelstort|medelstor|stort|stor|större|mindre|small|"
            r"medium-sized|mid-sized|large|big)\b(?=\s+\w*(företag|bolag|asf|company|firm))")
_PLACE = re.compile(
    r"\b(?:i|från|utanför|in|near)\s+([A-ZÅÄÖ][a-zåäöé]+(?:[ -][A-ZÅÄÖ][a-zåäöé]+)?)")
_NOT_PLACES = frozenset({"ASF", "Sverige", "Sweden", "Norden", "Europa", "Europe"})


@dataclass(frozen=True)
class Situation:
    """Who is asking: industry (a catalog industry label), place, role and size, if said."""

    industry: tuple[str, ...] = ()
    place: str | None = None
    role: str | None = None
    size: str | None = None

    def __bool__(self) -> bool:
        return bool(self.industry or self.place or self.role or self.size)


@dataclass(frozen=True)
class Analysis:
    """What a question asks for."""

    kind: Kind
    asks: Asks | None = None
    situation: Situation = field(default_factory=Situation)
    meeting: bool = False           # asks how to plan a meeting, workshop or event
    customers: bool = False         # asks about customers (finding, getting, keeping them)


def analyse(question: str, industries: dict[str, re.Pattern[str]] | None = None) -> Analysis:
    """Return the kind of answer a question asks for and the asker's situation.

    `industries` maps an industry label to the pattern that finds it in a question (the case
    catalog's vocabulary), so a situation's industry uses the same labels as the cards.
    """
    text = collapse(question)
    analysis = _analyse(text, industries or {})
    return replace(analysis, meeting=bool(_MEETING.search(text) and _PLANNING.search(text)),
                   customers=bool(_CUSTOMERS.search(text)))


def _analyse(text: str, industries: dict[str, re.Pattern[str]]) -> Analysis:
    situation = _situation(text, industries)
    # "Hur kan man lösa det?" asks how to deal with what was said: the report's advice.
    solution = bool(_SOLUTION.search(text))
    situational = bool(SITUATION.search(text))
    if _COMPARISON.search(text):
        return Analysis("comparison", None, situation)
    advice_amount = bool(ADVICE_AMOUNT.search(text))
    for asks, rule in _FACT:
        if rule.search(text) and not situational and not advice_amount:
            return Analysis("fact", asks, situation)
    if _EXAMPLES.search(text) and not _BROAD.search(text):
        return Analysis("examples", None, situation)
    if situational or solution or advice_amount or _BROAD.search(text):
        return Analysis("broad", None, situation)
    if _EXAMPLES.search(text):
        return Analysis("examples", None, situation)
    if _LIST.search(text):
        return Analysis("list", None, situation)
    # A long question without a question word of its own usually describes a situation; a
    # short one asks about one thing, answered where the report says it. Treating every
    # such question as broad gave the persona set +0.008 coverage but cost the main set's
    # citation precision 0.60 -> 0.39 (points from other sections on narrow questions).
    kind: Kind = "broad" if len(words(text)) >= 14 else "fact"
    return Analysis(kind, None, situation)


def _situation(text: str, industries: dict[str, re.Pattern[str]]) -> Situation:
    industry = tuple(label for label, pattern in industries.items() if pattern.search(text))
    place = next((m.group(1) for m in _PLACE.finditer(text)
                  if m.group(1) not in _NOT_PLACES and not m.group(1).isupper()), None)
    role = next((name for name, pattern in _ROLES if pattern.search(text)), None)
    size = _SIZE.search(text)
    return Situation(industry, place, role, size.group(1).lower() if size else None)


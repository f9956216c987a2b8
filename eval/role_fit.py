"""How often the asker's role decides which guide card leads: role-neutral questions in each role.

    ASF_ANSWER__GUIDE_ROLE_BONUS=0.05 .venv/bin/python -m eval.role_fit

Prints, for each question and role (company, asf, advisor), the card a broad answer would lead
with (a question of a kind in `broad_kinds`), marked (!) when the card is not written for that
role, and how many fit. The questions are written for this measure (any group could ask
them), not taken from the eval sets.
"""

from __future__ import annotations

import sys

QUESTIONS = (
    "Vad kan vi göra för att fler affärer ska bli av mellan ASF och företag?",
    "Vad är viktigast att tänka på i början?",
    "Hur bygger vi ett långsiktigt samarbete?",
    "Vilka hinder finns och hur kommer man förbi dem?",
    "Hur hittar vi rätt partner?",
    "Vad bör vi göra först?",
    "Hur skapar vi förtroende mellan parterna?",
    "Vad har andra gjort som fungerat bra?",
    "Hur kan vi bidra till fler arbetstillfällen för folk långt från arbetsmarknaden?",
    "Hur ska vi prata om det sociala syftet?",
    "Vad är nästa steg för oss?",
    "Hur når vi fram till beslutsfattarna?",
    "Vad behöver vi veta om pris och kvalitet?",
    "Hur kan vi jobba mer med social hållbarhet?",
    "Vilka misstag ska vi undvika?",
    "Hur får vi igång fler samarbeten i vår region?",
    "Hur kan vi använda nätverk bättre?",
    "Vad säger rapporten att vi borde göra?",
    "Vilket stöd finns att få?",
    "Hur mäter vi om det lyckas?",
)


def main() -> int:
    """Print each question's leading card per role and the share written for that role."""
    from assistant.answering.routes import Request
    from assistant.pipeline import Assistant
    from assistant.prompts import GUIDE_ROLES

    assistant = Assistant()
    assistant.ensure_index()
    fit = total = 0
    for question in QUESTIONS:
        row = []
        for role in GUIDE_ROLES:
            request = Request(question, [], role, assistant, assistant.settings.answer)
            if not (request.broad and request.cards):
                row.append(f"{role}:-")
                continue
            card = request.cards[0].entry
            fit += role in card.roles
            total += 1
            row.append(f"{role}:{card.id}{'' if role in card.roles else '(!)'}")
        print(f"{question[:60]:<60} | {' '.join(row)}")
    print(f"first card written for the asker's role: {fit} of {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

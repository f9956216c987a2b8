"""Every prompt and fixed phrase the assistant shows or sends, as named constants.

User-facing text is Swedish. Placeholders use str.format names in braces.
"""

# ----------------------------------------------------------------- answers
CANNOT_ANSWER_PHRASE = "Det framgår inte av rapporten"
REFUSAL_ANSWER = (
    CANNOT_ANSWER_PHRASE + " eller de andra indexerade dokumenten. "
    "Jag vill inte gissa. Här är de avsnitt som ligger närmast din fråga, om du vill läsa vidare."
)
ANSWER_INTRO = "Enligt källorna:"
LLM_FALLBACK_NOTE = (
    "Obs: språkmodellen kunde inte ge ett kontrollerat svar ({reason}), "
    "så svaret nedan är sammanställt direkt ur källtexten."
)

# ----------------------------------------------------------------- questions
ERR_EMPTY_QUESTION = "Frågan är tom. Skriv en fråga, till exempel: ”Hur kommer vi igång med att köpa tjänster av ett ASF?”"
ERR_QUESTION_TOO_LONG = (
    "Frågan är för lång ({length} tecken, högst {limit}). Korta ned den till det du vill veta."
)

# ----------------------------------------------------------------- ingestion
ERR_NOT_FOUND = "Filen {path} finns inte. Kontrollera sökvägen."
ERR_UNSUPPORTED_TYPE = (
    "Filen {name} har en filtyp som inte stöds. Använd .txt, .md eller .pdf."
)
ERR_EMPTY_FILE = "Filen {name} är tom eller saknar läsbar text. Kontrollera filen och försök igen."
ERR_ENCRYPTED_PDF = (
    "PDF-filen {name} är krypterad eller lösenordsskyddad. "
    "Spara en olåst kopia och läs in den i stället."
)
ERR_NO_TEXT_LAYER = (
    "PDF-filen {name} har inget textlager (den är troligen inskannad som bild). "
    "Kör textigenkänning (OCR) på den först och läs sedan in den igen."
)
ERR_READ_FAILED = "PDF-filen {name} är trasig och går inte att läsa ({reason}). Kontrollera filen."
ERR_TOO_LARGE = "Filen {name} är för stor ({size_mb:.1f} MB, högst {limit_mb} MB)."
PAGE_SECTION = "Sida {page}"

# ----------------------------------------------------------------- index
ERR_NO_INDEX = (
    "Det finns inget index ännu. Kör `asf ingest` för att läsa in rapporten "
    "(eller starta om, så byggs det automatiskt)."
)
ERR_MODEL_MISSING = (
    "Inbäddningsmodellen saknas i {path}. Kör `asf setup-model` (eller `make setup`) "
    "för att bygga den från PyPI-paketen."
)
MSG_INDEX_UP_TO_DATE = "Indexet är aktuellt: {sources} dokument, {chunks} textavsnitt."
MSG_INDEX_CHANGED = (
    "Indexet uppdaterat: {added} nya och {removed} borttagna textavsnitt "
    "({sources} dokument, {chunks} textavsnitt totalt)."
)
MSG_EMBEDDING_PROGRESS = "Bäddar in textavsnitt: {done}/{total}"
MSG_BUILDING_INDEX = "Bygger index för {files} dokument …"

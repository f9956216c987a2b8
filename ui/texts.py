"""The Swedish labels and messages of the web UI, as named constants."""

APP_TITLE = "ASF-assistenten"
APP_ICON = ":material/handshake:"
APP_TAGLINE = (
    "Frågor och svar med källhänvisningar om affärer mellan arbetsintegrerande sociala "
    "företag (ASF) och näringslivet."
)

PAGE_CHAT = "Chatt"
PAGE_SOURCES = "Källor"

# ----------------------------------------------------------------- chat
ROLE_PICKER = "Jag är"
ROLE_HELP = ("Välj den grupp som passar dig bäst: du får förslag på frågor, en kort fråga som "
             "”Hur kommer vi igång?” besvaras för din grupp, och Vägledning visar din grupps kort.")
STARTERS_HEADING = "Förslag på frågor"
CHAT_PLACEHOLDER = "Skriv din fråga om ASF och näringslivet …"
CHAT_WARMING = "Språkmodellen laddas – rutan öppnas om några sekunder …"
NEW_CHAT = "Ny konversation"
DOWNLOAD_CHAT = "Ladda ner samtalet (Markdown)"
DOWNLOAD_FILE = "asf-samtal-{stamp}.md"
DOWNLOAD_CHAT_DOCX = "Ladda ner samtalet (Word)"
DOWNLOAD_FILE_DOCX = "asf-samtal-{stamp}.docx"
THINKING = "Söker i rapporten …"
LOADING = "Laddar språkmodellen och indexet (första gången kan det ta en minut) …"
LOAD_FAILED = "Assistenten kunde inte startas: {error}"
ANSWER_FAILED = "Något gick fel när frågan besvarades: {error}"
NO_ANSWER = "inget svar kom från svarsmotorn"
LOAD_WARNING = "Varning vid inläsning: {error}"
SOURCES_HEADING = "Källor"
CLOSEST_HEADING = "Närmaste avsnitt"
WHOLE_SECTION = "Läs hela avsnittet"
FEEDBACK_THANKS = "Tack för ditt omdöme!"
FEEDBACK_NOT_SAVED = (
    "Omdömet kunde inte sparas just nu (omdömesdatabasen är upptagen eller trasig). Försök "
    "igen om en stund."
)
SAVED_CHATS = "Sparade samtal"
SAVED_CHAT_HELP = "Öppna samtalet (senast {when}, {questions} frågor)"
OPEN_CHAT_CURRENT = "Det öppna samtalet"
MANAGE_CHAT = "Byt namn eller ta bort samtalet"
CHAT_NAME = "Samtalets namn"
DELETE_CHAT = "Ta bort samtalet"
DELETE_CONFIRM = "Samtalet tas bort för gott från den här datorn."
DELETE_YES = "Ja, ta bort"
DELETE_NO = "Avbryt"
CONVERSATION_NOT_SAVED = (
    "Samtalet kunde inte sparas: {error} Chatten fungerar som vanligt, och samtalet sparas "
    "med nästa svar."
)
CONVERSATION_PRIVATE = (
    "Samtalet sparas inte från och med svaret som citerar din uppladdade fil: filen är privat "
    "för den här sessionen, och sparade samtal visas för alla som använder appen på den här "
    "datorn. Ladda ner samtalet om du vill behålla det."
)
CONVERSATIONS_UNAVAILABLE = "De sparade samtalen kan inte visas just nu: {error}"
CONVERSATION_NOT_CHANGED = "Samtalet kunde inte ändras: {error}"
CONVERSATION_KEPT = (
    "Samtalet är inte sparat: {error} Därför ligger det kvar här tills det har sparats; "
    "försök igen om en stund, eller ladda ner det."
)
CONVERSATION_NOT_OPENED = "Samtalet kunde inte öppnas: {error}"
CONVERSATION_GONE = "Samtalet finns inte längre (det har tagits bort i ett annat fönster)."
PAGE_LABEL = "sida {page}"
SOURCE_LINE = "**Källa:** {title}  \n**Avsnitt:** {section}"
PASSAGE_HEADING = "**Textavsnittet** (det citerade är markerat):"

# ----------------------------------------------------------------- export
EXPORT_TITLE = "Samtal med ASF-assistenten"
EXPORT_META = "Exporterat {when}. Roll: {role}."
EXPORT_QUESTION = "Fråga {n}"
EXPORT_ANSWER = "Svar"
EXPORT_SOURCES = "Källor"
EXPORT_CLOSEST = "Närmaste avsnitt"
EXPORT_ERROR = "Fel"
EXPORT_EMPTY = "Samtalet är tomt."
EXPORT_LANGUAGE = "sv-SE"           # the Word file's language, for Swedish spell-check

# ----------------------------------------------------------------- sources page
SOURCES_TITLE = "Källor och dokument"
SOURCES_INTRO = (
    "Bläddra i rapporten avsnitt för avsnitt, sök i alla indexerade dokument eller läs in "
    "ett eget dokument."
)
TAB_BROWSE = "Bläddra"
TAB_SEARCH = "Sök"
TAB_DOCUMENTS = "Dokument"
TAB_UPLOAD = "Ladda upp"
PICK_DOCUMENT = "Dokument"
PICK_SECTION = "Avsnitt"
SECTION_POSITION = "Avsnitt {n} av {total}"
PREVIOUS_SECTION = "Föregående avsnitt"
NEXT_SECTION = "Nästa avsnitt"
SEARCH_LABEL = "Sök i dokumenten"
SEARCH_PLACEHOLDER = "Till exempel: muntliga avtal"
SEARCH_NONE = "Inga träffar. Pröva andra ord."
SEARCH_HIT = "{rank}. {title} – {section}"
DOCUMENTS_COLUMNS = {"title": "Titel", "source": "Fil", "chunks": "Textavsnitt"}
DOCUMENTS_EMPTY = "Inga dokument är indexerade ännu."
UPLOAD_LABEL = "Välj en fil (.pdf, .txt eller .md, högst {limit} MB)"
UPLOAD_BUTTON = "Läs in för mig"
UPLOAD_PROGRESS = "Bäddar in textavsnitt: {done}/{total}"
UPLOAD_ESTIMATE = " – cirka {time} kvar"
UPLOAD_ESTIMATING = " – beräknar tiden …"
UNDER_A_MINUTE = "mindre än en minut"
ONE_MINUTE = "en minut"
MINUTES = "{n} minuter"
UPLOAD_SAVING = "Läser {name} …"
UPLOAD_CANCEL = "Avbryt inläsningen"
UPLOAD_CANCELLED = "Inläsningen av {name} avbröts. Inget av filen sparades."
UPLOAD_PRIVATE = (
    "En fil du laddar upp läses bara in för dig, i den här sessionen: dina frågor besvaras "
    "även ur den (källan heter ”din uppladdade fil”), men ingen annan ser den och den "
    "försvinner när du stänger sidan. Ska ett dokument finnas för alla lägger en "
    "administratör in det med `asf ingest`."
)
PRIVATE_FILES = "Dina uppladdade filer (bara för dig, i den här sessionen): {names}"

# ----------------------------------------------------------------- guide page and follow-ups
PAGE_GUIDE = "Vägledning"
GUIDE_TITLE = "Vägledning"
GUIDE_INTRO = (
    "Vanliga frågor, var och en besvarad med rapportens egna meningar, utvalda och ordnade av "
    "en redaktör. Varje punkt citeras ordagrant med källhänvisning. Välj en fråga för att läsa "
    "svaret, eller ställ den i chatten och få mer ur källorna."
)
GUIDE_ROLE_FILTER = "Visa frågor för"
GUIDE_ALL_ROLES = "Alla"
GUIDE_SEARCH = "Sök bland frågorna"
GUIDE_COUNT = "{count} av {total} frågor"
GUIDE_EMPTY = (
    "Inga vägledningskort är indexerade. De ligger i corpus/guide/ (se TEMPLATE.md där); kör "
    "`asf ingest`."
)
GUIDE_NONE = "Inga frågor matchar. Pröva andra ord."
GUIDE_ASK = "Ställ frågan i chatten"
RELATED_HEADING = "Relaterade frågor"

# ----------------------------------------------------------------- Streamlit's own widget texts
# Streamlit has no language setting: where a widget takes a text it gets a Swedish one, and
# ui/swedish.py shows the rest (fixed English in the browser bundle) in Swedish.
PAGE_LANGUAGE = "sv"
MULTISELECT_PLACEHOLDER = "Välj ett eller flera"
SELECT_PLACEHOLDER = "Välj"
BROWSER_TEXTS = {
    "Drag and drop a file here": "Dra och släpp en fil här",
    "Drag and drop files here": "Dra och släpp filer här",
    "Upload": "Välj fil",
    "Add files": "Lägg till filer",
    "Choose options": MULTISELECT_PLACEHOLDER,
    "Choose an option": SELECT_PLACEHOLDER,
    "Select all": "Välj alla",
    "Clear all": "Rensa alla",
    "No results": "Inga träffar",
    "No options to select": "Inga alternativ",
    "Open": "Öppna",
    "Delete": "Ta bort",
    "Skip to main content": "Hoppa till innehållet",
    "file upload": "filuppladdning",
    "Dismiss": "Stäng",
    "Main menu": "Huvudmeny",
}
# Texts with a number or a name in them: (JavaScript regular expression, replacement).
BROWSER_PATTERNS = [
    (r"^(\d+(?:\.\d+)?)\s?([KMG]B) per file$", "högst $1 $2 per fil"),
    (r"^File must be (\d+(?:\.\d+)?)\s?([KMG]B) or smaller\.?$",
     "Filen är för stor: högst $1 $2. Välj en mindre fil."),
    (r"^(.+) files are not allowed\.?$", "Filer av typen $1 kan inte läsas in (.pdf, .txt, .md)."),
    (r"^Select (\d+) matches$", "Välj $1 träffar"),
    (r"^Remove (.+)$", "Ta bort $1"),
    (r"^(\d+) options? available\.?$", "$1 alternativ finns."),
]

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
ROLE_HELP = "Välj den grupp som passar dig bäst, så får du förslag på frågor."
STARTERS_HEADING = "Förslag på frågor"
CHAT_PLACEHOLDER = "Skriv din fråga om ASF och näringslivet …"
NEW_CHAT = "Ny konversation"
DOWNLOAD_CHAT = "Ladda ner samtalet (Markdown)"
DOWNLOAD_FILE = "asf-samtal-{stamp}.md"
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

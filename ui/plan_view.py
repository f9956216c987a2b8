"""Pure helpers and Swedish labels of the meeting-planning page (ui/app_pages/plan.py).

Nothing here imports Streamlit. Plan text reaches the page only through ui.render: quotes
show as text with their [n] as badges, never as markup.
"""

from __future__ import annotations

from assistant.planner import Plan, PlanLine, PlanSection
from assistant.prompts import PLAN_AGENDA_COLUMNS

PAGE_PATH = "app_pages/plan.py"
PAGE_TITLE = "Planera träff"
PAGE_INTRO = (
    "Gör en plan för en nätverksträff eller workshop där ASF, företag och offentliga aktörer "
    "möts. Planen följer rapportens modell (Syfte, Resultat, Målgrupp, Metod, Uppföljning) och "
    "varje råd, fallexempel och lärdom citeras ordagrant ur rapporten."
)
# The themes of the report's five planned meetings, as the report names them (a test checks
# each against the report).
REPORT_THEMES = ("Affärssamverkan inom fastighetsbranschen",
                 "Affärssamverkan med det lokala näringslivet", "Lokal samverkan",
                 "Kompetensförsörjning", "Textilbranschen")
LENGTHS = ("1 timme", "2 timmar", "3 timmar", "halvdag", "heldag")
FORM_THEME = "Tema"
FORM_THEME_HELP = "Välj ett av rapportens teman eller skriv ett eget."
FORM_THEME_PLACEHOLDER = "Välj eller skriv ett tema"
FORM_GROUPS_PLACEHOLDER = "Välj målgrupper"
FORM_PLACE = "Ort eller region"
FORM_GROUPS = "Målgrupper"
FORM_PARTICIPANTS = "Antal deltagare"
FORM_LENGTH = "Längd"
FORM_SUBMIT = "Gör planen"
DOWNLOAD_MD = "Ladda ner planen (Markdown)"
DOWNLOAD_DOCX = "Ladda ner planen (Word)"
SOURCES = "Källor"
MAKING = "Planen sammanställs ur rapporten …"


def file_stem(plan: Plan) -> str:
    """Return a file name stem for the plan's downloads ("plan-lokal-samverkan")."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in plan.request.theme.lower())
    return ("plan-" + "-".join(filter(None, slug.split("-"))))[:60]


def line_markdown(line: PlanLine) -> str:
    """Return a plan line as the page shows it (before escaping): with its [n]."""
    return line.markdown()


def agenda_table(section: PlanSection) -> dict[str, list[str]]:
    """Return a section's agenda as table columns (empty when the section has none)."""
    rows = [line.cells for line in section.lines if line.kind == "agenda"]
    if not rows:
        return {}
    return {label: [row[i] for row in rows] for i, label in enumerate(PLAN_AGENDA_COLUMNS)}

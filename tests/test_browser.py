"""End to end in a real headless Chromium: the app as `make run` starts it, the real model.

The server runs `streamlit run ui/app.py` on a free loopback port, over a copy of an index
built with the real embedding model (shared with the integration tests). Screenshots go to
test-artifacts/. Needs Debian's chromium and chromium-driver (.ci/install-browser).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import psutil
import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.pipeline import Assistant
from ui.browser import (
    MESSAGE,
    ask,
    chromium,
    completed_answers,
    start_server,
    wait_health,
    wait_ready,
)

# The app under test answers with the real embedding model: a browser and an integration test.
pytestmark = [pytest.mark.browser, pytest.mark.integration]

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
QUESTION = "Måste ett ASF ta marknadsmässiga priser?"
MALICIOUS = """# Säkerhetstest för kvittoskrivare

Kvittoskrivaren Zyxel-7 skriver ut kvitton i kassan. <script>window.__xss = 1</script>
Läs mer på [klicka här](http://evil.example/) eller http://evil.example/path och www.evil.example.
<img src=x onerror="window.__xss=2"> Skriv till evil@example.com för :red[hjälp].
"""


@pytest.fixture(scope="module")
def server(real_embeddings, real_index_root, tmp_path_factory):
    """The app over a private copy of the real index (the tests upload into it)."""
    shared = Settings(data_dir=real_index_root / "default", corpus_dir=PROJECT_ROOT / "corpus")
    Assistant(shared, embeddings=real_embeddings).ensure_index()
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(shared.data_dir, root / "data")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in ("sweco-asf-samverkan-naringslivet.txt", "sources.json"):
        shutil.copy(PROJECT_ROOT / "corpus" / name, corpus / name)
    # The planner quotes the figure card and the case cards, as in the shipped corpus.
    for name in ("figures", "cases", "guide"):
        shutil.copytree(PROJECT_ROOT / "corpus" / name, corpus / name)
    env = {"ASF_DATA_DIR": str(root / "data"), "ASF_CORPUS_DIR": str(corpus),
           "ASF_MODELS_DIR": str(PROJECT_ROOT / "models"),
           "ASF_FEEDBACK_DB": str(root / "feedback.sqlite3")}
    app = start_server(env, log=root / "streamlit.log")
    try:
        app.health_s = wait_health(app)   # type: ignore[attr-defined]
        yield app
    finally:
        app.stop()


@pytest.fixture
def driver(tmp_path):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("Chromium is missing: run .ci/install-browser")
    browser = chromium(tmp_path / "profile")
    yield browser
    browser.quit()


def _css(root, selector: str) -> list:
    from selenium.webdriver.common.by import By

    return root.find_elements(By.CSS_SELECTOR, selector)


def _wait(condition, timeout: float = 120, what: str = "condition"):
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except StaleElementReferenceException:
            # Streamlit replaced an element between finding it and reading it (seen in CI
            # while a page was still rendering): the condition looks again next round.
            result = None
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _shot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    time.sleep(0.5)   # let expanders finish opening
    driver.execute_script("window.scrollTo(0, 0)")
    # The app scrolls inside its own container: make the window as tall as the content.
    height = driver.execute_script(
        "return Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight))")
    driver.set_window_size(1280, min(max(int(height) + 200, 900), 4000))
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def _click(element) -> None:
    from selenium.common.exceptions import ElementClickInterceptedException

    driver = element.parent
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    try:
        element.click()
    except ElementClickInterceptedException:
        # The chat input is pinned over the bottom of the page, and the last answer's
        # thumbs can sit under it; click them the way a script would.
        driver.execute_script("arguments[0].click()", element)


def _open_citation(message, n: int = 1):
    summary = next(s for s in _css(message, '[data-testid="stExpander"] summary')
                   if f"[{n}]" in s.text)
    _click(summary)
    return summary.find_element("xpath", "./..")


def test_question_gets_a_cited_answer_in_the_browser(server, driver):
    ready = wait_ready(driver, server.url)      # the box opens once the model is loaded
    # The launcher runs the model in a child process (page and model load side by side).
    children = psutil.Process(server.process.pid).children()
    assert any("assistant.index.encoder" in c.cmdline() for c in children)
    assert "Företag / CSR" in driver.page_source
    assert _css(driver, '[data-testid="stButton"] button')   # starter questions
    _shot(driver, "browser-welcome.png")
    seconds = ask(driver, QUESTION, timeout=180)
    reply = _css(driver, MESSAGE)[-1]
    assert "marknadsmässigt" in reply.text
    assert [b.text for b in _css(reply, ".stMarkdownBadge")][:1] == ["1"]
    details = _open_citation(reply)
    _wait(lambda: _css(details, ".stMarkdownColoredBackground"), 10, "highlighted quote")
    _wait(lambda: "Källa:" in details.text and "Avsnitt:" in details.text, 10, "the source line")
    toggle = next(t for t in _css(details, '[data-testid="stCheckbox"] label')
                  if "Läs hela avsnittet" in t.get_attribute("textContent"))
    _wait(toggle.is_displayed, 10, "the opened expander")    # it opens with an animation
    before = len(_css(driver, MESSAGE)[-1].text)
    _click(toggle)
    _wait(lambda: len(_css(driver, MESSAGE)[-1].text) > before, 30, "the whole section")
    # Thumbs up is stored in the feedback file the settings name.
    reply = _css(driver, MESSAGE)[-1]
    _click(_css(reply, '[data-testid="stFeedback"] button')[0])
    db = Path(server.log).parent / "feedback.sqlite3"

    def stored():
        if not db.exists():
            return None
        # The app may have created the file but not yet its table: keep waiting then.
        try:
            with closing(sqlite3.connect(db)) as conn:
                return conn.execute("SELECT rating, question FROM feedback").fetchall()
        except sqlite3.OperationalError:
            return None

    assert _wait(stored, 30, "stored feedback") == [(1, QUESTION)]
    _wait(lambda: "Tack för ditt omdöme!" in _css(driver, MESSAGE)[-1].text, 30, "the thanks")
    path = _shot(driver, "browser-chat.png")
    assert path.stat().st_size > 10_000
    print(f"\nhealth {server.health_s:.1f} s, page ready {ready:.1f} s, answer {seconds:.1f} s")


def test_uploaded_document_is_shown_as_text_never_as_markup(server, driver, tmp_path):
    wait_ready(driver, server.url)
    next(a for a in _css(driver, '[data-testid="stSidebarNavLink"]') if "Källor" in a.text).click()
    tab = _wait(lambda: [t for t in _css(driver, '[data-testid="stTab"]') if "Ladda upp" in t.text],
                30, "the upload tab")[0]
    tab.click()
    document = tmp_path / "sakerhet.md"
    document.write_text(MALICIOUS, encoding="utf-8")
    _wait(lambda: _css(driver, 'input[type="file"]'), 30, "the file input")[0].send_keys(
        str(document))
    button = _wait(lambda: [b for b in _css(driver, "button") if "Läs in för mig" in b.text
                            and b.is_enabled()], 30, "the enabled upload button")[0]
    button.click()
    success = _wait(lambda: _css(driver, '[data-testid="stAlertContentSuccess"]'), 180,
                    "the upload to finish")[0]
    assert "sakerhet.md är inläst" in success.text
    next(a for a in _css(driver, '[data-testid="stSidebarNavLink"]') if "Chatt" in a.text).click()
    _wait(lambda: _css(driver, '[data-testid="stChatInputTextArea"]'), 30, "the chat page")
    ask(driver, "Vad gör kvittoskrivaren Zyxel-7 i kassan?", timeout=120)
    reply = _css(driver, MESSAGE)[-1]
    for summary in _css(reply, '[data-testid="stExpander"] summary'):
        _click(summary)
    _wait(lambda: "window.__xss = 1" in _css(driver, MESSAGE)[-1].text, 10, "the quoted text")
    text = _css(driver, MESSAGE)[-1].text
    assert "<script>window.__xss = 1</script>" in text          # shown, as text
    assert "[klicka här](http://evil.example/)" in text.replace("\u2060", "")
    assert driver.execute_script("return window.__xss") is None   # nothing ran
    main = _css(driver, '[data-testid="stMainBlockContainer"]')[0]
    assert not [a for a in _css(main, "a") if "evil" in (a.get_attribute("href") or "")]
    assert not _css(main, 'img[src="x"]')
    # No script from the document: the only one is the app's own (ui/swedish.py, beside its
    # marker element).
    assert driver.execute_script(
        "return Array.from(arguments[0].querySelectorAll('script'))"
        ".filter(s => !s.parentElement.querySelector('#asf-swedish')).length", main) == 0
    _shot(driver, "browser-safety.png")


def test_plan_page_fills_the_form_and_downloads_a_word_file(server, driver, tmp_path):
    from docx import Document
    from selenium.webdriver.common.keys import Keys

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    wait_ready(driver, server.url)
    next(a for a in _css(driver, '[data-testid="stSidebarNavLink"]')
         if "Planera träff" in a.text).click()
    theme = _wait(lambda: _css(driver, '[data-testid="stSelectbox"] input'), 60,
                  "the theme field")[0]
    theme.click()
    theme.send_keys("Affärssamverkan inom fastighetsbranschen")
    theme.send_keys(Keys.ENTER)
    place = _css(driver, '[data-testid="stTextInput"] input')[0]
    place.send_keys("Malmö")
    button = next(b for b in _css(driver, "button") if "Gör planen" in b.text)
    _click(button)
    _wait(lambda: any("5. Uppföljning" in h.text for h in _css(driver, "h3")), 180,
          "the plan")
    headings = [h.text for h in _css(driver, "h3")]
    assert [h for h in headings if h[:1].isdigit()][:5] == [
        "1. Syfte", "2. Resultat", "3. Målgrupp", "4. Metod", "5. Uppföljning"]
    assert "Yalla Rinkeby" in driver.page_source
    word = next(b for b in _css(driver, '[data-testid="stDownloadButton"] button')
                if "Word" in b.text)
    _click(word)
    files = _wait(lambda: [f for f in downloads.glob("*.docx")], 60, "the Word file")
    doc = Document(str(files[0]))
    assert doc.paragraphs[0].text == "Plan för nätverksträff: Affärssamverkan inom " \
                                     "fastighetsbranschen"
    assert "1. Syfte" in [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    _shot(driver, "browser-plan.png")


def test_guide_page_opens_a_card_and_a_related_question_is_asked(server, driver):
    wait_ready(driver, server.url)
    next(a for a in _css(driver, '[data-testid="stSidebarNavLink"]')
         if "Vägledning" in a.text).click()
    title = "Hur kommer vi igång med att köpa av ett ASF?"
    summary = _wait(lambda: next((s for s in _css(driver, '[data-testid="stExpander"] summary')
                                  if title in s.text), None), 120, "the card")
    _click(summary)
    card = summary.find_element("xpath", "./..")
    _wait(lambda: "Hur uppstår affärssamarbetet?" in card.text, 60, "the card's sources")
    _shot(driver, "browser-guide.png")
    # Asking the card's question in the chat leads the answer with the card, and offers
    # related questions as buttons.
    button = next(b for b in _css(card, "button") if "Ställ frågan i chatten" in b.text)
    _click(button)
    _wait(lambda: "Vägledning: " + title in driver.page_source, 180, "the guided answer")
    _wait(lambda: "Relaterade frågor" in driver.page_source, 60, "related questions")
    _shot(driver, "browser-guide-answer.png")


def test_an_earlier_conversation_is_reopened_and_continued(server, driver):
    wait_ready(driver, server.url)
    question = "Hur samarbetar Volvo Cars med Clean Car Service?"
    ask(driver, question, timeout=180)
    sidebar = _css(driver, '[data-testid="stSidebar"]')[0]
    _click(next(b for b in _css(sidebar, "button") if "Ny konversation" in b.text))
    _wait(lambda: not _css(driver, MESSAGE), 30, "the emptied chat")
    # Listed by its first question; a click brings the chat back with its cited answer.
    _click(_wait(lambda: next((b for b in _css(sidebar, "button")
                               if question in b.text and b.is_enabled()), None),
                 30, "the saved conversation"))
    _wait(lambda: len(_css(driver, MESSAGE)) == 2, 30, "the reopened conversation")
    assert question in _css(driver, MESSAGE)[0].text
    assert _css(_css(driver, MESSAGE)[1], ".stMarkdownBadge")
    _shot(driver, "browser-conversation-reopened.png")
    ask(driver, "Hur kom de i kontakt med varandra?", timeout=180)
    assert "Följdfrågan besvaras som" in _css(driver, MESSAGE)[-1].text
    assert "Volvo Cars" in _css(driver, MESSAGE)[-1].text


def test_streamlits_own_texts_are_swedish_in_the_browser(server, driver, tmp_path):
    """<html lang="sv">, and the uploader's and the multiselects' fixed English in Swedish."""
    wait_ready(driver, server.url)
    assert driver.execute_script("return document.documentElement.lang") == "sv"
    english = ("Drag and drop", "Browse files", "per file", "200MB", "Choose options",
               "Select all", "No results")

    def page_text() -> str:
        return driver.execute_script("return document.body.innerText")

    next(a for a in _css(driver, '[data-testid="stSidebarNavLink"]') if "Källor" in a.text).click()
    tab = _wait(lambda: [t for t in _css(driver, '[data-testid="stTab"]') if "Ladda upp" in t.text],
                30, "the upload tab")[0]
    tab.click()
    zone = _wait(lambda: [z for z in _css(driver, '[data-testid="stFileUploaderDropzone"]')
                          if z.is_displayed()], 30, "the drop zone")[0]
    # This Streamlit draws the button and the limit (its "Drag and drop" line only in some
    # layouts): whatever it draws is Swedish.
    _wait(lambda: "Välj fil" in zone.text, 10, "the Swedish drop zone")
    assert "högst 20 MB per fil" in zone.text, zone.text
    # A file over the limit is refused by the widget: in Swedish too.
    big = tmp_path / "stor.txt"
    big.write_bytes(b"a" * (21 * 1024 * 1024))
    _css(driver, 'input[type="file"]')[0].send_keys(str(big))
    _wait(lambda: "Filen är för stor: högst 20" in page_text(), 30, "the Swedish refusal")
    assert driver.execute_script("return document.documentElement.lang") == "sv"
    _shot(driver, "browser-upload-swedish.png")
    assert not [w for w in english if w in page_text()], page_text()

    next(a for a in _css(driver, '[data-testid="stSidebarNavLink"]')
         if "Fallexempel" in a.text).click()
    boxes = _wait(lambda: _css(driver, '[data-testid="stMultiSelect"]'), 60, "the filters")
    placeholder = boxes[0].find_element("css selector", "input").get_attribute("placeholder")
    assert "Välj ett eller flera" in f"{boxes[0].text} {placeholder}"
    _click(boxes[0].find_element("css selector", "input"))
    menu = _wait(lambda: _css(driver, '[role="listbox"]'), 10, "the open menu")[0]
    assert "fastighet" in menu.text and "Select all" not in menu.text
    typed = boxes[0].find_element("css selector", "input")
    typed.send_keys("zzzz")
    _wait(lambda: "Inga träffar" in page_text(), 10, "the Swedish empty menu")
    _shot(driver, "browser-cases-swedish.png")
    assert not [w for w in english if w in page_text()], page_text()


# One walk per user group: what each asks first, a follow-up of its own, a plan for a meeting
# in its town, the guidance cards for its group, and the conversation found again later.
WALKS = {
    "company": ("Företag / CSR", "Gäller det även mindre företag?", "Västerås"),
    "asf": ("Socialt företag (ASF)", "Hur gjorde de i fallexemplen?", "Göteborg"),
    "advisor": ("Rådgivare / främjare", "Hur lägger vi upp en sådan träff?", "Umeå"),
}


def _nav(driver, page: str) -> None:
    _click(_wait(lambda: next((a for a in _css(driver, '[data-testid="stSidebarNavLink"]')
                               if page in a.text), None), 30, f"the {page} link"))


@pytest.mark.parametrize("role", list(WALKS))
def test_each_role_walks_through_question_follow_up_plan_guide_and_reopened_chat(
        server, driver, tmp_path, role):
    from docx import Document
    from docx.shared import Mm
    from selenium.webdriver.common.keys import Keys

    label, follow_up, town = WALKS[role]
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    wait_ready(driver, server.url)
    sidebar = _css(driver, '[data-testid="stSidebar"]')[0]
    _click(next(r for r in _css(sidebar, '[data-testid="stRadio"] label') if label in r.text))
    # The group's own starter questions; the first is asked with a click.
    from assistant.prompts import ROLES

    starter = ROLES[role]["starters"][0]
    button = _wait(lambda: next((b for b in _css(driver, "button") if starter in b.text), None),
                   30, "the group's starter questions")
    _click(button)
    _wait(lambda: completed_answers(driver) == 1, 180, "the answer to the starter question")
    assert _css(_css(driver, MESSAGE)[-1], ".stMarkdownBadge")
    ask(driver, follow_up, timeout=180)
    reply = _css(driver, MESSAGE)[-1]
    assert _css(reply, ".stMarkdownBadge") or "inte" in reply.text, reply.text
    _shot(driver, f"browser-walk-{role}-chat.png")

    # A plan for a meeting in the group's town, downloaded as Word.
    _nav(driver, "Planera träff")
    theme = _wait(lambda: _css(driver, '[data-testid="stSelectbox"] input'), 60,
                  "the theme field")[0]
    theme.click()
    theme.send_keys("Lokal samverkan mellan ASF och företag")
    theme.send_keys(Keys.ENTER)
    _css(driver, '[data-testid="stTextInput"] input')[0].send_keys(town)
    _click(_wait(lambda: next((b for b in _css(driver, "button") if "Gör planen" in b.text), None),
                 30, "the plan button"))
    _wait(lambda: any("5. Uppföljning" in h.text for h in _css(driver, "h3")), 180, "the plan")
    _click(_wait(lambda: next((b for b in _css(driver, '[data-testid="stDownloadButton"] button')
                               if "Word" in b.text), None), 30, "the Word button"))
    doc = Document(str(_wait(lambda: next(iter(downloads.glob("*.docx")), None), 60,
                             "the Word file")))
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    lang = doc.styles["Normal"].element.xpath(".//w:lang/@w:val")
    assert lang == ["sv-SE"]
    assert doc.tables, "the agenda is a table"
    assert doc.core_properties.author == "ASF-assistenten"
    _shot(driver, f"browser-walk-{role}-plan.png")

    # The guidance cards open filtered to the group chosen in the chat.
    _nav(driver, "Vägledning")
    count = _wait(lambda: next((m for c in _css(driver, '[data-testid="stCaptionContainer"]')
                                if (m := re.fullmatch(r"(\d+) av (\d+) frågor", c.text.strip()))),
                               None), 60, "the card count")
    shown, total = int(count.group(1)), int(count.group(2))
    assert 0 < shown < total
    _shot(driver, f"browser-walk-{role}-guide.png")

    # Later: a new chat, then the earlier one reopened with its group and both answers.
    _nav(driver, "Chatt")
    sidebar = _wait(lambda: _css(driver, '[data-testid="stSidebar"]'), 30, "the sidebar")[0]
    _click(_wait(lambda: next((b for b in _css(sidebar, "button")
                               if "Ny konversation" in b.text and b.is_enabled()), None),
                 60, "the new-chat button"))
    _wait(lambda: not _css(driver, MESSAGE), 30, "the emptied chat")
    _click(_wait(lambda: next((b for b in _css(sidebar, "button")
                               if starter[:30] in b.text and b.is_enabled()), None),
                 30, "the saved conversation"))
    _wait(lambda: len(_css(driver, MESSAGE)) == 4, 30, "the reopened conversation")
    checked = [r.text for r in _css(sidebar, '[data-testid="stRadio"] label')
               if r.find_elements("css selector", "input:checked")]
    assert checked == [label]
    _shot(driver, f"browser-walk-{role}-reopened.png")

"""Ingestion: section structure of the report, Markdown, PDFs (real pypdf) and bad files."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter

from assistant.ingest.loaders import load_document
from assistant.types import IngestError
from tests.conftest import DATA, REPORT


@pytest.fixture(scope="module")
def report():
    return load_document(REPORT)


def test_report_sections_are_detected(report):
    sections = {b.section for b in report.blocks}
    for expected in [
        "Sammanfattning › Rekommendationer",
        "Inledning › Tillvägagångssätt › Kartläggningen",
        "Bakgrund › Arbetsintegrerande sociala företag",
        "Kartläggningen – en överblick › ”Rätt” bransch ger tillgång till marknader",
        "Affärer med konventionella företag › Muntliga avtal är vanligast",
        "Utmaningar › Kommunikation",
        "Utmaningar › Bristfällig kunskap hos potentiella samarbetspartners",
        "Nätverksträffar › Vadstena: Samverkan för lönsamhet och hållbarhet",
        "Sammanfattande analys och rekommendationer › Marknadsföring och försäljning är viktigt"
        " › Analys",
    ]:
        assert expected in sections


def test_page_numbers_footnotes_and_figure_labels_are_not_body_text(report):
    body = [b.text for b in report.blocks if b.kind != "footnote"]
    assert not any(text.strip().isdigit() for text in body)
    assert not any(text in {"Målgrupp", "Metod", "Uppföljning"} for text in body)
    # Footnote markers glued to words are removed from the body ...
    assert any("omfattar tre dimensioner." in t for t in body)
    assert not any("dimensioner4" in t for t in body)
    # ... and the footnotes become blocks of their own.
    notes = [b for b in report.blocks if b.kind == "footnote"]
    assert any("Corporate Social Responsibility" in n.text for n in notes)
    # A footnote is a subsection of the section citing it; its label stays out of its text,
    # so a quote of it starts with the sentence ("IOP är en avtalsform", not "Fotnot 2: IOP").
    [iop] = [n for n in notes if n.text.startswith("IOP är en avtalsform")]
    assert iop.section_path[-1] == "Fotnot 2" and len(iop.section_path) > 1
    assert not any(n.text.startswith("Fotnot") for n in notes)


def test_bullet_list_stays_with_its_lead_in(report):
    lists = [b for b in report.blocks if b.kind == "list"]
    drivers = next(b for b in lists if "Den rent affärsmässiga drivkraften" in b.text)
    assert drivers.text.splitlines()[0].endswith("Det handlar då om:")
    assert "- Drivkraften att stötta individen och utsatta grupper i samhället" in drivers.text


def test_a_bullet_right_under_its_lead_in_is_the_lists_first_item(report):
    # " • Några deltagare …" follows "… följande:" with no blank line between; it was read
    # as a new page's paragraph, kept its bullet and left the list.
    [points] = [b for b in report.blocks if "För övrigt framhöll deltagarna följande:" in b.text]
    assert points.kind == "list"
    lines = points.text.splitlines()
    assert lines[1].startswith("- Några deltagare menade att det många gånger")
    assert not any("•" in b.text for b in report.blocks)


def test_a_lone_line_in_an_earlier_headings_form_is_a_heading_not_a_lead_in(report):
    # "Rekommendationer till offentliga aktörer och företagsfrämjare:" ends in a colon, so it
    # was read as its list's lead-in and the list was filed under "Rekommendationer till ASF".
    [public] = [b for b in report.blocks if "kan erbjuda utbildningsinsatser till ASF" in b.text
                and b.section_path[0] == "Sammanfattande analys och rekommendationer"]
    assert public.section_path[-2:] == ("Marknadsföring och försäljning är viktigt",
                                        "Rekommendationer till offentliga aktörer och "
                                        "företagsfrämjare")
    assert public.text.startswith("- Offentliga aktörer")
    [contact] = [b for b in report.blocks if "Att det finns en utsedd kontaktperson" in b.text
                 and b.section_path[0] == "Sammanfattande analys och rekommendationer"]
    assert contact.section_path[-1] == "Rekommendationer till samverkande företag"
    # A lead-in that begins no earlier heading's form stays with its list.
    [actors] = [b for b in report.blocks if "Ove Jansson" in b.text]
    assert actors.text.startswith("Följande aktörer medverkade:")


def test_a_paragraph_that_breaks_off_before_a_list_is_its_lead_in(report):
    # "… processleda fyra nätverksträffar med syfte att" goes on in each item; read as a
    # paragraph of its own, the list's passage began mid-sentence ("ha ett
    # kunskapsförmedlande syfte …").
    [purpose] = [b for b in report.blocks if "ha ett kunskapsförmedlande syfte" in b.text]
    assert purpose.kind == "list"
    assert purpose.text.splitlines()[0].endswith("nätverksträffar med syfte att")
    assert purpose.text.splitlines()[1].startswith("- ha ett kunskapsförmedlande syfte")


def test_sentence_across_page_break_is_joined(report):
    assert any("producerar och utbyter varor och/eller tjänster mot betalning" in b.text
               for b in report.blocks)


def test_markdown_headings_give_section_paths(tmp_path):
    path = tmp_path / "fall.md"
    path.write_text("# Fall\n\nInledning.\n\n## Koopus\n\nKoopus gör legoarbeten.\n",
                    encoding="utf-8")
    doc = load_document(path)
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("Fall", "Inledning."), ("Fall › Koopus", "Koopus gör legoarbeten.")]


def test_pdf_has_page_numbers_and_text():
    doc = load_document(DATA / "rapport.pdf")
    pages = {b.page for b in doc.blocks}
    assert min(pages) == 1 and max(pages) == 24
    page_of = {b.page for b in doc.blocks if "45 intervjuer genomfördes" in b.text}
    assert page_of == {1}
    assert any("Vadstena Sparbank" in b.text and b.page and b.page > 15 for b in doc.blocks)


def _pdf_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_encrypted_pdf_is_rejected_with_a_clear_message(tmp_path):
    writer = PdfWriter(clone_from=str(DATA / "rapport.pdf"))
    writer.encrypt(user_password="hemligt", owner_password="hemligt")
    path = tmp_path / "låst.pdf"
    path.write_bytes(_pdf_bytes(writer))
    with pytest.raises(IngestError, match="krypterad") as info:
        load_document(path)
    assert "låst.pdf" in str(info.value)


def test_corrupt_pdf_is_rejected(tmp_path):
    path = tmp_path / "trasig.pdf"
    path.write_bytes((DATA / "rapport.pdf").read_bytes()[:3000])
    with pytest.raises(IngestError, match="trasig.pdf"):
        load_document(path)


def test_pdf_without_text_layer_is_rejected(tmp_path):
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = tmp_path / "skannad.pdf"
    path.write_bytes(_pdf_bytes(writer))
    with pytest.raises(IngestError, match="textlager"):
        load_document(path)


@pytest.mark.parametrize("name,content,message", [
    ("tom.txt", b"", "tom"),
    ("blank.md", b"   \n\n  ", "tom"),
    ("bild.png", b"\x89PNG", "filtyp"),
])
def test_bad_files_name_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        load_document(path)
    assert name in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match="finns inte"):
        load_document(tmp_path / "saknas.txt")

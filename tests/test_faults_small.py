"""Smaller faults from issue #24: a PDF that inflates past pypdf's limit (item 6), `asf plan`
inputs and output paths (item 13), and the ingest estimate (item 14).

Real pypdf on a real (built) PDF, the real CLI and Streamlit page, a real read-only bind
mount; the estimate is tested with an injected clock, never the wall clock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from assistant import cli
from assistant.config import PROJECT_ROOT, Settings
from assistant.ingest.loaders import load_document
from assistant.types import IngestError
from tests.conftest import FakeEmbeddings, use_embedder

THEME = "Affärssamverkan inom fastighetsbranschen"


# ---------------------------------------------------------------------- item 6: PDF bomb
def _pdf(content: bytes) -> bytes:
    """Return a one-page PDF whose page content is the given FlateDecode stream."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _inflating_stream(megabytes: int) -> bytes:
    """Return a zlib stream of a short text line and `megabytes` MB of spaces (~1 KB per MB).

    One block is compressed once after a full flush (which resets the compressor, so every
    such block compresses to the same bytes) and repeated; only the checksum is computed
    over the whole: 2 MB of compression work instead of 76.
    """
    head, block = b"BT /F1 12 Tf 72 720 Td (Hej) Tj ET\n", b" " * 1_000_000
    compressor = zlib.compressobj(9)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-4]                      # the final block, without the checksum
    checksum = zlib.adler32(head)
    for _ in range(megabytes):
        checksum = zlib.adler32(block, checksum)
    return start + body * megabytes + end + checksum.to_bytes(4, "big")


@pytest.fixture(scope="module")
def bomb_bytes() -> bytes:
    """A PDF of about 80 KB whose page inflates to 76 MB, past pypdf's 75 MB limit."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    data = _pdf(_inflating_stream(76))
    assert len(data) < 120_000
    # It is what the issue describes: pypdf itself stops with LimitReachedError.
    import io

    with pytest.raises(LimitReachedError):
        PdfReader(io.BytesIO(data)).pages[0].extract_text()
    return data


def test_item6_a_pdf_that_inflates_past_the_limit_is_refused_in_swedish(tmp_path, bomb_bytes):
    path = tmp_path / "uppblast.pdf"
    path.write_bytes(bomb_bytes)
    with pytest.raises(IngestError) as err:
        load_document(path)
    message = str(err.value)
    assert message.startswith("PDF-filen uppblast.pdf går inte att läsa")
    assert "packas upp till mer än" in message and "spara texten som .txt" in message
    assert "Limit" not in message and "decompress" not in message


def test_item6_asf_ingest_names_the_file_and_indexes_every_other(isolated_dirs, bomb_bytes,
                                                                  monkeypatch, capsys):
    from assistant.pipeline import Assistant

    fake = FakeEmbeddings()
    use_embedder(monkeypatch, lambda settings: fake)
    corpus = isolated_dirs / "corpus"
    (corpus / "uppblast.pdf").write_bytes(bomb_bytes)
    (corpus / "kvitton.md").write_text("# Kvitton\n\nKvittoskrivaren Zyxel-7 skriver kvitton.\n",
                                       encoding="utf-8")
    assert cli.main(["ingest"]) == 1
    err = capsys.readouterr().err
    assert "Fel: PDF-filen uppblast.pdf går inte att läsa" in err
    assert "Traceback" not in err and "LimitReachedError" not in err
    sources = Assistant(Settings(), embeddings=fake).index.sources()
    assert "kvitton.md" in sources and "uppblast.pdf" not in sources
    assert any(name.startswith("sweco") for name in sources)


def test_item6_the_ui_refuses_the_upload_with_a_swedish_reason(isolated_dirs, bomb_bytes,
                                                                settings):
    from assistant.pipeline import Assistant
    from ui.uploads import UPLOAD_TMP, start_upload

    assistant = Assistant(settings, embeddings=FakeEmbeddings())
    assistant.ensure_index()
    before = assistant.index.sources()
    job = start_upload(assistant, "uppblast.pdf", bomb_bytes)
    assert job.wait(60) and job.state == "failed" and job.document is None
    assert job.message.startswith("PDF-filen uppblast.pdf går inte att läsa")
    assert "Limit" not in job.message and "decompress" not in job.message
    assert assistant.index.sources() == before
    assert not any((settings.data_dir / UPLOAD_TMP).glob("*"))


# ---------------------------------------------------------------------- item 13: asf plan
@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if anything loads the embedding model."""
    def refuse(settings):
        raise AssertionError("the model must not load for a bad input or output path")

    use_embedder(monkeypatch, refuse)


@pytest.mark.parametrize("value", ["²", "٣²", "9" * 5000])
def test_item13_odd_participant_numbers_are_refused_in_swedish(no_model, capsys, value):
    assert cli.main(["plan", "--tema", THEME, "--deltagare", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Fel: Antalet deltagare") and "Traceback" not in err


@pytest.mark.parametrize(("value", "message"), [
    ("9" * 400, "Träffens längd måste vara mellan"),          # float() makes it infinite
    ("\x1b[2J\x07", "Längden ”[2J” går inte att läsa"),      # no control character echoed
])
def test_item13_odd_lengths_are_refused_in_swedish(no_model, capsys, value, message):
    assert cli.main(["plan", "--tema", THEME, "--langd", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Fel: {message}") and "\x1b" not in err and "\x07" not in err


def test_item13_output_into_a_missing_folder_is_refused_before_the_model(no_model, capsys,
                                                                         tmp_path):
    target = tmp_path / "finns-inte" / "plan.md"
    assert cli.main(["plan", "--tema", THEME, "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"Fel: Mappen {target.parent} finns inte." in err
    assert not target.parent.exists()


def test_item13_an_existing_file_is_kept_without_force(no_model, capsys, tmp_path, monkeypatch):
    target = tmp_path / "plan.md"
    target.write_text("min egen plan", encoding="utf-8")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert cli.main(["plan", "--tema", THEME, "--output", str(target)]) == 2
    assert f"Fel: Filen {target} finns redan. Lägg till --force" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "min egen plan"


@pytest.mark.parametrize(("reply", "kept"), [("n", True), ("", True), ("ja", False)])
def test_item13_at_a_terminal_the_user_is_asked_before_overwriting(capsys, tmp_path,
                                                                   monkeypatch, isolated_dirs,
                                                                   reply, kept):
    for name in ("figures", "cases"):
        shutil.copytree(PROJECT_ROOT / "corpus" / name, isolated_dirs / "corpus" / name)
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    target = tmp_path / "plan.md"
    target.write_text("min egen plan", encoding="utf-8")
    asked: list[str] = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or reply)
    assert cli.main(["plan", "--tema", THEME, "--output", str(target)]) == (2 if kept else 0)
    assert asked == [f"Filen {target} finns redan. Skriva över den? [j/N] "]
    text = target.read_text(encoding="utf-8")
    assert (text == "min egen plan") == kept
    assert kept or text.startswith("# Plan för nätverksträff")


def test_item13_force_overwrites_and_a_control_character_makes_a_valid_docx(
        capsys, tmp_path, monkeypatch, isolated_dirs):
    from docx import Document

    for name in ("figures", "cases"):
        shutil.copytree(PROJECT_ROOT / "corpus" / name, isolated_dirs / "corpus" / name)
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    target = tmp_path / "plan.docx"
    target.write_bytes(b"gammal")
    assert cli.main(["plan", "--tema", "Lokal\x01samverkan\x1b[2J", "--ort", "Malmö\x07",
                     "--format", "docx", "--output", str(target), "--force"]) == 0
    err = capsys.readouterr().err
    assert "Planen är sparad" in err and "Traceback" not in err
    title = Document(str(target)).paragraphs[0].text
    assert "Lokal samverkan [2J" in title and "\x01" not in title
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".asf-plan-")]


def _read_only(folder: Path) -> list[str] | None:
    """Return a command prefix that runs its command with `folder` mounted read-only.

    Root ignores folder permissions, so as root the folder is bind-mounted read-only in a
    mount namespace of its own (a real read-only file system); None when that is refused.
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", script, str(folder), "true"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "--mount", "sh", "-c", script, str(folder)]


def test_item13_output_on_a_read_only_mount_is_refused_before_the_model(tmp_path):
    folder = tmp_path / "skrivskyddad"
    folder.mkdir()
    prefix = _read_only(folder)
    if prefix is None:
        pytest.skip("no way to make a folder read-only for root here (unshare/mount refused)")
    target = folder / "plan.docx"
    # No model in the models folder: had the command loaded it first, it would say so.
    env = {**os.environ, "ASF_MODELS_DIR": str(tmp_path / "inga-modeller"),
           "PYTHONPATH": str(PROJECT_ROOT)}
    try:
        done = subprocess.run([*prefix, sys.executable, "-m", "assistant.cli", "plan", "--tema",
                               THEME, "--format", "docx", "--output", str(target)],
                              capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT,
                              env=env)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert f"Fel: Det går inte att skriva i mappen {folder}" in done.stderr
    assert "Traceback" not in done.stderr and not target.exists()


def test_item13_the_plan_page_makes_a_word_file_from_input_with_a_control_character(
        isolated_dirs, monkeypatch):
    # AppTest cannot type a new option into the theme box; the place field reaches the
    # Word document the same way (its summary line) and went through the same check.
    import streamlit as st
    from docx import Document
    from streamlit.testing.v1 import AppTest

    from ui import plan_view

    for name in ("figures", "cases"):
        shutil.copytree(PROJECT_ROOT / "corpus" / name, isolated_dirs / "corpus" / name)
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    st.cache_resource.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "ui" / "app.py"), default_timeout=120)
    app.run()
    app.switch_page(plan_view.PAGE_PATH).run()
    app.selectbox(key="plan-theme").set_value(THEME)
    app.text_input(key="plan-place").input("Malmö\x01\x1b[31m")
    app.button[0].click().run()
    st.cache_resource.clear()
    assert not app.exception, app.exception
    plan = app.session_state["plan"]
    assert plan.request.place == "Malmö [31m"
    import io

    summary = Document(io.BytesIO(plan.to_docx())).paragraphs[1].text
    assert "Malmö [31m" in summary


# ---------------------------------------------------------------------- item 14: estimate
class _Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(progress, clock: _Clock, total: int, load_s: float, per_text_s: float,
         batches: int) -> None:
    """Feed progress as the index does: (0, total), then one call per batch of 16 texts."""
    progress(0, total)
    clock.now += load_s + 16 * per_text_s            # the first batch also loads the model
    progress(16, total)
    for n in range(2, batches + 1):
        clock.now += 16 * per_text_s
        progress(16 * n, total)


def test_item14_the_estimate_follows_the_measured_pace_and_agrees_with_the_line(capsys):
    # The issue: 4,000 texts, about one per second (long passages on a busy machine): the
    # estimate said 3 minutes while the progress line said 41-90.
    clock = _Clock()
    progress = cli._Progress(clock=clock)
    _run(progress, clock, total=4000, load_s=70, per_text_s=1.0, batches=3)
    err = capsys.readouterr().err
    estimate = [line for line in err.splitlines() if "uppskattningsvis" in line]
    assert len(estimate) == 1
    assert "4000 textavsnitt och meningar" in estimate[0]
    assert "uppskattningsvis 66 minuter." in estimate[0]        # (4000 - 32) s
    assert err.rstrip().endswith("(ca 66 minuter kvar)")
    # Later batches move the line, not the estimate (it is said once).
    clock.now += 16 * 1.0
    progress(64, 4000)
    err = capsys.readouterr().err
    assert "uppskattningsvis" not in err and "(ca 66 minuter kvar)" in err


def test_item14_fast_work_is_not_announced_and_minutes_have_swedish_plurals(capsys):
    clock = _Clock()
    progress = cli._Progress(clock=clock)
    _run(progress, clock, total=800, load_s=5, per_text_s=0.05, batches=3)
    assert "uppskattningsvis" not in capsys.readouterr().err     # 800 texts at 20 per second
    assert cli.duration_phrase(60) == "1 minut"
    assert cli.duration_phrase(100) == "2 minuter"
    assert cli.duration_phrase(3 * 60) == "3 minuter"
    assert cli.duration_phrase(20) == "under en minut"
    progress = cli._Progress(clock=clock)
    _run(progress, clock, total=2000, load_s=5, per_text_s=0.04, batches=2)
    assert "uppskattningsvis 1 minut." in capsys.readouterr().err   # 1968 texts in 79 s

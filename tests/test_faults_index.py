"""Fault injection for the index (issue #15, items 1-5 and 12): every change is all-or-nothing,
files added from outside the corpus survive a rebuild, a damaged store is moved aside and
rebuilt, a read-only folder gets a clear message, and other processes see a new index.

Faults are real: kill -9 and SIGINT on a subprocess (tests/fault_worker.py runs the `asf`
command with the fake embedder), truncated database files, folder permissions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import cli
from assistant.config import PROJECT_ROOT, Settings
from assistant.index.passage_index import ADDED_FILE, Index
from assistant.index.store import BUILDING, POINTER, Generations
from assistant.pipeline import Assistant
from tests.conftest import FakeEmbeddings, use_embedder

WORKER = Path(__file__).resolve().parent / "fault_worker.py"
NOTE = "# Anteckningar\n\nVi köper catering av Gnestabagarna, ett ASF i Gnesta.\n"


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    fake = FakeEmbeddings()
    use_embedder(monkeypatch, lambda settings: fake)
    return fake


def _state(settings: Settings) -> dict[str, str]:
    """Return chunk id -> version of the live index, read by a fresh Index."""
    index = Index(settings, FakeEmbeddings())
    try:
        return {c.chunk_id: c.source for c in index.chunks()}
    finally:
        index.close()


def _whole(settings: Settings) -> bool:
    """Return True when every passage (but case cards) of the live index has sentence units."""
    index = Index(settings, FakeEmbeddings())
    try:
        with_units = index._with_units()
        return all(c.chunk_id in with_units for c in index.chunks() if c.kind != "case")
    finally:
        index.close()


def _finds(assistant: Assistant, query: str) -> bool:
    """Return True when the best passage for `query` is the note about Gnestabagarna."""
    assistant.index.reopen_if_changed()
    return "Gnestabagarna" in assistant.retriever.search(query).passages[0].chunk.text


def _sigint_as_in_a_shell() -> None:
    # A child inherits an ignored SIGINT, and Python then never raises KeyboardInterrupt.
    # The Ctrl-C test passed alone and failed only after the rest of the fast tier had run
    # in the same process (the worker rebuilt to the end and exited 0).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _worker(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WORKER), *args], cwd=PROJECT_ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_sigint_as_in_a_shell)


def _leftovers(settings: Settings) -> list[Path]:
    return list(settings.data_dir.glob(f"*{BUILDING}"))


@pytest.fixture
def built(settings, capsys) -> dict[str, str]:
    """The report indexed through the CLI; returns the index's state."""
    assert cli.main(["ingest"]) == 0
    capsys.readouterr()
    return _state(settings)


# ---------------------------------------------------------------------- item 1
@pytest.mark.parametrize("content", ['{"broken', "[]", '"en text"'])
def test_item1_broken_sources_json_stops_a_rebuild_before_anything_changes(
        settings, built, capsys, content):
    (settings.corpus_dir / "sources.json").write_text(content, encoding="utf-8")
    assert cli.main(["index", "--rebuild"]) == 1
    err = capsys.readouterr().err
    assert "sources.json går inte att läsa" in err and "indexet är oförändrat" in err
    assert "Traceback" not in err
    assert _state(settings) == built
    # The old index still answers and lists its documents.
    assert cli.main(["index"]) == 0
    assert "sweco-asf-samverkan-naringslivet.txt" in capsys.readouterr().out
    assert cli.main(["ask", "Hur många intervjuer genomfördes?"]) == 0
    assert "Källor:" in capsys.readouterr().out


# ---------------------------------------------------------------------- item 2
def test_item2_a_rebuild_keeps_files_added_from_outside_the_corpus(settings, built, capsys,
                                                                   tmp_path):
    note = tmp_path / "utanfor" / "anteckningar.md"
    note.parent.mkdir()
    note.write_text(NOTE, encoding="utf-8")
    assert cli.main(["ingest", str(note)]) == 0
    added = json.loads((settings.data_dir / ADDED_FILE).read_text(encoding="utf-8"))
    assert added == {"files": [str(note.resolve())]}
    assert cli.main(["index", "--rebuild"]) == 0
    capsys.readouterr()
    after = _state(settings)
    assert str(note.resolve()) in after.values()
    assert set(after) >= set(built)
    # A file that is gone leaves the index and the list at the next sync.
    note.unlink()
    assert cli.main(["ingest"]) == 0
    assert str(note.resolve()) not in _state(settings).values()


def test_item2_kill_during_a_rebuild_leaves_the_old_index_whole(settings, built, tmp_path):
    note = tmp_path / "anteckningar.md"
    note.write_text(NOTE, encoding="utf-8")
    assert cli.main(["ingest", str(note)]) == 0
    before = _state(settings)
    worker = _worker("index", "--rebuild", env={"FAULT_SLOW": "0.2"})
    assert worker.stderr is not None
    worker.stderr.readline()              # the first progress line: embedding has begun
    time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    assert _state(settings) == before and _whole(settings)
    # The next command answers from the old index, the added file included.
    a = Assistant(Settings(), embeddings=FakeEmbeddings())
    assert a.ensure_index() is None
    assert _finds(a, "Gnestabagarna catering Gnesta")


def test_item2_kill_while_writing_a_rebuild_leaves_the_old_index(settings, built):
    worker = _worker("index", "--rebuild", env={"FAULT_KILL_AT": "units"})
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == -signal.SIGKILL and "killing" in err
    assert _leftovers(settings)               # the unfinished generation is still on disk
    assert _state(settings) == built and _whole(settings)
    assert cli.main(["index", "--rebuild"]) == 0
    assert not _leftovers(settings)           # the next writer cleared it
    assert set(_state(settings)) == set(built)


# ---------------------------------------------------------------------- item 3
def test_item3_a_process_that_reads_the_index_sees_a_rebuild_made_elsewhere(settings, built):
    reader = Assistant(Settings(), embeddings=FakeEmbeddings())
    assert not reader.ask("Hur många intervjuer genomfördes?").refused
    (settings.corpus_dir / "gnesta.md").write_text(NOTE, encoding="utf-8")
    for _ in range(2):    # two rebuilds: the generation the reader opened is deleted
        worker = _worker("index", "--rebuild")
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    assert not reader.ask("Hur många intervjuer genomfördes?").refused
    assert _finds(reader, "Gnestabagarna catering Gnesta")
    assert "gnesta.md" in reader.index.sources()


# ---------------------------------------------------------------------- item 4
def test_item4_a_damaged_database_is_moved_aside_and_a_rebuild_recovers(settings, built,
                                                                          capsys):
    live = Generations(settings.data_dir).live()
    assert live is not None
    database = live / "chroma.sqlite3"
    with open(database, "r+b") as fh:
        fh.truncate(database.stat().st_size // 3)
    assert cli.main(["ask", "Hur många intervjuer genomfördes?"]) == 1
    err = capsys.readouterr().err
    assert "Indexet gick inte att läsa" in err and "asf index --rebuild" in err
    assert "Traceback" not in err and str(settings.data_dir) not in err
    assert not live.exists() and list(settings.data_dir.glob("broken-*"))
    assert cli.main(["index", "--rebuild"]) == 0
    assert set(_state(settings)) == set(built)
    assert cli.main(["ask", "Hur många intervjuer genomfördes?"]) == 0
    assert "Källor:" in capsys.readouterr().out


def test_item4_garbage_in_place_of_the_database_is_caught_too(settings, built, capsys):
    live = Generations(settings.data_dir).live()
    assert live is not None
    (live / "chroma.sqlite3").write_bytes(os.urandom(8192))
    assert cli.main(["index"]) == 1
    assert "Indexet gick inte att läsa" in capsys.readouterr().err
    assert cli.main(["index", "--rebuild"]) == 0


def _asf_read_only(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `asf ARGS…` (the fault worker) with `folder` read-only; return how it ended.

    Folder permissions do not bind root (CI runs as root): there the command runs in its
    own mount namespace with the folder bind-mounted read-only, a real read-only file system.
    """
    argv = [sys.executable, str(WORKER), *args]
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        probe = subprocess.run(["unshare", "--mount", "sh", "-c", script, str(folder), "true"],
                               capture_output=True)
        if probe.returncode != 0:
            pytest.skip("no way to make a folder read-only for root here (unshare/mount "
                        "refused)")
        argv = ["unshare", "--mount", "sh", "-c", script, str(folder), *argv]
    try:
        return subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=120)
    finally:
        folder.chmod(0o755)


def test_item4_a_read_only_data_folder_gets_a_clear_message(settings, capsys):
    settings.data_dir.mkdir(parents=True)
    done = _asf_read_only(settings.data_dir, "ingest")
    assert done.returncode == 1, done.stderr
    assert "är skrivskyddad" in done.stderr and "ASF_DATA_DIR" in done.stderr
    assert "Traceback" not in done.stderr


def test_item4_an_index_in_a_read_only_folder_still_answers(settings, built):
    (settings.corpus_dir / "gnesta.md").write_text(NOTE, encoding="utf-8")   # needs a sync
    done = _asf_read_only(settings.data_dir, "ask", "Hur många intervjuer genomfördes?")
    assert done.returncode == 0, done.stderr
    assert "Källor:" in done.stdout and "är skrivskyddad" in done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------------- item 5
def test_item5_kill_between_passages_and_sentences_leaves_the_index_whole(settings, built):
    (settings.corpus_dir / "gnesta.md").write_text(NOTE, encoding="utf-8")
    worker = _worker("ingest", env={"FAULT_KILL_AT": "units"})
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == -signal.SIGKILL and "killing" in err
    assert _state(settings) == built and _whole(settings)
    report = Index(settings, FakeEmbeddings()).sync()
    assert report.added >= 1 and not _leftovers(settings)
    assert "gnesta.md" in _state(settings).values() and _whole(settings)


def test_item5_passages_without_sentences_are_repaired_at_the_next_sync(settings, built):
    """An index written by an older version that crashed half-way gets its sentences back."""
    index = Index(settings, FakeEmbeddings())
    victim = next(c for c in index.chunks() if c.kind != "case")
    index._units.delete_chunks([victim.chunk_id])
    index.close()
    assert not _whole(settings)
    report = Index(settings, FakeEmbeddings()).sync()
    assert report.added == 1 and _whole(settings)


# ---------------------------------------------------------------------- item 12
def test_item12_a_file_over_the_size_limit_is_refused_before_any_work(settings, built, capsys,
                                                                      tmp_path, monkeypatch):
    monkeypatch.setenv("ASF_MAX_UPLOAD_MB", "1")
    big = tmp_path / "stor.txt"
    big.write_text("Ett ASF säljer tjänster till företag. " * 40_000, encoding="utf-8")
    assert cli.main(["ingest", str(big)]) == 1
    err = capsys.readouterr().err
    assert "för stor för att läsas in" in err and "ASF_MAX_UPLOAD_MB" in err
    assert _state(settings) == built


def test_item12_ctrl_c_stops_cleanly_and_leaves_the_index(settings, built, tmp_path):
    (settings.corpus_dir / "gnesta.md").write_text(NOTE * 50, encoding="utf-8")
    worker = _worker("index", "--rebuild", env={"FAULT_SLOW": "0.2"})
    assert worker.stderr is not None
    worker.stderr.readline()
    time.sleep(0.5)
    worker.send_signal(signal.SIGINT)
    _, err = worker.communicate(timeout=30)
    assert worker.returncode == 130
    assert "Avbrutet. Indexet är oförändrat." in err and "Traceback" not in err
    assert _state(settings) == built and not _leftovers(settings)


def test_item12_long_work_is_announced_with_an_estimate(capsys):
    now = [0.0]
    progress = cli._Progress(clock=lambda: now[0])
    for done, at in ((0, 0.0), (16, 30.0), (32, 30.8)):     # 20 texts per second once loaded
        now[0] = at
        progress(done, 12_000)
    err = capsys.readouterr().err
    assert "12000 textavsnitt och meningar" in err and "10 minuter" in err
    assert "Ctrl-C avbryter" in err
    short = cli._Progress(clock=lambda: now[0])
    for done, at in ((0, 0.0), (16, 30.0), (32, 30.8)):
        now[0] = at
        short(done, 300)
    assert "uppskattningsvis" not in capsys.readouterr().err


def test_the_pointer_names_the_live_generation_and_one_before_it(settings, built):
    names = (settings.data_dir / POINTER).read_text(encoding="utf-8").split()
    assert len(names) == 1
    (settings.corpus_dir / "gnesta.md").write_text(NOTE, encoding="utf-8")
    Index(settings, FakeEmbeddings()).sync()
    Index(settings, FakeEmbeddings()).sync()     # nothing changed: no new generation
    after = (settings.data_dir / POINTER).read_text(encoding="utf-8").split()
    assert after[1:] == names[:1] and after[0] != names[0]
    generations = sorted(p.name for p in settings.data_dir.iterdir()
                         if p.is_dir() and p.name.startswith("index-"))
    assert generations == sorted(after)


def test_item3_the_chat_ui_answers_from_an_index_rebuilt_by_another_process(
        settings, built, fake_model, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_resource.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "ui" / "app.py"), default_timeout=120)
    try:
        app.run()
        app.chat_input[0].set_value("Hur många intervjuer genomfördes?").run()
        assert not app.exception
        (settings.corpus_dir / "gnesta.md").write_text(NOTE, encoding="utf-8")
        for _ in range(2):    # the generation the app opened is gone after the second
            worker = _worker("index", "--rebuild")
            _, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
        app.chat_input[0].set_value("Vad köper vi av Gnestabagarna i Gnesta?").run()
        assert not app.exception
        answer = app.session_state["messages"][-1]["answer"]
        assert answer is not None and any(c.source == "gnesta.md" for c in answer.contexts)
        app.switch_page("app_pages/sources.py").run()
        assert not app.exception
        shown = " ".join(str(getattr(e, "value", "")) for e in app.main)
        assert "does not exist" not in shown and str(settings.data_dir) not in shown
        assert "gnesta.md" in app.dataframe[0].value["Fil"].tolist()
    finally:
        st.cache_resource.clear()


# ---------------------------------------------------------------------- items 9, 13, 14, 15
# Unit-tested elsewhere; here end to end, through the commands a user runs.
def test_item9_invalid_utf8_on_stdin_gets_an_error_line_and_the_batch_goes_on(settings, built):
    done = subprocess.run([sys.executable, str(WORKER), "ask", "--json", "-"], cwd=PROJECT_ROOT,
                          input=b"Hur m\xe5nga intervjuer?\nVad \xe4r ett IOP?\n"
                          + "Vad är ett IOP?\n".encode(),
                          capture_output=True, timeout=120)
    lines = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    assert [("error" in line) for line in lines] == [True, True, False]
    assert "UTF-8" in lines[0]["error"] and lines[2]["citations"]


def test_item13_feedback_export_neutralises_spreadsheet_formulas(settings, capsys):
    from assistant.feedback import FeedbackStore, feedback_path

    FeedbackStore(feedback_path(settings)).record(
        "a1", 1, question='=HYPERLINK("http://evil.example","klicka")', answer="+SUM(1,2)")
    target = settings.data_dir / "export.csv"
    assert cli.main(["feedback", "export", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'+SUM" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_item14_a_link_out_of_the_corpus_is_neither_indexed_nor_listed(settings, capsys,
                                                                       tmp_path):
    secret = tmp_path / "hemligt.txt"
    secret.write_text("Lösenordet är hunter2 och gäller alla konton.\n", encoding="utf-8")
    (settings.corpus_dir / "leak.txt").symlink_to(secret)
    assert cli.main(["ingest"]) == 0
    assert cli.main(["index"]) == 0
    out = capsys.readouterr().out
    assert "leak.txt" not in out and "hemligt" not in out
    assert not any("hunter2" in c.text for c in _chunks(settings))


def test_item15_escape_sequences_in_a_document_never_reach_the_terminal(settings):
    for path in settings.corpus_dir.glob("*.txt"):     # the document is all there is to quote
        path.unlink()
    (settings.corpus_dir / "styr.md").write_text(
        "# Styrtecken\n\nGnestabagarna\x1b[2J säljer\x1b]0;kapad\x07 catering till företag i "
        "Gnesta varje vecka.\n\n" + "Bageriet anställer personer som står långt från "
        "arbetsmarknaden och bakar bröd till luncher och möten. " * 10 + "\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, str(WORKER), "ask",
                           "Vad säljer Gnestabagarna till företag i Gnesta?"],
                          cwd=PROJECT_ROOT, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"Gnestabagarna" in done.stdout
    assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout


def _chunks(settings: Settings) -> list:
    index = Index(settings, FakeEmbeddings())
    try:
        return index.chunks()
    finally:
        index.close()


def test_an_index_moved_with_its_corpus_needs_no_work_and_lists_no_added_files(
        settings, built, tmp_path, monkeypatch):
    """A data folder copied beside a copy of its corpus (a backup, a new machine) is current:
    its stored paths name the old corpus folder, which must not count as added files."""
    import shutil

    moved = tmp_path / "flyttad"
    shutil.copytree(settings.data_dir, moved / "data")
    shutil.copytree(settings.corpus_dir, moved / "corpus")
    monkeypatch.setenv("ASF_DATA_DIR", str(moved / "data"))
    monkeypatch.setenv("ASF_CORPUS_DIR", str(moved / "corpus"))
    assistant = Assistant(Settings(), embeddings=FakeEmbeddings())
    assert assistant.ensure_index() is None
    upload = moved / "data" / "uploads" / "anteckning.md"
    upload.parent.mkdir()
    upload.write_text(NOTE, encoding="utf-8")
    report = assistant.ingest([upload])
    assert report.added == 1 and report.removed == 0
    assert not (moved / "data" / ADDED_FILE).exists()

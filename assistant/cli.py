"""App: the `asf` command, a thin layer over the library."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from assistant.prompts import (
    ERR_EMPTY_QUESTION,
    ERR_NOT_UTF8,
    MSG_BATCH_QUESTION,
    MSG_EMBEDDING_PROGRESS,
    MSG_INDEX_CHANGED,
    MSG_INDEX_KEPT_OTHERS,
    MSG_INDEX_UP_TO_DATE,
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
ROLL_HELP = ("frågeställarens roll: företag, asf eller rådgivare (en kort fråga som "
             "”Hur kommer vi igång?” läses i rollen; rollen väger in i valet av vägledningskort)")


# Work expected to take longer than this is announced with an estimate before most of it.
ANNOUNCE_AFTER_S = 60


_progress_open = False          # a progress line is on stderr without its newline yet


def duration_phrase(seconds: float) -> str:
    """Return a duration in Swedish words ("1 minut", "3 minuter", "under en minut")."""
    from assistant.prompts import DURATION_MINUTE, DURATION_MINUTES, DURATION_UNDER_A_MINUTE

    minutes = round(seconds / 60)
    if minutes < 1:
        return DURATION_UNDER_A_MINUTE
    return DURATION_MINUTE if minutes == 1 else DURATION_MINUTES.format(minutes=minutes)


class _Progress:
    """Print embedding progress on one line of stderr, with an estimate for long work.

    The estimate comes from the pace measured on this machine, not from a constant: the time
    per text varies some twentyfold with the texts' length and the load on the CPU (the
    report's 800 short texts ran at 20 per second, 4,000 passages of a long PDF at 1-2). The
    first batch is not timed, since it includes loading the model; the estimate is printed
    once the next batch is done, and the progress line's time left uses the same pace.
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        import time

        self.clock = clock or time.monotonic
        self.warm: tuple[float, int] | None = None   # (time, done) after the first batch
        self.announced = False

    def _seconds_left(self, now: float, done: int, total: int) -> float | None:
        """Return the time left at the pace measured since the first batch, or None."""
        if self.warm is None or done <= self.warm[1] or now <= self.warm[0]:
            return None
        rate = (done - self.warm[1]) / (now - self.warm[0])
        return (total - done) / rate

    def __call__(self, done: int, total: int) -> None:
        from assistant.prompts import MSG_EMBEDDING_ETA, MSG_INGEST_ESTIMATE

        now = self.clock()
        if self.warm is None and done > 0:
            self.warm = (now, done)
        left = self._seconds_left(now, done, total) if done < total else None
        if left is not None and not self.announced:
            self.announced = True
            if left > ANNOUNCE_AFTER_S:
                _end_line()
                print(MSG_INGEST_ESTIMATE.format(texts=total, duration=duration_phrase(left)),
                      file=sys.stderr, flush=True)
        line = MSG_EMBEDDING_PROGRESS.format(done=done, total=total)
        if left is not None and left > ANNOUNCE_AFTER_S:
            line += MSG_EMBEDDING_ETA.format(duration=duration_phrase(left))
        global _progress_open
        _progress_open = done < total
        end = "" if _progress_open else "\n"
        print("\r" + line.ljust(60), end=end, file=sys.stderr, flush=True)


def _end_line() -> None:
    """End an unfinished progress line, so the next message starts on its own line."""
    global _progress_open
    if _progress_open:
        print(file=sys.stderr)
        _progress_open = False


def _fail(exc: BaseException) -> None:
    """Print an error on its own line of stderr, after an unfinished progress line."""
    _end_line()
    print(f"Fel: {exc}", file=sys.stderr)


def _settings(args: argparse.Namespace):
    from assistant.config import load_settings

    settings = load_settings(getattr(args, "settings", None))
    if getattr(args, "backend", None):
        settings.backend = args.backend
    return settings


def _assistant(args: argparse.Namespace):
    from assistant.pipeline import Assistant

    assistant = Assistant(_settings(args))
    report = assistant.ensure_index(progress=_Progress())
    if report is not None:
        for error in report.errors:
            print(f"Varning: {error}", file=sys.stderr)
    return assistant


# Control characters (escape sequences that clear the screen or retitle the window) from a
# document must never reach a terminal; newlines and tabs stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Return text with every control character but newline and tab removed."""
    return _CONTROL.sub("", text)


def format_answer(answer) -> str:
    """Return an answer with its citations (and its note last), for reading in a terminal."""
    from assistant.answering.base import source_lines

    lines = [answer.answer, "", *source_lines(answer)]
    if answer.note:
        lines += ["", answer.note]
    return terminal_safe("\n".join(lines + related_lines(answer)))


def terminal_width() -> int | None:
    """Return the width to wrap output at: COLUMNS or the terminal's; None when the output is
    not a terminal (a pipe or a file gets the lines as they are)."""
    import os
    import shutil

    if not os.environ.get("COLUMNS") and not sys.stdout.isatty():
        return None
    return max(20, shutil.get_terminal_size((80, 24)).columns)


def wrap_text(text: str, width: int | None) -> str:
    """Return text wrapped at word boundaries to `width`, each line keeping its indentation.

    A continued line of an indented source line ("  [1] …", "      ”…”") lines up under it.
    """
    import textwrap

    if width is None:
        return text
    out = []
    for line in text.split("\n"):
        indent = line[:len(line) - len(line.lstrip(" "))]
        if len(line) <= width:
            out.append(line)
            continue
        bullet = re.match(r" *(?:\[\d+\]|•|-) ", line)
        follow = " " * len(bullet.group(0)) if bullet else indent
        out.append(textwrap.fill(line.strip(), width, initial_indent=indent,
                                 subsequent_indent=follow, break_long_words=False,
                                 break_on_hyphens=False))
    return "\n".join(out)


class StreamWrapper:
    """Wrap streamed text at word boundaries: a word is held until it is complete, then
    printed on the current line or, when it would pass the width, on the next."""

    def __init__(self, width: int, column: int = 0):
        self.width, self.column = width, column
        self.word, self.spaces = "", 0

    def feed(self, text: str) -> str:
        """Return what can be printed of the text so far."""
        out = []
        for ch in text:
            if ch == "\n":
                out += [self._word(), "\n"]
                self.column, self.spaces = 0, 0
            elif ch in " \t":
                out.append(self._word())
                self.spaces += 1
            else:
                self.word += ch
        return "".join(out)

    def flush(self) -> str:
        """Return the word still held."""
        return self._word()

    def _word(self) -> str:
        word, self.word = self.word, ""
        if not word:
            return ""
        if self.column + self.spaces and self.column + self.spaces + len(word) > self.width:
            self.column, self.spaces = len(word), 0
            return "\n" + word
        text = " " * self.spaces + word
        self.column += len(text)
        self.spaces = 0
        return text


def related_lines(answer) -> list[str]:
    """Return the related questions offered after an answer (none: no lines)."""
    from assistant.prompts import RELATED_HEADING

    if not answer.related:
        return []
    return ["", RELATED_HEADING, *(f"  • {q}" for q in answer.related)]


def cmd_setup_model(args: argparse.Namespace) -> int:
    from assistant.index.model_setup import ModelSetupError, ensure_model

    settings = _settings(args)
    try:
        ensure_model(settings.models_dir)
    except ModelSetupError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def expand_paths(paths: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """Return the files to ingest (a folder gives its corpus files, recursively, sorted) and
    the folders that hold none. Hidden files and folders are skipped, as in the corpus."""
    from assistant.cases.cards import is_corpus_file

    files: list[Path] = []
    empty: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(p for p in path.rglob("*") if is_corpus_file(p)
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        files += found
        if not found:
            empty.append(path)
    return files, empty


def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.pipeline import Assistant
    from assistant.prompts import ERR_FOLDER_EMPTY

    files, empty = expand_paths(args.paths)
    for folder in empty:
        print(f"Fel: {ERR_FOLDER_EMPTY.format(path=folder)}", file=sys.stderr)
    if empty:
        return EXIT_ERROR
    assistant = Assistant(_settings(args))
    report = assistant.ingest(files, progress=_Progress(), strict=bool(args.paths))
    for error in report.errors:
        print(f"Fel: {error}", file=sys.stderr)
    if report.errors and args.paths:
        print("Inget ändrades i indexet. Rätta eller ta bort filerna ovan och försök igen.",
              file=sys.stderr)
        return EXIT_ERROR
    message = MSG_INDEX_CHANGED if report.changed else MSG_INDEX_UP_TO_DATE
    print(message.format(added=report.added, removed=report.removed, sources=report.sources,
                         chunks=report.chunks))
    if report.kept_sources:
        print(MSG_INDEX_KEPT_OTHERS.format(count=len(report.kept_sources)))
    return EXIT_ERROR if report.errors else EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    from assistant.pipeline import Assistant

    assistant = Assistant(_settings(args))
    if args.rebuild:
        report = assistant.index.rebuild(progress=_Progress())
        for error in report.errors:
            print(f"Varning: {error}", file=sys.stderr)
        print(MSG_INDEX_CHANGED.format(added=report.added, removed=report.removed,
                                       sources=report.sources, chunks=report.chunks))
        if report.kept_sources:
            print(MSG_INDEX_KEPT_OTHERS.format(count=len(report.kept_sources)))
        return EXIT_OK
    if not assistant.index.exists():
        from assistant.prompts import ERR_NO_INDEX

        print(ERR_NO_INDEX)
        return EXIT_ERROR
    for source, info in sorted(assistant.index.sources().items()):
        print(f"{info['chunks']:4d} avsnitt  {source}  ({info['title']})")
    return EXIT_OK


def _reject(question: str, error: Exception, as_json: bool) -> int:
    """Report a question that cannot be asked (as JSON or on stderr); return exit status 2."""
    if as_json:
        print(json.dumps({"question": question, "error": str(error)}, ensure_ascii=False))
    else:
        print(f"Fel: {error}", file=sys.stderr)
    return EXIT_USAGE


def _ask_one(assistant, question: str, as_json: bool,
             history: list[dict[str, str]] | None = None, role: str | None = None) -> int:
    from assistant.pipeline import QuestionError

    try:
        answer = assistant.ask(question, history or [], role=role)
    except QuestionError as exc:
        return _reject(question, exc, as_json)
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
    else:
        print(format_answer(answer))
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.pipeline import QuestionError

    question = " ".join(args.question)
    if question.strip() != "-":
        # Check before loading any model, so a bad question is answered at once.
        from assistant.pipeline import validate_question

        try:
            validate_question(question, _settings(args).answer.max_question_chars)
        except QuestionError as exc:
            return _reject(question, exc, args.json)
        return _ask_one(_assistant(args), question, args.json, role=args.roll)
    assistant = _assistant(args)
    status = EXIT_OK
    as_json = args.json
    # Bytes, decoded line by line: a line that is not UTF-8 gets an error line and the batch
    # goes on (a decoding error would otherwise end it with a traceback). With --json every input
    # line gets one JSON line; without it each answer follows its question as text.
    for raw in sys.stdin.buffer:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            status = max(status, _reject(raw.decode("utf-8", errors="replace").strip(),
                                         ValueError(ERR_NOT_UTF8), as_json))
            continue
        if not line.strip():
            # An empty question still gets its line, so callers can pair input and output.
            status = max(status, _reject("", ValueError(ERR_EMPTY_QUESTION), as_json))
            continue
        request = _json_request(line)
        if isinstance(request, str):            # a broken JSON line: say why, go on
            status = max(status, _reject(line.strip(), ValueError(request), as_json))
            continue
        question, history = request if request is not None else (line.rstrip("\n"), None)
        if not as_json:
            print(MSG_BATCH_QUESTION.format(question=question.strip()), flush=True)
        status = max(status, _ask_one(assistant, question, as_json, history, args.roll))
        if not as_json:
            print(flush=True)
    return status


def _json_request(line: str) -> tuple[str, list[dict[str, str]]] | str | None:
    """Read a JSON Lines request `{"question": …, "history": [{"role", "content"}, …]}`.

    Return (question, history); a message (str) when the line is JSON of the wrong shape;
    None when the line is a plain question (it does not start with "{").
    """
    from assistant.prompts import ERR_JSON_REQUEST

    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return ERR_JSON_REQUEST
    question = data.get("question") if isinstance(data, dict) else None
    history = data.get("history", []) if isinstance(data, dict) else None
    if not isinstance(question, str) or not isinstance(history, list) or not all(
            isinstance(t, dict) and t.get("role") in ("user", "assistant")
            and isinstance(t.get("content"), str) for t in history):
        return ERR_JSON_REQUEST
    return question, [{"role": t["role"], "content": t["content"]} for t in history]


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.pipeline import QuestionError
    from assistant.types import Answer

    assistant = _assistant(args)
    history: list[dict[str, str]] = []
    print(wrap_text("ASF-assistenten. Ställ en fråga om affärer mellan ASF och företag "
                    "(tom rad eller Ctrl-D avslutar).", terminal_width()))
    while True:
        try:
            question = input("\nDu: ")
        except (EOFError, KeyboardInterrupt):
            print()
            return EXIT_OK
        if not question.strip():
            return EXIT_OK
        prompt = "Assistenten: "
        print("\n" + prompt, end="", flush=True)
        width = terminal_width()
        wrapper = StreamWrapper(width or sys.maxsize, column=len(prompt))
        streamed: list[str] = []
        try:
            for event in assistant.stream(question, history, role=args.roll):
                if isinstance(event, Answer):
                    print(wrapper.flush() + "\n\n"
                          + wrap_text(_chat_tail(event, "".join(streamed)), width))
                    history += [{"role": "user", "content": question},
                                {"role": "assistant", "content": event.answer}]
                else:
                    streamed.append(event)
                    print(wrapper.feed(terminal_safe(event)), end="", flush=True)
        except QuestionError as exc:
            print(f"Fel: {exc}")


def _chat_tail(answer, streamed: str) -> str:
    """Return what follows a streamed answer: its note, checked text and sources.

    Only checked text streams, so this is normally just the note and the sources. The final
    Answer is authoritative: when it differs from what streamed (the endpoint failed after
    some checked sentences were shown, and the extractive answer replaced them), it is
    printed again in full.
    """
    from assistant.answering.base import source_lines
    from assistant.prompts import MSG_CHAT_CHECKED
    from assistant.text import collapse

    parts = []
    if collapse(streamed) != collapse(answer.answer):
        parts.append(f"{MSG_CHAT_CHECKED}\n{answer.answer}")
    parts.append("\n".join(source_lines(answer)))
    if answer.note:
        parts.append(answer.note)
    return terminal_safe("\n\n".join(parts) + "\n".join(["", *related_lines(answer)]))


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.harness import main as eval_main

    _settings(args)         # the harness builds its own; a bad ASF_* value is reported first
    argv = []
    if args.backend:
        argv += ["--backend", args.backend]
    if args.ablation:
        argv.append("--ablation")
    if args.limit:
        argv += ["--limit", str(args.limit)]
    if args.settings:
        argv += ["--settings", args.settings]
    return eval_main(argv)


def format_case(case, quotes: bool = False) -> str:
    """Return one case card for reading in a terminal (with the quote under each fact)."""
    from assistant.prompts import CASE_FIELD_LABELS as LABELS

    lines = [f"{case.name}  ({case.about})"]
    if quotes:
        for name, fact in case.facts():
            lines += [f"  {LABELS[name]}: {fact.value}", f"      ”{fact.quote}”"]
    else:
        for name in ("summary", "industry", "partners", "arena", "started_by", "partner_values"):
            if values := case.values(name):
                lines.append(f"  {LABELS[name]}: {'; '.join(values)}")
    lines += [f"  {LABELS['section']}: {case.section}", f"  Fil: {case.source}"]
    return "\n".join(lines)


def cmd_cases(args: argparse.Namespace) -> int:
    from assistant.cases.cards import check_quotes, document_text, is_case_file
    from assistant.cases.catalog import Catalog, cases_json, query_from_options
    from assistant.cases.guide import is_guide_file
    from assistant.index.passage_index import Index
    from assistant.ingest.figures import is_figure_file
    from assistant.prompts import MSG_CASES_COUNT, MSG_CASES_NONE, MSG_CASES_QUOTES_OK

    index = Index(_settings(args))          # reads only the corpus folders; no model is loaded
    files = index.corpus_files()
    catalog = Catalog.load(files, index.source_key)
    for error in catalog.errors:
        print(f"Fel: {error}", file=sys.stderr)
    if args.check:
        # Case cards are checked against the documents, not against other cards (case or
        # figure cards, whose own quotes a test checks).
        texts = [document_text(p) for p in files
                 if not is_case_file(p) and not is_figure_file(p) and not is_guide_file(p)]
        problems = [m for case in catalog for m in check_quotes(case, "\n".join(texts))]
        for problem in problems:
            print(f"Fel: {problem}", file=sys.stderr)
        if not problems and not catalog.errors:
            print(MSG_CASES_QUOTES_OK.format(count=len(catalog)))
        return EXIT_ERROR if problems or catalog.errors else EXIT_OK
    try:
        query = query_from_options(args.industry, args.arena, args.started_by, args.place,
                                   args.kind, " ".join(args.text))
    except ValueError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    matches = catalog.filter(query)
    if args.json:
        print(cases_json(matches))
        return EXIT_OK
    if not matches:
        print(MSG_CASES_NONE)
        return EXIT_OK
    criteria = query.criteria()
    print(MSG_CASES_COUNT.format(count=len(matches)) + (f" ({criteria})" if criteria else ""))
    for match in matches:
        print("\n" + format_case(match.case, quotes=args.quotes))
    return EXIT_OK


def cmd_guide(args: argparse.Namespace) -> int:
    """List the guide cards, show one, check every quote against its section, or draft cards
    for a document (`asf guide draft FILE`)."""
    if args.id == "draft":
        return _guide_draft(args)
    from assistant.cases.cards import is_case_file
    from assistant.cases.guide import (
        check_guide_quotes,
        is_guide_file,
        load_guide_card,
        section_texts,
    )
    from assistant.index.passage_index import Index
    from assistant.ingest.chunking import chunk_document
    from assistant.ingest.figures import is_figure_file
    from assistant.prompts import (
        GUIDE_ROLE_LABELS,
        MSG_GUIDE_COUNT,
        MSG_GUIDE_NONE,
        MSG_GUIDE_NOT_FOUND,
        MSG_GUIDE_QUOTES_OK,
    )
    from assistant.types import IngestError

    if args.file:
        print(f"Fel: {MSG_GUIDE_NOT_FOUND.format(id=' '.join([args.id, args.file]))}",
              file=sys.stderr)
        return EXIT_USAGE
    index = Index(_settings(args))          # reads only the corpus folders; no model is loaded
    files = index.corpus_files()
    cards, problems = [], []
    for path in (p for p in files if is_guide_file(p)):
        try:
            cards.append(load_guide_card(path))
        except IngestError as exc:
            problems.append(str(exc))
    if args.check:
        documents = [index.load(p) for p in files
                     if not (is_guide_file(p) or is_case_file(p) or is_figure_file(p))]
        sections = section_texts(c for doc in documents for c in chunk_document(doc, 100_000))
        problems += [str(e) for card in cards for e in check_guide_quotes(card, sections)]
        for problem in problems:
            print(f"Fel: {problem}", file=sys.stderr)
        if not problems:
            print(MSG_GUIDE_QUOTES_OK.format(count=len(cards)))
        return EXIT_ERROR if problems else EXIT_OK
    for problem in problems:
        print(f"Fel: {problem}", file=sys.stderr)
    if args.id:
        card = next((c for c in cards if c.id == args.id), None)
        if card is None:
            print(f"Fel: {MSG_GUIDE_NOT_FOUND.format(id=args.id)}", file=sys.stderr)
            return EXIT_USAGE
        lines = [card.title, ""]
        for n, point in enumerate(card.points, start=1):
            lines += [f"- {point.quote} [{n}]"]
        lines += ["", "Källor:", *(f"  [{n}] {p.section}" for n, p in
                                   enumerate(card.points, start=1))]
        print(terminal_safe("\n".join(lines)))
        return EXIT_OK
    shown = [c for c in cards if not args.roll or args.roll in c.roles]
    if not shown:
        print(MSG_GUIDE_NONE)
        return EXIT_OK
    print(MSG_GUIDE_COUNT.format(count=len(shown)))
    for card in shown:
        roles = ", ".join(GUIDE_ROLE_LABELS[r] for r in card.roles)
        print(terminal_safe(f"  {card.id}: {card.title} ({roles})"))
    return EXIT_ERROR if problems else EXIT_OK


def _guide_draft(args: argparse.Namespace) -> int:
    from assistant.guide_draft import DraftError, draft_cards
    from assistant.prompts import ERR_GUIDE_DRAFT_FILE, MSG_GUIDE_DRAFT_DONE
    from assistant.types import IngestError

    if not args.file:
        print(f"Fel: {ERR_GUIDE_DRAFT_FILE}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = draft_cards(Path(args.file), _settings(args), args.out,
                             progress=lambda line: print(terminal_safe(line), file=sys.stderr))
    except (DraftError, IngestError) as exc:
        print(f"Fel: {terminal_safe(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    print(MSG_GUIDE_DRAFT_DONE.format(count=len(report.written), folder=report.folder))
    return EXIT_OK


def _role(value: str) -> str:
    """Return the role a --roll value names (Swedish or the internal name)."""
    from assistant.prompts import ERR_BAD_ROLE, GUIDE_ROLE_LABELS, ROLE_ALIASES

    role = ROLE_ALIASES.get(value.strip().lower())
    if role is None:
        raise argparse.ArgumentTypeError(ERR_BAD_ROLE.format(
            value=value, allowed=", ".join(GUIDE_ROLE_LABELS.values())))
    return role


def _plan_output_problem(path: Path, force: bool) -> str | None:
    """Return why the plan cannot be written to `path` (Swedish), or None when it can.

    Checked before the model loads, so a wrong path is answered at once, not after a minute.
    An existing file is replaced only with --force or after a yes at the terminal.
    """
    import tempfile

    from assistant.prompts import (
        ERR_PLAN_OUTPUT_EXISTS,
        ERR_PLAN_OUTPUT_IS_FOLDER,
        ERR_PLAN_OUTPUT_NO_FOLDER,
        ERR_PLAN_OUTPUT_READ_ONLY,
        MSG_PLAN_OVERWRITE,
        PLAN_YES,
    )

    folder = path.parent
    if path.is_dir():
        return ERR_PLAN_OUTPUT_IS_FOLDER.format(path=path)
    if not folder.is_dir():
        return ERR_PLAN_OUTPUT_NO_FOLDER.format(folder=folder)
    try:
        # Creating a file is the one test that also sees read-only mounts and full disks.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".asf-plan-"):
            pass
    except OSError:
        return ERR_PLAN_OUTPUT_READ_ONLY.format(folder=folder)
    if path.exists() and not force:
        if not sys.stdin.isatty():
            return ERR_PLAN_OUTPUT_EXISTS.format(path=path)
        try:
            reply = input(MSG_PLAN_OVERWRITE.format(path=path))
        except EOFError:
            reply = ""
        if reply.strip().lower() not in PLAN_YES:
            return ERR_PLAN_OUTPUT_EXISTS.format(path=path)
    return None


def _write_file(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: an existing file is replaced only by a complete one."""
    import os
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".asf-plan-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def cmd_plan(args: argparse.Namespace) -> int:
    from assistant.planner import (
        PlanError,
        Planner,
        PlanRequest,
        parse_length,
        parse_participants,
    )
    from assistant.prompts import (
        ERR_PLAN_OUTPUT,
        ERR_PLAN_OUTPUT_READ_ONLY,
        MSG_PLAN_OPENING,
        MSG_PLAN_WRITTEN,
    )

    try:
        # Check the inputs before any model is loaded, so a typo is answered at once.
        request = PlanRequest(theme=" ".join(args.tema), place=args.ort or "",
                              groups=tuple(args.malgrupp),
                              participants=parse_participants(args.deltagare),
                              minutes=parse_length(args.langd)).checked()
    except PlanError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "docx" and not args.output:
        print(f"Fel: {ERR_PLAN_OUTPUT}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.output) if args.output else None
    if path is not None:
        problem = _plan_output_problem(path, args.force)
        if problem:
            print(f"Fel: {problem}", file=sys.stderr)
            return EXIT_USAGE

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    say(MSG_PLAN_OPENING)
    plan = Planner(_assistant(args)).plan(request, progress=say)
    if args.format == "json":
        text = json.dumps(plan.to_dict(), ensure_ascii=False, indent=2) + "\n"
    elif args.format == "md":
        text = plan.to_markdown()
    else:
        text = ""
    if path is None:
        sys.stdout.write(text)
        return EXIT_OK
    data = plan.to_docx() if args.format == "docx" else text.encode("utf-8")
    try:
        _write_file(path, data)
    except OSError:
        # The folder was writable a minute ago (checked above); it changed while we worked.
        print(f"Fel: {ERR_PLAN_OUTPUT_READ_ONLY.format(folder=path.parent)}", file=sys.stderr)
        return EXIT_ERROR
    print(MSG_PLAN_WRITTEN.format(path=path), file=sys.stderr)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistant.prompts import MSG_SERVE_KEYS, MSG_SERVE_LOOPBACK
    from assistant.server import api_keys, check_bind, create_app

    settings = _settings(args)
    host = args.host or settings.api.host
    port = args.port or settings.api.port
    refusal = check_bind(settings, host)
    if refusal:
        print(f"Fel: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    keys = api_keys(settings)
    print(MSG_SERVE_KEYS.format(host=host, port=port, count=len(keys)) if keys else
          MSG_SERVE_LOOPBACK.format(host=host, port=port), file=sys.stderr, flush=True)
    # A stop (SIGTERM) gives requests in flight a few seconds, then closes them: a client
    # that never reads its answer, or an answer stuck in a remote call, cannot keep it up.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                proxy_headers=False, timeout_graceful_shutdown=settings.api.shutdown_s)
    return EXIT_OK


@contextmanager
def _swedish_argparse() -> Iterator[None]:
    """Let argparse's own texts (usage, headings, errors) come out in Swedish meanwhile.

    argparse looks every text up through its module's gettext function `_` when it uses it,
    so the lookup is swapped for one in ARGPARSE_SV (English where a text is missing).
    """
    from assistant.prompts import ARGPARSE_SV

    previous = argparse._  # type: ignore[attr-defined]
    argparse._ = lambda text: ARGPARSE_SV.get(text) or previous(text)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = previous  # type: ignore[attr-defined]


class SwedishArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help, usage and errors are Swedish (its subcommands too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with _swedish_argparse():
            super().__init__(*args, **kwargs)

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        with _swedish_argparse():
            return super().parse_args(*args, **kwargs)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        with _swedish_argparse():
            return super().parse_known_args(*args, **kwargs)

    def format_help(self) -> str:
        with _swedish_argparse():
            return super().format_help()

    def format_usage(self) -> str:
        with _swedish_argparse():
            return super().format_usage()

    def error(self, message: str) -> NoReturn:
        with _swedish_argparse():
            super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `asf` command."""
    parser = SwedishArgumentParser(
        prog="asf",
        description="ASF-assistenten: frågor och svar med källhänvisningar om affärer mellan "
                    "arbetsintegrerande sociala företag och näringslivet.")
    parser.add_argument("--settings", metavar="NAMN",
                        help="inställningsprofil ur assistant/presets/ (t.ex. fp32, bm25); "
                             "samma som ASF_PRESET")
    sub = parser.add_subparsers(dest="command", required=True, metavar="KOMMANDO")

    p = sub.add_parser("setup-model", help="bygg inbäddningsmodellen från PyPI-paketen")
    p.set_defaults(func=cmd_setup_model)

    p = sub.add_parser("ingest", help="läs in korpusen och eventuella filer i indexet")
    p.add_argument("paths", nargs="*", metavar="SÖKVÄG",
                   help=".txt-, .md- eller .pdf-filer, eller mappar med sådana, att lägga till")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("index", help="visa indexet, eller bygg om det med --rebuild")
    p.add_argument("--rebuild", action="store_true", help="bygg om hela indexet")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="ställ en fråga ('-' läser en fråga per rad från stdin)")
    p.add_argument("question", nargs="+", metavar="FRÅGA", help="frågan, eller - för stdin")
    p.add_argument("--json", action="store_true", help="skriv svaret som JSON")
    p.add_argument("--backend", choices=["extractive", "llm"], help="svarsmotor")
    p.add_argument("--roll", type=_role, metavar="ROLL", help=ROLL_HELP)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interaktiv chatt i terminalen")
    p.add_argument("--backend", choices=["extractive", "llm"], help="svarsmotor")
    p.add_argument("--roll", type=_role, metavar="ROLL", help=ROLL_HELP)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("guide", help="vägledningskorten: lista, visa eller kontrollera dem",
                       description="Vägledningskorten i corpus/guide/ (formatet står i "
                                   "corpus/guide/TEMPLATE.md): vanliga frågor besvarade med "
                                   "ordagranna citat ur rapporten.")
    p.add_argument("id", nargs="?", metavar="ID",
                   help="visa kortet med detta id, eller ”draft FIL”: låt språkmodellen "
                        "(ASF_BACKEND=llm) föreslå kort för ett dokuments avsnitt, med bara "
                        "ordagranna citat, att granska innan de används")
    p.add_argument("file", nargs="?", metavar="FIL", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, metavar="MAPP",
                   help="mapp för utkasten (standard: data/guide-drafts/<dokument>)")
    p.add_argument("--roll", type=_role, metavar="ROLL", help="bara kort för rollen")
    p.add_argument("--check", action="store_true",
                   help="kontrollera att varje citat finns ordagrant i sitt avsnitt")
    p.set_defaults(func=cmd_guide)

    p = sub.add_parser("cases", help="lista och filtrera rapportens fallexempel",
                       description="Lista rapportens fallexempel (corpus/cases/*.yaml). Flera "
                                   "filter kombineras med och; samma filter flera gånger "
                                   "betyder eller.")
    p.add_argument("text", nargs="*", metavar="TEXT", help="fritext som ska finnas i fallkortet")
    p.add_argument("--industry", action="append", default=[], metavar="BRANSCH",
                   help="bransch, t.ex. fastighet, industri, IT, bygg, event")
    p.add_argument("--arena", action="append", default=[], metavar="ARENA",
                   help="näringslivet, näringslivsnätverk, kommuner och myndigheter, andra ASF")
    p.add_argument("--started-by", action="append", default=[], metavar="SÄTT",
                   help="direktförsäljning, upphandling, rekommendation, styrelse- och "
                        "nätverkskontakter, tidigare branschkontakt, behov i närområdet")
    p.add_argument("--place", action="append", default=[], metavar="ORT", help="ort eller region")
    p.add_argument("--kind", action="append", default=[], metavar="TYP",
                   help="ASF, company (företag), network (nätverk), public body (offentlig aktör)")
    p.add_argument("--json", action="store_true", help="skriv fallkorten som JSON")
    p.add_argument("--quotes", action="store_true", help="visa rapportcitaten bakom varje fält")
    p.add_argument("--check", action="store_true",
                   help="kontrollera att varje citat finns ordagrant i korpusens dokument")
    p.set_defaults(func=cmd_cases)

    from assistant.prompts import PLAN_TARGET_GROUPS

    p = sub.add_parser("plan", help="planera en nätverksträff eller workshop utifrån rapporten",
                       description="Gör en plan för en nätverksträff efter rapportens modell "
                                   "(Syfte, Resultat, Målgrupp, Metod, Uppföljning), med "
                                   "citerade råd, fallexempel, dagordning, diskussionsfrågor "
                                   "och lärdomar från träffarna 2018.")
    p.add_argument("--tema", nargs="+", required=True, help="träffens tema, t.ex. "
                   "\"Affärssamverkan inom fastighetsbranschen\"")
    p.add_argument("--ort", help="ort eller region")
    p.add_argument("--malgrupp", action="append", default=[], metavar="GRUPP",
                   help="målgrupp (flera gånger): " + ", ".join(PLAN_TARGET_GROUPS))
    p.add_argument("--deltagare", default="25", help="väntat antal deltagare")
    p.add_argument("--langd", default="3 timmar",
                   help="träffens längd: \"2 timmar\", \"90 min\", halvdag, heldag")
    p.add_argument("--format", choices=["md", "json", "docx"], default="md")
    p.add_argument("--output", "-o", metavar="FIL", help="skriv till en fil (krävs för docx)")
    p.add_argument("--force", "-f", action="store_true",
                   help="skriv över en befintlig fil utan att fråga")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("serve", help="starta HTTP-API:t (med OpenAI-kompatibel slutpunkt)",
                       description="Starta ASF-assistenten som HTTP-API: /v1/ask, "
                                   "/v1/ask/stream, /v1/chat/completions (OpenAI-kompatibel), "
                                   "/v1/models, /v1/cases, /healthz, /readyz och /docs. Utan "
                                   "ASF_API_KEYS svarar den bara på 127.0.0.1.")
    p.add_argument("--host", help="adress att lyssna på (standard ASF_API__HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (standard ASF_API__PORT, 8000)")
    p.add_argument("--backend", choices=["extractive", "llm"], help="svarsmotor")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="kör utvärderingen och skriv eval/report.md")
    p.add_argument("--backend", choices=["extractive", "llm"], help="svarsmotor")
    p.add_argument("--ablation", action="store_true", help="jämför även varianter")
    p.add_argument("--limit", type=int, default=0, help="bara de N första frågorna")
    p.set_defaults(func=cmd_eval)
    from assistant.feedback import register as register_feedback

    register_feedback(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `asf` command."""
    from assistant.config import read_preset

    args = build_parser().parse_args(argv)
    try:
        if args.settings:
            read_preset(args.settings)          # a typo fails before anything loads
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # Writes go into a generation that becomes live only when whole (store.py).
        from assistant.prompts import MSG_INTERRUPTED

        print(f"\n{MSG_INTERRUPTED}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`asf ask … | head`): stop quietly, as other tools do.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a stack trace
        from assistant.config import SettingsError
        from assistant.index.embeddings import ModelMissingError
        from assistant.index.passage_index import (
            IndexMissingError,
            IndexModelMismatchError,
            SourcesFileError,
        )
        from assistant.index.store import StoreError
        from assistant.types import IngestError

        if isinstance(exc, SettingsError):
            _fail(exc)
            return EXIT_USAGE
        if isinstance(exc, ModelMissingError | IndexMissingError | IndexModelMismatchError
                      | SourcesFileError | StoreError | IngestError):
            _fail(exc)
            return EXIT_ERROR
        raise


if __name__ == "__main__":
    raise SystemExit(main())

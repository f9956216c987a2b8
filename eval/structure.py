"""Measure the code's structure for the structure issue: word rules outside the lexicon, the
pipeline's size, the most complex functions. A benchmark (it prints), not a test.

    python -m eval.structure [--json]

A "word rule" is a regular-expression literal (an argument of re.compile/search/match/sub/
findall/finditer/fullmatch/split, or of a local helper that compiles) or a frozenset/set of
words built from a string, whose text holds a word of three or more letters once character
classes, escapes and group syntax are removed, or a set literal of three or more such strings.
Word lists as data live in assistant/lexicon/.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "assistant"
_RE_FUNCTIONS = {"compile", "search", "match", "sub", "subn", "findall", "finditer",
                 "fullmatch", "split"}
_HELPERS = {"_rx", "rx"}
_WORD = re.compile(r"[a-zåäöé]{3,}", re.IGNORECASE)


def _has_word(pattern: str) -> bool:
    text = re.sub(r"\\[a-zA-Z]", " ", pattern)           # \b \w \s \d ...
    text = re.sub(r"\[[^\]]*\]", " ", text)               # character classes
    text = re.sub(r"\(\?[a-zA-Z:!=<]*", " ", text)         # group syntax (?: (?! (?<=
    return bool(_WORD.search(text))


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values
                       if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return (left or "") + (right or "") if left is not None or right is not None else None
    return None


def word_rules(path: Path) -> list[tuple[int, str]]:
    """Return (line, literal) of every word rule in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Set) and len(node.elts) >= 3 and all(
                _literal(e) is not None for e in node.elts):
            text = " ".join(_literal(e) or "" for e in node.elts)
            if _has_word(text):
                found.append((node.lineno, text[:60]))
            continue
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = (func.attr if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id == "re" else func.id if isinstance(func, ast.Name) else None)
        text = _literal(node.args[0])
        regex = name in _RE_FUNCTIONS or name in _HELPERS
        # frozenset("a b c".split()): the argument is a call, its receiver the literal.
        wordset = (name in {"frozenset", "set"} and isinstance(node.args[0], ast.Call)
                   and isinstance(node.args[0].func, ast.Attribute)
                   and node.args[0].func.attr == "split")
        if wordset:
            text = _literal(node.args[0].func.value) or ""
        if text is None:
            continue
        if (regex or wordset) and _has_word(text):
            found.append((node.lineno, text[:60]))
    return found


def complexity(limit: int) -> list[str]:
    """Return ruff's report of functions more complex than `limit` (McCabe)."""
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([str(ruff), "check", "assistant", "ui", "--select", "C901",
                          "--config", f"lint.mccabe.max-complexity = {limit}",
                          "--output-format", "concise", "--no-cache"],
                         cwd=ROOT, capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if "C901" in line]


def measure() -> dict:
    modules = sorted(p for p in PACKAGE.rglob("*.py") if "lexicon" not in p.parts)
    rules = {str(p.relative_to(ROOT)): word_rules(p) for p in modules}
    rules = {k: v for k, v in rules.items() if v}
    return {
        "word_rules_outside_lexicon": sum(len(v) for v in rules.values()),
        "word_rules_by_module": {k: len(v) for k, v in sorted(rules.items(),
                                                              key=lambda kv: -len(kv[1]))},
        "pipeline_lines": len((PACKAGE / "pipeline.py").read_text().splitlines()),
        "functions_above_20": complexity(20),
        "functions_above_15": complexity(15),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Mät kodens struktur")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--list", action="store_true", help="visa varje ordregel")
    args = parser.parse_args()
    result = measure()
    if args.list:
        for p in sorted(PACKAGE.rglob("*.py")):
            if "lexicon" in p.parts:
                continue
            for line, text in word_rules(p):
                print(f"{p.relative_to(ROOT)}:{line}: {text}")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

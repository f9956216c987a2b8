"""The follow-up conversation sets (eval/followups*.yaml): every
key phrase is verbatim report text, every item a conversation with earlier turns.

Uses only yaml + pathlib + re, as tests/test_persona_set.py does.
"""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "corpus" / "sweco-asf-samverkan-naringslivet.txt"
SETS = [ROOT / "eval" / name
        for name in ("followups.yaml", "followups_dev2.yaml", "followups_heldout.yaml",
                     "followups_heldout2.yaml")]


def _norm(text: str) -> str:
    text = text.replace("\u2022", "").replace("\uf0b7", "")
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_every_phrase_is_in_the_report_and_every_item_follows_up(path: Path) -> None:
    report = _norm(REPORT.read_text(encoding="utf-8"))
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    ids = [it["id"] for it in items]
    assert len(items) >= 20 and len(ids) == len(set(ids))
    assert {it["group"] for it in items} == {"csr", "asf", "advisor"}
    missing = [(it["id"], phrase) for it in items for point in it["points"]
               for phrase in point if _norm(phrase) not in report]
    assert missing == []
    assert all(it["type"] == "conversation" and it["history"] and it["points"]
               for it in items)

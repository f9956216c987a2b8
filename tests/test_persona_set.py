"""Validates the persona evaluation set (eval/persona.yaml) against the report text.

Uses only yaml + pathlib + re; imports nothing from the assistant package.
"""
import re
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SET_PATH = ROOT / "eval" / "persona.yaml"
REPORT_PATH = ROOT / "corpus" / "sweco-asf-samverkan-naringslivet.txt"

GROUPS = ("csr", "asf", "advisor")
TYPES = {"broad", "list", "examples", "fact", "comparison", "conversation", "unanswerable"}


def _norm(text):
    """Drop bullet characters, collapse whitespace runs to one space, lowercase."""
    text = text.replace("\u2022", "").replace("\uf0b7", "")
    return re.sub(r"\s+", " ", text).strip().lower()


ITEMS = yaml.safe_load(SET_PATH.read_text(encoding="utf-8"))
REPORT = _norm(REPORT_PATH.read_text(encoding="utf-8"))
ANSWERABLE = [it for it in ITEMS if it["type"] != "unanswerable"]


def test_size_and_unique_ids():
    assert isinstance(ITEMS, list)
    assert len(ITEMS) >= 60
    ids = [it["id"] for it in ITEMS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert all(re.fullmatch(r"p\d{3}", i) for i in ids)


def test_fields_and_values():
    for it in ITEMS:
        for key in ("id", "group", "lang", "type", "question", "history", "points"):
            assert key in it, (it.get("id"), key)
        assert it["group"] in GROUPS, it["id"]
        assert it["lang"] in ("sv", "en"), it["id"]
        assert it["type"] in TYPES, it["id"]
        assert isinstance(it["question"], str) and it["question"].strip(), it["id"]
        assert isinstance(it["history"], list), it["id"]


def test_groups():
    counts = Counter(it["group"] for it in ITEMS)
    for g in GROUPS:
        assert counts[g] >= 20, (g, counts[g])


def test_english_items():
    assert sum(it["lang"] == "en" for it in ITEMS) >= 10


def test_conversations():
    convs = [it for it in ITEMS if it["type"] == "conversation"]
    assert len(convs) >= 10
    for it in convs:
        hist = it["history"]
        assert 1 <= len(hist) <= 2, it["id"]
        assert all(isinstance(h, str) and h.strip() for h in hist), it["id"]
        assert it["question"] not in hist, it["id"]
    for it in ITEMS:
        if it["type"] != "conversation":
            assert it["history"] == [], it["id"]


def test_unanswerable():
    unans = [it for it in ITEMS if it["type"] == "unanswerable"]
    assert len(unans) >= 6
    for it in unans:
        assert it["points"] == [], it["id"]


def test_answerable_point_counts():
    for it in ANSWERABLE:
        pts = it["points"]
        assert 3 <= len(pts) <= 6, (it["id"], len(pts))
        for p in pts:
            assert isinstance(p, list) and 1 <= len(p) <= 4, (it["id"], p)
            assert all(isinstance(ph, str) and ph.strip() for ph in p), (it["id"], p)


def test_phrases_verbatim_in_report():
    missing = []
    for it in ANSWERABLE:
        for p in it["points"]:
            for ph in p:
                if _norm(ph) not in REPORT:
                    missing.append((it["id"], ph))
    assert not missing, missing


def test_no_phrase_shared_between_points_of_an_item():
    for it in ANSWERABLE:
        seen = {}
        for i, p in enumerate(it["points"]):
            for ph in p:
                key = _norm(ph)
                assert key not in seen or seen[key] == i, (it["id"], ph)
                seen[key] = i

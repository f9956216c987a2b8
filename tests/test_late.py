"""Late interaction: the token-vector store, MaxSim scoring, and token vectors in the index."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import Settings
from assistant.index.late import LateScorer, TokenStore, TokenVectors
from assistant.index.passage_index import Index


def _tokens(ids: list[int], rows: list[list[float]]) -> TokenVectors:
    vectors = np.array(rows, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return TokenVectors(ids=np.array(ids, dtype=np.int32), vectors=vectors.astype(np.float16))


def test_store_round_trip_and_delete(tmp_path):
    store = TokenStore(tmp_path / "tokens")
    tokens = _tokens([5, 7], [[1, 0, 0], [0, 1, 0]])
    store.put("abc123", tokens)
    assert store.has("abc123")
    back = store.get("abc123")
    assert back is not None
    assert back.ids.tolist() == [5, 7] and np.allclose(back.vectors, tokens.vectors)
    assert not list((tmp_path / "tokens").glob("*.tmp"))
    store.delete(["abc123", "never-stored"])
    assert not store.has("abc123") and store.get("abc123") is None


def test_store_rejects_ids_that_are_not_plain_names(tmp_path):
    with pytest.raises(ValueError):
        TokenStore(tmp_path).put("../escape", _tokens([1], [[1, 0]]))


def test_maxsim_prefers_the_passage_holding_the_rare_word(tmp_path):
    store = TokenStore(tmp_path)
    # Token 1 ("common") is in every passage, token 2 ("rare") only in "b".
    store.put("a", _tokens([1, 3], [[1, 0, 0], [0, 0, 1]]))
    store.put("b", _tokens([1, 2], [[1, 0, 0], [0, 1, 0]]))
    store.put("c", _tokens([1, 4], [[1, 0, 0], [0, 0.2, 1]]))
    scorer = LateScorer(["a", "b", "c", "missing"], store)
    assert len(scorer) == 3
    scores = scorer.scores(_tokens([1, 2], [[1, 0, 0], [0, 1, 0]]))
    assert set(scores) == {"a", "b", "c"}
    assert scores["b"] == pytest.approx(1.0, abs=1e-3)
    assert scores["b"] > scores["c"] > scores["a"]
    # The rare token weighs more than the common one: a passage matching only the common
    # token scores below the average of the two matches.
    assert scores["a"] < 0.5


def test_scorer_without_vectors_scores_nothing(tmp_path):
    scorer = LateScorer(["a"], TokenStore(tmp_path / "empty"))
    assert scorer.scores(_tokens([1], [[1, 0]])) == {}


# ---------------------------------------------------------------- with the real model

class _WithoutTokens:
    """The real model seen through an interface without token vectors (an older version)."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name

    def embed_documents(self, texts):
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.mark.integration
def test_token_vectors_match_the_text_vector_and_skip_prompt_and_punctuation(real_embeddings):
    text = "Sociala företag, och deras kunder!"
    [(vector, tokens)] = real_embeddings.embed_with_tokens([text])
    plain = real_embeddings.embed_documents([text])[0]
    assert float(np.dot(vector, plain)) > 0.99
    tokenizer = real_embeddings._model.tokenizer
    decoded = tokenizer.decode(tokens.ids.tolist())
    assert decoded.split() == ["Sociala", "företag", "och", "deras", "kunder"]
    assert np.allclose(np.linalg.norm(tokens.vectors.astype(np.float32), axis=1), 1, atol=1e-2)


@pytest.mark.integration
def test_index_keeps_token_vectors_in_step_with_its_chunks(real_embeddings, tmp_path):
    corpus = tmp_path / "small"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Rubrik A\n\nEtt socialt företag städar kontor i Västerås.\n")
    (corpus / "b.txt").write_text("Rubrik B\n\nKunden köper catering från kooperativet.\n")
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data")
    # Built by a version without token vectors ...
    old = Index(settings, embeddings=_WithoutTokens(real_embeddings))
    old.sync()
    assert not old.tokens.folder.exists() or not list(old.tokens.folder.iterdir())
    # ... the next sync gives every chunk its token vectors.
    index = Index(settings, embeddings=real_embeddings)
    report = index.sync()
    ids = {c.chunk_id for c in index.chunks()}
    assert report.added == len(ids)
    assert {p.stem for p in index.tokens.folder.glob("*.npz")} == ids
    assert len(index.late_scorer()) == len(ids)
    assert index.sync().added == 0
    # A lost or damaged token file is skipped when scoring and restored by the next sync.
    lost, damaged = sorted(ids)[:2]
    index.tokens._path(lost).unlink()
    index.tokens._path(damaged).write_bytes(b"not a zip file")
    assert len(Index(settings, embeddings=real_embeddings).late_scorer()) == len(ids) - 2
    assert index.sync().added == 2
    assert {p.stem for p in index.tokens.folder.glob("*.npz")} == ids
    # A removed file takes its token vectors with it.
    (corpus / "b.txt").unlink()
    index.sync()
    left = {c.chunk_id for c in index.chunks()}
    assert left < ids
    assert {p.stem for p in index.tokens.folder.glob("*.npz")} == left


def _excerpt(start: int, paragraphs: int) -> str:
    from tests.conftest import REPORT
    parts = [p for p in REPORT.read_text(encoding="utf-8").split("\n\n") if len(p) > 80]
    return "\n\n".join(parts[start:start + paragraphs]) + "\n"


def _all_vectors(index: Index, source: str | None = None) -> dict[str, list[float]]:
    ids = [c.chunk_id for c in index.chunks() if source is None or c.source == source]
    vectors = dict(index.chunk_vectors(ids))
    vectors.update({f"{cid}:{pos}": v for cid, pos, v in index.unit_vectors(ids)})
    return vectors


@pytest.mark.integration
def test_a_file_gets_the_same_vectors_alone_as_in_any_build_and_builds_repeat(real_embeddings,
                                                                              tmp_path):
    # Under dynamic int8 quantisation a batch shares one activation scale: a text embedded
    # beside other files' texts got other vectors than alone (up to 0.06 per component), so a
    # fresh index depended on what else was indexed and answers changed between machines.
    def build(name: str, files: dict[str, str]) -> Index:
        corpus = tmp_path / name / "corpus"
        corpus.mkdir(parents=True)
        for file, text in files.items():
            (corpus / file).write_text(text, encoding="utf-8")
        index = Index(Settings(corpus_dir=corpus, data_dir=tmp_path / name / "data"),
                      embeddings=real_embeddings)
        index.sync()
        return index

    files = {"a.txt": _excerpt(10, 4), "b.txt": _excerpt(40, 4)}
    both = build("both", files)
    again = build("again", files)
    alone = build("alone", {"a.txt": files["a.txt"]})
    assert len(_all_vectors(both, "a.txt")) > 4            # chunks and their sentences
    assert _all_vectors(both) == _all_vectors(again)       # bitwise, every vector
    assert _all_vectors(both, "a.txt") == _all_vectors(alone, "a.txt")

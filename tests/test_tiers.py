"""The test tiers: the fast tier (`make check`) never loads the real embedding model.

tests/conftest.py fails any test that loads the real model, or asks for the `real_embeddings`
fixture, without @pytest.mark.integration; these tests check that guard itself.
"""

from __future__ import annotations

import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.index.embeddings import LazyEmbeddings
from tests.conftest import REAL_MODEL_FIXTURES, RealModelOutsideIntegration


def test_loading_the_real_model_in_an_unmarked_test_fails_before_it_loads():
    path = Settings(models_dir=PROJECT_ROOT / "models").model_path
    if not (path / "modules.json").exists():
        pytest.skip(f"no model at {path} (`make setup`)")
    embeddings = LazyEmbeddings(path, quantize=True)
    # By name: pytest's conftest and `tests.conftest` may be two imports of one file.
    with pytest.raises(AssertionError, match="not marked @pytest.mark.integration") as err:
        embeddings.embed_query("Vad är ett ASF?")
    assert type(err.value).__name__ == RealModelOutsideIntegration.__name__
    assert embeddings._model is None                 # nothing was loaded


def test_every_collected_test_that_asks_for_the_real_model_is_marked_integration(request):
    unmarked = [item.nodeid for item in request.session.items
                if any(f in getattr(item, "fixturenames", ()) for f in REAL_MODEL_FIXTURES)
                and item.get_closest_marker("integration") is None]
    assert not unmarked

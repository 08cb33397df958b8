"""Embedding backends: auto picks ONNX for the bundled model; every backend gives the same vectors."""

import pytest

from assistant.errors import ConfigError


def test_embedding_backend_is_chosen_by_setting(monkeypatch):
    from assistant.embed import SentenceTransformerEmbedder, get_embedder
    from assistant.embed_light import OnnxEmbedder, TorchEmbedder
    from assistant.settings import BUNDLED_MODEL

    # The bundled model is plain mean pooling: run without importing sentence-transformers.
    assert isinstance(get_embedder(BUNDLED_MODEL, backend="torch"), TorchEmbedder)
    assert isinstance(get_embedder("no/such-model", backend="torch"), SentenceTransformerEmbedder)
    # auto (the default): ONNX where it runs the model, sentence-transformers elsewhere.
    monkeypatch.delenv("ASSISTANT_EMBEDDING_BACKEND", raising=False)
    chosen = get_embedder(BUNDLED_MODEL)
    assert isinstance(chosen, OnnxEmbedder) and chosen.backend == "onnx" and chosen.vector_space == ""
    assert isinstance(get_embedder("no/such-model"), SentenceTransformerEmbedder)
    monkeypatch.setattr("assistant.embed_light.onnx_available", lambda: False)
    assert isinstance(get_embedder(BUNDLED_MODEL, backend="auto"), TorchEmbedder)
    monkeypatch.setenv("ASSISTANT_EMBEDDING_BACKEND", "onnx-int8")
    chosen = get_embedder("m")  # nothing loads until first use
    assert isinstance(chosen, OnnxEmbedder) and chosen.vector_space == "int8"
    with pytest.raises(ConfigError, match="valid: auto, torch, onnx, onnx-int8"):
        get_embedder("m", backend="tensorrt")


@pytest.mark.slow
def test_light_backends_give_sentence_transformers_vectors(assistant, tmp_path):
    from assistant.embed import SentenceTransformerEmbedder
    from assistant.embed_light import OnnxEmbedder, TorchEmbedder

    model = assistant.settings.embedding_model
    assert isinstance(assistant.embedder, OnnxEmbedder)  # the default for the bundled model
    st = SentenceTransformerEmbedder(model)
    texts = [c.text for c in assistant.snapshot.chunks[:12]] + ["  Where was WTDC-25 held?  ", "x " * 400]
    ref = st.embed(texts)
    for light in (TorchEmbedder(model), OnnxEmbedder(model, cache_dir=tmp_path)):
        got = light.embed(texts)
        assert got.shape == ref.shape and float((got * ref).sum(axis=1).min()) > 0.9999, light.backend
        assert light.token_counts(texts) == st.token_counts(texts)
        assert light.fits(texts) == st.fits(texts) and light.fits(texts)[-1] is False
        assert light.max_tokens == st.max_tokens == 256 and light.dimension == 384
    assert len(list(tmp_path.glob("*.onnx"))) == 1  # exported once, then reused
    assert OnnxEmbedder(model, cache_dir=tmp_path).embed(texts[:2]).shape[0] == 2


def test_onnx_export_is_redone_when_the_cached_file_is_damaged(tmp_path):
    from assistant.embed_light import OnnxEmbedder
    from assistant.settings import BUNDLED_MODEL

    OnnxEmbedder(BUNDLED_MODEL, cache_dir=tmp_path).embed(["warm"])
    (cached,) = tmp_path.glob("*.onnx")
    cached.write_bytes(b"not a model")
    fresh = OnnxEmbedder(BUNDLED_MODEL, cache_dir=tmp_path).embed(["Where was WTDC-25 held?"])
    assert fresh.shape == (1, 384) and cached.stat().st_size > 10**7


def test_a_damaged_fp32_export_is_redone_before_quantizing(tmp_path):
    pytest.importorskip("onnx")
    from assistant.embed_light import OnnxEmbedder
    from assistant.settings import BUNDLED_MODEL

    OnnxEmbedder(BUNDLED_MODEL, cache_dir=tmp_path).embed(["warm"])  # the fp32 graph only
    (fp32,) = tmp_path.glob("*.onnx")
    fp32.write_bytes(b"not a model")
    got = OnnxEmbedder(BUNDLED_MODEL, cache_dir=tmp_path, quantize=True).embed(["Where was WTDC-25 held?"])
    assert got.shape == (1, 384) and len(list(tmp_path.glob("*-int8.onnx"))) == 1


def test_an_onnxruntime_that_cannot_run_the_export_says_what_to_do(tmp_path, monkeypatch):
    import onnxruntime

    from assistant.embed_light import OnnxEmbedder
    from assistant.settings import BUNDLED_MODEL

    def refuse(*args, **kwargs):
        raise RuntimeError("opset 17 is not supported")  # an onnxruntime too old for the graph

    monkeypatch.setattr(onnxruntime, "InferenceSession", refuse)
    with pytest.raises(ConfigError, match="opset 17.*ASSISTANT_EMBEDDING_BACKEND=torch"):
        OnnxEmbedder(BUNDLED_MODEL, cache_dir=tmp_path).embed(["x"])


def test_onnx_export_to_an_unwritable_cache_says_what_to_do(tmp_path):
    from assistant.embed_light import OnnxEmbedder
    from assistant.settings import BUNDLED_MODEL

    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(ConfigError, match="XDG_CACHE_HOME.*ASSISTANT_EMBEDDING_BACKEND=torch"):
        OnnxEmbedder(BUNDLED_MODEL, cache_dir=blocker / "onnx").embed(["x"])

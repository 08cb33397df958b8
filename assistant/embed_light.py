"""Mean-pooling models without sentence-transformers: onnxruntime (default) or torch.

Both tokenize with the model's own tokenizer.json, pool and normalise as sentence-transformers
does, so their vectors match SentenceTransformer.encode (to ~1e-7, tested) and share an index.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .embed import _Cached, resolve_model
from .errors import AssistantError, ConfigError, MissingDependency
from .settings import BUNDLED_MODEL, cache_home

_PLAIN = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"]


def plain_mean_pooling(model: str) -> bool:
    """A local folder whose modules are Transformer -> mean Pooling [-> Normalize], no prompts."""
    try:
        folder = Path(resolve_model(model))
        modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        config = folder / "config_sentence_transformers.json"
        extra = json.loads(config.read_text()) if config.is_file() else {}
    except (OSError, ValueError, KeyError, TypeError, MissingDependency):
        return False
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    return (modules[:2] == _PLAIN and modules[2:] in ([], ["sentence_transformers.models.Normalize"])
            and modes == {"pooling_mode_mean_tokens"} and (folder / "tokenizer.json").is_file()
            and not extra.get("prompts") and not extra.get("default_prompt_name"))


def onnx_available() -> bool:
    """Whether onnxruntime is installed (a core dependency, but a slim install may lack it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


class _MeanPooled(_Cached):
    """Tokenize, batch longest-first, run the transformer, mean-pool, normalise."""

    backend, vector_space, extra = "", "", "core"

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 16):
        super().__init__()
        self.name, self.batch_size = model, batch_size
        self.max_tokens = 512
        self.threads: int | None = None  # None: the runtime's default (every core); set before loading

    def _load(self):
        try:
            from tokenizers import Tokenizer
        except ImportError:  # pragma: no cover - comes with transformers
            raise MissingDependency("tokenizers", "core") from None
        folder = Path(resolve_model(self.name))
        if not plain_mean_pooling(self.name):
            raise ConfigError(f"The {self.backend} backend runs mean-pooling models from a local "
                              f"folder; {self.name!r} is not one. Use ASSISTANT_EMBEDDING_BACKEND=torch.")
        config = folder / "sentence_bert_config.json"
        if config.is_file():
            self.max_tokens = int(json.loads(config.read_text()).get("max_seq_length", 512))
        # Two tokenizers: one truncates to the window as sentence-transformers does, the other
        # counts every word piece (the chunker asks whether a text fits).
        self._encoder = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._encoder.enable_truncation(self.max_tokens)
        self._encoder.no_padding()
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        return self._runner(folder)

    def _runner(self, folder: Path):
        raise NotImplementedError

    def _forward(self, runner, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def dimension(self) -> int:
        return int(self.embed(["dimension"]).shape[1])

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces per text as the model counts them, special tokens included."""
        self.model  # noqa: B018 - loads the tokenizers
        return [len(e.ids) for e in self._counter.encode_batch([t.strip() for t in texts])]

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        runner = self.model
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # sentence-transformers strips each text before tokenizing; so do we.
        encodings = self._encoder.encode_batch([t.strip() for t in texts])
        # Longest first, as sentence-transformers does, so each batch pads little.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = None
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", unit="chunk")
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo:lo + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, :len(encodings[i].ids)] = encodings[i].ids
                mask[r, :len(encodings[i].ids)] = 1
            hidden = self._forward(runner, ids, mask)
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        return out


class TorchEmbedder(_MeanPooled):
    """The transformer through transformers.AutoModel: what SentenceTransformer runs, minus its imports."""

    backend = "torch"

    def _runner(self, folder: Path):
        try:
            from transformers import AutoModel
            from transformers.utils import logging as hf_logging
        except ImportError:  # pragma: no cover - a core dependency
            raise MissingDependency("transformers", "core") from None
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        try:
            return AutoModel.from_pretrained(str(folder)).eval()
        except Exception as exc:  # noqa: BLE001 - any load failure means the same to the user
            raise ConfigError(f"Could not load embedding model {self.name!r} ({type(exc).__name__}: "
                              f"{exc}). Set ASSISTANT_EMBEDDING_MODEL to a local folder.") from None

    def _forward(self, runner, ids, mask):
        import torch

        with torch.inference_mode():
            out = runner(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                         token_type_ids=torch.zeros_like(torch.from_numpy(ids)))
        return out.last_hidden_state.numpy()


class OnnxEmbedder(_MeanPooled):
    """The same model run by onnxruntime: no torch import when answering (fast cold start).

    The ONNX graph is exported from the local model once (needs torch) and cached; "onnx-int8"
    also quantizes its weights dynamically (faster, but its vectors differ: see vector_space).
    """

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 16, quantize: bool = False,
                 cache_dir: Path | None = None):
        super().__init__(model, batch_size)
        self.quantize = quantize
        self.backend = "onnx-int8" if quantize else "onnx"
        # fp32 ONNX matches torch to 1e-7 (same index); int8 vectors differ (cosine ~0.95).
        self.vector_space = "int8" if quantize else ""
        self.cache_dir = Path(cache_dir) if cache_dir else cache_home() / "onnx"

    def _runner(self, folder: Path):
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependency("onnxruntime", "core") from None
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:  # several workers on one machine (Ray actors): one pool each, not all cores each
            options.intra_op_num_threads = self.threads
        for attempt in (1, 2):
            try:
                return ort.InferenceSession(str(self._onnx_file(folder)), options,
                                            providers=["CPUExecutionProvider"])
            except AssistantError:
                raise
            except Exception as exc:  # noqa: BLE001 - a damaged cache file: export again, once
                if attempt == 2:
                    raise ConfigError(f"onnxruntime could not run the ONNX export of {self.name!r} "
                                      f"({type(exc).__name__}: {exc}). Set ASSISTANT_EMBEDDING_BACKEND="
                                      "torch, or reinstall onnxruntime.") from None
                self._cached(folder, drop=True)

    def _forward(self, runner, ids, mask):
        return runner.run(None, {"input_ids": ids, "attention_mask": mask,
                                 "token_type_ids": np.zeros_like(ids)})[0]

    def _onnx_file(self, folder: Path) -> Path:
        """The cached graph for this model (exported, and quantized, on first use)."""
        fp32, target = self._cached(folder)
        if target.is_file():
            return target
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            if not fp32.is_file():
                _export_onnx(folder, fp32)
            if self.quantize:
                _quantize_int8(fp32, target)
        except OSError as exc:
            raise self._unwritable(exc) from None
        return target

    def _cached(self, folder: Path, drop: bool = False) -> tuple[Path, Path]:
        """(fp32 graph, graph this backend runs) in the cache, keyed by the model's weights."""
        weights = next((folder / n for n in ("model.safetensors", "pytorch_model.bin")
                        if (folder / n).is_file()), folder)
        stat = weights.stat()
        key = hashlib.sha256(f"{folder.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        fp32 = self.cache_dir / f"{folder.name}-{key}.onnx"
        target = self.cache_dir / f"{folder.name}-{key}-int8.onnx" if self.quantize else fp32
        for path in (fp32, target) if drop else ():
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise self._unwritable(exc) from None
        return fp32, target

    def _unwritable(self, exc: OSError) -> ConfigError:
        return ConfigError(f"Could not write the ONNX export of {self.name!r} to {self.cache_dir} "
                           f"({exc.strerror or exc}). Point XDG_CACHE_HOME at a writable folder, "
                           "or set ASSISTANT_EMBEDDING_BACKEND=torch.")


def _export_onnx(folder: Path, dest: Path) -> None:
    """Trace the transformer (last hidden state) to ONNX with dynamic batch and length; once."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" from local disk is only noise
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = [torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long),
               torch.zeros((2, 8), dtype=torch.long)]
    example[1][1, 5:] = 0  # trace with padding so the mask path is the general one
    tmp = dest.with_suffix(f".tmp{os.getpid()}")
    # The TorchScript exporter needs no extra package; eval() matters: a traced dropout
    # would make every vector differ from the torch backend's.
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # deprecation and tracer notes, not problems here
        torch.onnx.export(Hidden(model).eval(), tuple(example), str(tmp), input_names=names,
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]})
    os.replace(tmp, dest)  # atomic: a concurrent process sees the whole file or none


def _quantize_int8(src: Path, dest: Path) -> None:
    """Dynamic int8 weights (activations quantized on the fly); needs the onnx package."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise MissingDependency("onnx", "onnx") from None
    import logging

    tmp = dest.with_suffix(f".tmp{os.getpid()}")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises shape pre-processing on the root logger; not needed
    try:
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    os.replace(tmp, dest)

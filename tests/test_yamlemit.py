"""The fast YAML emitter: PyYAML reads back exactly the data that was written."""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest
import yaml

from archiver.core.yamlemit import dump, scalar

TRICKY = ["", " ", "yes", "No", "ON", "off", "y", "N", "true", "False", "null", "Null", "~", "-", "--", "---",
          "...", "1", "-1", "+1", "0x1f", "0o17", "017", "1_000", "1:30", "1e3", "1.5", ".5", ".inf", "-.inf",
          ".nan", "2026-11-29", "2026-11-29T17:00:00Z", "a: b", "a:", "a #b", "#a", "a#b", "&a", "*a", "!a",
          "|", ">", "%a", "@a", "`a", "'a'", '"a"', "[a]", "{a}", "a,b", "?", "? a", "<<", "=", "a\nb",
          "a\tb", "line\r\nbreak", "\x00", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff",
          "caf\u00e9", "\U0001F600 emoji", "back\\slash", "quote\"d", "trailing ", " leading",
          "http://127.0.0.1:8080/a?b=c&d=%20e;f", "<urn:uuid:5bceb91a-90bf-4467-a628-5817ef3d3553>",
          "sha256:49fe17ce4c2e44f1dd1014a943990cad2b8b8566d28e77a4b07c7f1341de2f53",
          "1234567890123456789012345678901234567890123456789012345678901234", "text/html; charset=utf-8"]


def _random_string(rng: random.Random) -> str:
    alphabet = "aZ09 :#-_/.?&=%@<>!*&|'\"\\,[]{}\t\n\r\x00\x85\u00e9\u2028\ufeff\U0001F600~+;`"
    if rng.random() < 0.3:
        return rng.choice(TRICKY)
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randrange(-10**12, 10**12)
    if kind in (2, 3, 4, 5):
        return _random_string(rng)
    if kind in (6, 7):
        return {_random_string(rng): _random_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]


@pytest.mark.parametrize("value", TRICKY)
def test_each_tricky_string_reads_back_as_itself(value: str) -> None:
    for loader in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        assert yaml.load(dump({"k": value, "l": [value]}), Loader=loader) == {"k": value, "l": [value]}  # noqa: S506


def test_generated_documents_read_back_identically() -> None:
    rng = random.Random(20261129)
    for _ in range(2000):
        data = {_random_string(rng): _random_value(rng, 0) for _ in range(rng.randrange(0, 6))}
        text = dump(data)
        back = yaml.safe_load(text)
        assert back == data and _types(back) == _types(data), text
        assert yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == data  # noqa: S506


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


def test_a_manifest_shaped_document_is_block_style_and_plain_where_it_can_be() -> None:
    data = {"format": "archiver-manifest", "format_version": 2, "previous": None, "seeds": ["http://a.test/x"],
            "resources": [{"url": "http://a.test/x", "status": 200, "via": None, "text": {"chars": 10}}],
            "failures": [], "settings": {"depth": 1, "exclude": []}, "flags": [{"reasons": ["a b", "c"]}]}
    text = dump(data)
    assert yaml.safe_load(text) == data
    assert text.splitlines()[:4] == ["format: archiver-manifest", "format_version: 2", "previous: null", "seeds:"]
    assert "- url: http://a.test/x\n  status: 200\n  via: null\n  text:\n    chars: 10\n" in text
    assert "failures: []" in text and "  exclude: []" in text
    assert '  - "a b"' in text


def test_floats_are_spelled_as_pyyaml_spells_them() -> None:
    """Written without PyYAML, a float still reads as PyYAML writes it: '1.0e+17', not '1e+17'."""
    rng = random.Random(20261201)
    values = [0.0, -0.0, 1.0, 30.0, 0.1, 1e16, 1e17, 1e-05, 5e-324, 1e308, float("inf"), float("-inf"), float("nan")]
    values += [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(3000)]
    for value in values:
        assert scalar(value) == yaml.safe_dump(value).removesuffix("\n...\n").strip(), value
        assert dump({"f": [value]}) == yaml.safe_dump({"f": [value]}), value


def test_floats_and_unsupported_values() -> None:
    for value in (1.5, 1e-05, float("inf"), -0.0, 3.0):
        assert yaml.safe_load(dump({"f": value}))["f"] == value
    with pytest.raises(TypeError):
        scalar(object())
    with pytest.raises(ValueError, match="surrogate"):
        dump({"k": "a\ud800"})
    with pytest.raises(TypeError):
        dump({1: "a"})
    assert yaml.safe_load(dump({"k" * 1024: 1})) == {"k" * 1024: 1}
    with pytest.raises(ValueError, match="1025 characters"):
        dump({"k" * 1025: 1})          # type: ignore[dict-item]

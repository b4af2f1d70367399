"""The config loader: any file is a Config or one ConfigError listing its problems, nothing else."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from sitegen.config import SCHEMA, Section, load_config, load_yaml, parse_config
from sitegen.errors import ConfigError
from tests.fuzz import documents, fuzz, lines


def _keys(section: Section, prefix: str = "") -> list[str]:
    out = []
    for name, spec in section.keys.items():
        out.append(name)
        if isinstance(spec, Section):
            out += _keys(spec)
    return out


KEYS = [*_keys(SCHEMA), "good", "bad", "color", "label", "needs_look"]


@fuzz
@given(documents(KEYS, max_leaves=40))
def test_any_decoded_config_is_valid_or_a_config_error(raw):
    try:
        config = parse_config(raw, Path("/tmp"))
    except ConfigError as exc:
        assert exc.problems and len(str(exc)) < 20_000
        return
    assert config.title is not None


@fuzz
@given(
    st.one_of(
        documents(KEYS, max_leaves=40).map(lambda d: yaml.safe_dump(d)),
        lines(["title: x\n", "&a ", "*a ", "[", "]", "{", "- ", "report:\n  suite: ", "!!binary ", "? ", "\t", "\x1b", "---\n"], 30),
    )
)
def test_any_config_file_loads_or_is_a_config_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sitegen.yml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            load_config(path)
        except ConfigError as exc:
            assert exc.problems
            assert "\x1b" not in str(exc)


@fuzz
@given(st.text(max_size=200))
def test_the_bounded_yaml_reader_raises_only_value_errors(text):
    with contextlib.suppress(ValueError):
        load_yaml(text, all_documents=True)

"""The README tells the truth: every config key is documented, and the quickstart is the two commands."""

from pathlib import Path

from sitegen.config import describe

README = Path(__file__).resolve().parent.parent / "README.md"


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_every_config_key_is_in_the_readme():
    config_section = _section(README.read_text(), "Configuration")
    documented = [key for key, default, _doc in describe() if default]  # sections have no default
    missing = [key for key in documented
               if f"`{key}`" not in config_section and "." + key.rsplit(".", 1)[-1] not in config_section]
    assert missing == []


def test_quickstart_is_make_demo_then_make_test():
    quickstart = _section(README.read_text(), "Quickstart")
    assert quickstart.index("make demo") < quickstart.index("make test")

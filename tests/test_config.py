"""Config: defaults, and every bad key reported at once with an exact message."""

from pathlib import Path

import pytest

from sitegen.cli import main
from sitegen.config import ConfigError, load_config, parse_config


def test_defaults_without_a_file(tmp_path):
    config = load_config(None, root=tmp_path)
    assert config.title == "Chaos nightly reports"
    assert config.path("reports") == tmp_path.resolve() / "reports"
    assert set(config.statuses) == {"good", "bad"}


def test_every_problem_is_listed(tmp_path):
    raw = {"titel": "x", "summary_length": "long", "report": {"timezone": "Mars/Base", "extra": 1}}
    with pytest.raises(ConfigError) as err:
        parse_config(raw, tmp_path)
    assert err.value.problems == [
        "config key 'titel': unknown key",
        "config key 'summary_length': must be an integer, got str 'long'",
        "config key 'report.extra': unknown key",
        "config key 'report.timezone': unknown time zone 'Mars/Base' (use an IANA name such as 'UTC' or 'Asia/Shanghai')",
    ]


def test_bool_is_not_a_number(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_config({"summary_length": True}, tmp_path)
    assert err.value.problems == ["config key 'summary_length': must be an integer, got bool True"]


def test_cli_exits_2_and_names_keys(tmp_path, capsys):
    cfg = tmp_path / "sitegen.yml"
    cfg.write_text("titel: x\nstatuses: {good: {color: green}}\n")
    assert main(["config", "--check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "config key 'titel': unknown key" in err
    assert "config key 'statuses': status 'good' color must be #rgb or #rrggbb" in err
    assert "Traceback" not in err


def test_check_lists_bad_rules_and_nightly_values_with_every_other_bad_key(tmp_path, capsys):
    """`config --check` used to pass rules the report then refused, and `nightly` blamed a `--since` never typed."""
    cfg = tmp_path / "sitegen.yml"
    cfg.write_text(
        'titel: x\nrules: ["fatal >> 0", "bogus > 1", "errors > 5"]\n'
        "nightly: {since: forever, namespace: Bad_NS, logs_dir: logs}\n"
    )
    assert main(["config", "--check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "4 problem(s)" in err
    assert "config key 'titel': unknown key" in err
    assert "config key 'rules': rules[0]: 'fatal >> 0' is not 'metric OP number'" in err
    assert "rules[1]: unknown metric 'bogus'" in err and "rules[2]" not in err
    assert "config key 'nightly.since': 'forever': expected a duration such as 24h" in err
    assert "config key 'nightly.namespace': 'Bad_NS': not a Kubernetes namespace name" in err
    assert "--since" not in err and "Traceback" not in err
    # Every command that loads the config refuses it the same way, before doing anything.
    for argv in (["build"], ["report", "--night", "2021-07-09"], ["nightly", "--night", "2021-07-09"]):
        assert main([*argv, "--config", str(cfg)]) == 2
        assert "config key 'nightly.since'" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_broken_yaml_is_a_clear_error(tmp_path, capsys):
    cfg = tmp_path / "sitegen.yml"
    cfg.write_text("title: [unclosed\n")
    assert main(["config", "--check", "--config", str(cfg)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_missing_config_file(tmp_path, capsys):
    assert main(["config", "--check", "--config", str(Path(tmp_path) / "nope.yml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_an_unexpected_failure_is_one_clear_line_not_a_traceback(monkeypatch, tmp_path, capsys):
    import sitegen.config

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(sitegen.config, "describe", broken)
    assert main(["config"]) == 70
    err = capsys.readouterr().err
    assert "sitegen: internal error: RuntimeError: simulated bug" in err
    assert "Traceback" not in err
    assert main(["-v", "config"]) == 70
    assert "Traceback" in capsys.readouterr().err  # -v shows it for the bug report


def test_an_os_error_is_a_message(monkeypatch, capsys):
    import sitegen.config

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sitegen.config, "describe", full)
    assert main(["config"]) == 74  # EX_IOERR, sitegen.errors.ExitCode.IO_ERROR
    assert capsys.readouterr().err.strip() == "sitegen: error: No space left on device"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"title": "Nightly\x01 reports"}, "config key 'title': must not hold control characters"),
        ({"base_url": "javascript:pwn()//"}, "config key 'base_url': must be an absolute http:// or https:// URL"),
        ({"base_url": "https://x.org/\n"}, "config key 'base_url': must not hold control characters"),
        ({"report": {"suite": "a/b"}}, "config key 'report.suite': a suite is one folder name"),
        ({"title": ["x"] * 10_000}, "config key 'title': must be a string, got list ['x', 'x', 'x', 'x', 'x', 'x', ...]"),
    ],
)
def test_text_that_would_break_a_page_or_the_feed_is_refused(tmp_path, raw, problem):
    with pytest.raises(ConfigError) as err:
        parse_config(raw, tmp_path)
    (only,) = err.value.problems
    assert only.startswith(problem), only


def test_a_config_larger_than_its_limit_is_refused_before_parsing(tmp_path):
    (tmp_path / "big.yml").write_text("title: x\n" + "#" * (1024 * 1024))
    with pytest.raises(ConfigError, match=r"config file is larger than the 1 MB limit \(see docs/limits\.md\)"):
        load_config(tmp_path / "big.yml")


def test_a_config_with_thousands_of_problems_lists_fifty(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_config({f"k{i}": 1 for i in range(1000)}, tmp_path)
    assert len(err.value.problems) == 51 and err.value.problems[-1] == "... and 950 more problem(s)"


def test_base_urls_that_work(tmp_path):
    for url in ("", "https://chaos.example.org/", "http://10.0.0.1:8080/reports/"):
        assert parse_config({"base_url": url}, tmp_path).base_url == url


def test_a_missing_theme_folder_is_listed_with_every_other_bad_key(tmp_path):
    """One run names all that is wrong: a theme folder that is not there is no later surprise of its own."""
    with pytest.raises(ConfigError) as err:
        parse_config({"theme": str(tmp_path / "nonexistent"), "summary_length": -1, "bogus": 1}, tmp_path, theme_must_exist=True)
    problems = err.value.problems
    assert len(problems) == 3
    assert any("'theme': folder not found" in p and "nonexistent" in p for p in problems)
    assert any("bogus" in p for p in problems) and any("summary_length" in p for p in problems)


def test_a_theme_folder_still_to_come_stops_neither_the_report_wing_nor_the_dev_server(tmp_path, monkeypatch, capsys):
    """`sitegen report` never reads the theme, and `sitegen serve` watches for the folder to appear: only the commands
    that build a site now (build, config --check) list a missing theme folder with the other problems."""
    from sitegen.cli import main

    (tmp_path / "sitegen.yml").write_text("theme: mytheme\n")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--night", "2021-07-09", "--reports", "nights"]) == 0
    assert (tmp_path / "nights" / "report-2021-07-09-good.pdf").is_file()
    assert load_config().theme == "mytheme"  # what serve and watch load (and reload when the file changes)
    capsys.readouterr()
    assert main(["config", "--check"]) == 2
    assert "config key 'theme': folder not found" in capsys.readouterr().err
    (tmp_path / "mytheme").mkdir()
    assert main(["config", "--check"]) == 0


def test_a_title_with_a_bidi_override_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="bidi overrides"):
        parse_config({"title": "Nightly \u2067reports\u2069"}, tmp_path)


def test_without_a_config_file_the_cache_goes_beside_the_output_not_into_the_current_folder(tmp_path, monkeypatch, capsys):
    """`cd /tmp && sitegen build --reports ... --output ...` left a .sitegen-cache in /tmp."""
    (tmp_path / "proj" / "reports").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code = main(["build", "--reports", "../proj/reports", "--output", "../proj/out dir"])
    assert code == 0, capsys.readouterr().err
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert (tmp_path / "proj" / ".sitegen-cache").is_dir() and (tmp_path / "proj" / "out dir" / "index.html").is_file()

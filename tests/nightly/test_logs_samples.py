"""Every log sample in folders 01, 02, 03 and 07 of the sample corpus, with counts established by reading the files.

Each row: records (entries the reader should find), then fatal / error / warn. How each number was
read is noted where it is not obvious from one look at the file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.nightly.logs import digest_logs, iter_records

UTC = ZoneInfo("UTC")
NIGHT = dt.date(2021, 7, 9)
EVER = (dt.datetime(1970, 1, 2, tzinfo=UTC), dt.datetime(2100, 1, 1, tzinfo=UTC))

U = "01_tidb_tikv_pd_unified_logs/"
S = U + "short_variants_from_issue_pastes/"
K = "02_klog_and_chaos_mesh_logs/"
J = "03_jsonlines_and_logfmt/"
R = U + "playground_container_logs__ReplBug/tidb_v4.0.8_write_conflict_retry_then_panic_full_escaped_stack__TIDB-21284"

# path: (records, fatal, error, warn)
EXPECTED: dict[str, tuple[int, int, int, int]] = {
    # 190 unified lines, all heads; 8 [WARN] and one [FATAL] (the last line), no [ERROR].
    U + "pd_v7.1_startup_restart_full__taas-experiment.log": (190, 1, 0, 8),
    R + ".log": (43, 0, 1, 2),
    # the same lines behind a markdown "   > " quote
    R + ".quoted.md.txt": (43, 0, 1, 2),
    S + "cdc_pd_killed_connection_refused_errorVerbose_hardwrapped__tiflow-7067.log": (1, 0, 0, 1),  # line 2 is a wrap
    S + "pd0_grep_error_2019_utc__tidb-14240.log": (9, 0, 9, 0),
    S + "pd2_grep_error_2019_utc__tidb-14240.log": (7, 0, 7, 0),
    S + "pd_2017_legacy_operator_timeout_json_payload__tidb-4621.log": (1, 0, 1, 0),
    S + "pd_2019_etcd_grpc_WARNING_lines_mixed_legacy__pd-1450.log": (6, 0, 1, 5),  # 4 grpc WARNING + [error] + [warning]
    S + "pd_FATAL_escaped_go_stack__pd-3660.log": (1, 1, 0, 0),
    S + "pd_leader_transfer_backtick_wrapped__pd-8225.log": (5, 0, 1, 0),
    S + "pd_loki_export_tab_json_leadership__pd-6977.log": (4, 0, 0, 0),  # a blank line, then 4 INFO wrappers
    S + "test-harness_zap_console_mixed_with_tidb_unified__tidb-29920.log": (3, 0, 0, 1),  # 2 zap INFO, prose, 1 WARN
    S + "tidb_2017_legacy_ServerIsBusy_scheduler_busy_kubectl_logs__tidb-3624.log": (6, 0, 0, 6),  # "$ kubectl logs" is no record
    S + "tidb_2018_legacy_backoffer_multiline_octal_keys__tikv-3747.log": (3, 0, 1, 2),  # lines 2-4 continue line 1
    S + "tidb_DEBUG_notleader_octal_escaped_keys__tikv-15056.log": (1, 0, 0, 0),
    S + "tidb_fatal_stack_overflow_runtime_stack__tidb-22238.log": (1, 1, 0, 0),  # "fatal error:" heads the dump
    S + "tidb_goroutine_dump_jenkins_timestamp_prefix__tidb-36628.log": (0, 0, 0, 0),  # only stack lines
    S + "tidb_json_format_backoffer_maxSleep_exceeded_escaped_newlines__client-go-1518.log": (1, 0, 0, 1),
    S + "tidb_loki_grafana_export_reverse_order_go_stack__tidb-54335.log": (0, 0, 0, 0),  # stack lines, no level anywhere
    S + "tidb_pitr_loki_export_reverse_order__tidb-52597.log": (0, 0, 0, 0),
    S + "tidb_raw_go_panic_stderr_multiline__tidb-30140.log": (1, 1, 0, 0),
    S + "tikv_2016_python_style_hardwrapped__tikv-1084.log": (2, 0, 2, 0),
    S + "tikv_2018_legacy_bracketed_level_after_file__tidb-5899.log": (11, 0, 0, 4),
    S + "tikv_2018_legacy_panic_raw_multiline_backtrace__tikv-2678.log": (1, 0, 1, 0),
    # INFO WARN INFO(+2 raw lines) INFO WARN WARN INFO INFO INFO INFO ERRO ERRO ERRO
    S + "tikv_2019-2020_legacy_slog_INFO_WARN_ERRO_multiline_welcome__tidb-14841_tidb-9588_tidb-10650.log": (13, 0, 3, 3),
    S + "tikv_FATAL_panic_backtrace_escaped_one_line__tikv-10774.log": (1, 1, 0, 0),
    S + "tikv_journald_prefixed_unified__tikv-9657.log": (7, 0, 7, 0),
    S + "tikv_markdown_autolinked_source_file__tikv-14368.log": (1, 0, 0, 0),
    # The export lost the level: a record of unknown level, so nothing counted.
    S + "tikv_panic_grafana_tab_json_wrapper__tikv-18983.log": (1, 0, 0, 0),
    S + "tikv_panic_in_loki_json_wrapper_markdown_mangled__tikv-16526.log": (1, 0, 0, 0),
    S + "tikv_raft_prevote_ignored_and_pd_deadline__tikv-18355.log": (4, 0, 1, 0),
    S + "tikv_resolve_store_failed_unescaped_newlines_in_field__tikv-18121.log": (1, 0, 1, 0),
    S + "tikv_v6.2_raft_client_connection_aborted_truncated_lines__tikv-13535.log": (9, 0, 3, 0),
    S + "tikv_v8.x_pd_reconnect_errors_trailing_garbage__tikv-17875.log": (3, 0, 2, 1),
    K + "chaos-daemon_iptables_error_with_stack__cm-1885.log": (1, 0, 1, 0),
    K + "chaos-mesh_timechaos_connection_refused_doc_example_SPACES__website-faq-v2.3.2.log": (1, 0, 1, 0),
    K + "chaos-mesh_timechaos_connection_refused_doc_example_TABS__website-faq-v2.0.1.log": (1, 0, 1, 0),
    K + "chaos-mesh_v0.x_controller-manager_zap_console_iso8601__cm-112.log": (5, 0, 0, 0),  # banner + 5 INFO
    K + "chaos-mesh_v1.x_networkchaos_apply_error_with_tab_stack__cm-944.log": (1, 0, 1, 0),  # 11 orphan stack lines first
    K + "chaos-mesh_v2.1_controller-manager_epoch_float_space_padded__cm-2969.log": (6, 0, 0, 0),
    K + "chaos-mesh_v2.1_controller-manager_epoch_float_ts_tabs__cm-2898.log": (8, 0, 0, 0),
    K + "chaos-mesh_v2.2_trafficcontrol_epoch_ts_terminal_hardwrapped__cm-3357.log": (3, 0, 0, 0),  # 9 lines, 3 records
    K + "chaos-mesh_v2.6.1_controller-manager_fx_startup__cm-4275.log": (5, 0, 0, 0),
    K + "controller-runtime_klog_logr_kv_startup__controller-runtime-pr1687.log": (7, 0, 0, 0),
    # 33 klog lines (4 E, 3 W, 26 I) then "SIGABRT: abort" heading a 19-line goroutine dump.
    K + "kubelet_journald_klog_E_W_I_then_SIGABRT_goroutine_dump__k8s-repo-kubelet.log": (34, 1, 4, 3),
    K + "kubelet_journald_klog_truncated_systemctl_status__kubeadm-1426.log": (1, 0, 1, 0),  # only the last line is a record
    K + "kubelet_klog_killing_container_2016__k8s-21751.log": (4, 0, 2, 0),
    K + "kubelet_klog_structured_kv__k8s-123176.log": (1, 0, 0, 0),
    K + "tidb-operator_e2e_klog_with_jenkins_prefix_blank_lines__tidb-operator-1145.log": (7, 0, 4, 0),
    J + "datadog-chaos-controller_json_ts_epoch_MILLISECONDS_float_message_key__DataDog-chaos-controller-pr259.log": (2, 0, 0, 0),
    J + "docker_json-file_log_line_with_u0009_escapes__k8s-109929.log": (1, 0, 0, 0),  # a DEBUG zap line inside
    # line 1: the tail of a cut object, then two whole objects glued on; then 5 lines of one object each
    J + "etcd_json_logs_two_objects_glued_on_one_line__etcd-13352.log": (7, 0, 0, 0),
    J + "go-ycsb_logrus_INFO_short_ts_drop_regions__tidb-6162.log": (6, 0, 0, 0),
    J + "karpenter_controller-runtime_json_iso_ts__karpenter-pr1050.log": (6, 0, 0, 0),
    J + "karpenter_json_ts_ISO_string_and_epoch_float_mixed__karpenter-pr1050-comment.log": (8, 0, 0, 0),
    J + "karpenter_mixed_json_goStdLog_klog_in_one_stream__karpenter-provider-aws-4290.log": (11, 0, 0, 0),
    # "run register..." has no time; 4 Go std-log lines; "..." continues one of them; 9 logrus lines
    J + "logrus_text_logfmt_style_pd_client__pingcap-chaos-pr11.log": (13, 0, 0, 0),
    J + "loki_logfmt_ingester_shutting_down_escaped_newline_in_value__loki-23769.log": (6, 0, 0, 6),
    J + "loki_logfmt_restart_after_docker_stop_unquoted_msg__loki-2131.log": (11, 0, 0, 0),
    J + "loki_logfmt_startup_unquoted_and_quoted_values_micro_sign__loki-11893.log": (10, 0, 0, 1),
    J + "prometheus_1.x_logrus_WARN_short_ts_source_field__prometheus-3153-title.log": (1, 0, 0, 1),
    J + "prometheus_logfmt_journalctl_hardwrapped__prometheus-5981.log": (1, 0, 0, 0),  # its level= was cut off
    J + "prometheus_logfmt_scrape_append_failed_escaped_quotes__prometheus-5383.log": (2, 0, 0, 2),
    J + "promtail_logfmt_connection_refused_loki_down__loki-1236.log": (4, 0, 0, 4),  # first line quoted with "> "
    J + "tidb_client-go_json_log_format_health_check__client-go-1520.log": (3, 0, 0, 0),
    J + "tigera-operator_json_epoch_float_ts__helm-charts-361.log": (7, 0, 0, 0),
    "07_robustness_extras/ansi_escapes_rendered_as_U+FFFD_plus_hardwrap__glassfish-5922.log": (4, 0, 0, 0),
}


def _digest(path: Path, night: dt.date = NIGHT, tz: dt.tzinfo = UTC):
    return digest_logs([str(path)], since=EVER[0], until=EVER[1], tz=tz, night=night)


def test_every_log_sample_has_expectations(samples: Path) -> None:
    found = {
        str(p.relative_to(samples))
        for folder in ("01*", "02*", "03*", "07*")
        for p in samples.glob(f"{folder}/**/*")
        if p.is_file() and p.name != "SOURCES.txt"
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.rsplit("__", 1)[-1][:40])
def test_sample_counts(samples: Path, name: str) -> None:
    records, fatal, error, warn = EXPECTED[name]
    digest = _digest(samples / name)
    (stats,) = digest.inputs
    assert (stats.records, digest.counts["fatal"], digest.counts["error"], digest.counts["warn"]) == (records, fatal, error, warn)
    assert stats.lines == (samples / name).read_bytes().count(b"\n")
    # A counted record with no clock and no record above it to borrow one from is still counted, and said so.
    untimed = name.endswith(("tidb-22238.log", "tidb-30140.log", "prometheus-3153-title.log"))
    assert stats.problems == (["1 counted entries had no usable time; they were counted as inside the window"] if untimed else [])


def _records(path: Path, night: dt.date = NIGHT, tz: dt.tzinfo = UTC):
    return list(iter_records([str(path)], tz=tz, night=night))


def test_pd_fatal_time_and_offset(samples: Path) -> None:
    recs = _records(samples / U / "pd_v7.1_startup_restart_full__taas-experiment.log")
    fatal = [r for r in recs if r.level == "fatal"]
    assert len(fatal) == 1 and fatal[0].message == "run server failed"
    assert fatal[0].time == dt.datetime(2023, 3, 28, 2, 3, 49, 333000, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert fatal[0].line_no == 190


def test_quoted_markdown_copy_reads_like_the_original(samples: Path) -> None:
    base = R
    plain = [(r.time, r.level, r.message) for r in _records(samples / f"{base}.log")]
    quoted = [(r.time, r.level, r.message) for r in _records(samples / f"{base}.quoted.md.txt")]
    assert plain == quoted
    assert ("error", "connection running loop panic") in [(lv, m) for _, lv, m in plain]


def test_raw_go_panic_keeps_its_whole_stack(samples: Path) -> None:
    (rec,) = _records(samples / S / "tidb_raw_go_panic_stderr_multiline__tidb-30140.log")
    assert rec.level == "fatal" and rec.message.startswith("panic: runtime error: invalid memory address")
    assert rec.text.count("\n") == 9  # all 10 lines of the file
    assert rec.text.endswith("commit.go:77 +0x2166")


def test_stack_overflow_dump_attaches_below_fatal_error(samples: Path) -> None:
    (rec,) = _records(samples / S / "tidb_fatal_stack_overflow_runtime_stack__tidb-22238.log")
    assert rec.message == "fatal error: stack overflow"
    assert rec.text.count("\n") == 14  # lines 2..16; line 1 comes before any record
    assert rec.time is None


def test_rust_backtrace_and_legacy_time_in_configured_zone(samples: Path) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    (rec,) = _records(samples / S / "tikv_2018_legacy_panic_raw_multiline_backtrace__tikv-2678.log", tz=shanghai)
    assert rec.level == "error" and "stack backtrace:" in rec.text
    assert rec.text.count("\n") == 15
    assert rec.time == dt.datetime(2018, 1, 12, 11, 57, 16, 807000, tzinfo=shanghai)


def test_unescaped_newlines_in_a_field_stay_one_record(samples: Path) -> None:
    (rec,) = _records(samples / S / "tikv_resolve_store_failed_unescaped_newlines_in_field__tikv-18121.log")
    assert rec.message == "resolve store address failed" and rec.text.count("\n") == 2


def test_journald_prefix_uses_the_inner_time(samples: Path) -> None:
    recs = _records(samples / S / "tikv_journald_prefixed_unified__tikv-9657.log")
    assert recs[0].time == dt.datetime(2021, 2, 19, 14, 46, 24, 112000, tzinfo=UTC)


def test_zap_stack_and_spaces_equal_tabs(samples: Path) -> None:
    (rec,) = _records(samples / K / "chaos-daemon_iptables_error_with_stack__cm-1885.log")
    assert rec.message == "error while setting iptables" and rec.text.count("\n") == 14
    spaces = _digest(samples / K / "chaos-mesh_timechaos_connection_refused_doc_example_SPACES__website-faq-v2.3.2.log")
    tabs = _digest(samples / K / "chaos-mesh_timechaos_connection_refused_doc_example_TABS__website-faq-v2.0.1.log")
    assert spaces.signatures[0].key == tabs.signatures[0].key


def test_epoch_float_scientific_timestamp(samples: Path) -> None:
    recs = _records(samples / K / "chaos-mesh_v2.1_controller-manager_epoch_float_space_padded__cm-2969.log")
    # 1.6462899392021365e+09 s
    assert recs[0].time == dt.datetime(2022, 3, 3, 6, 45, 39, 202137, tzinfo=dt.UTC)
    assert recs[0].message == "Starting EventSource"


def test_klog_year_comes_from_the_night(samples: Path) -> None:
    path = samples / K / "tidb-operator_e2e_klog_with_jenkins_prefix_blank_lines__tidb-operator-1145.log"
    errors = [r for r in _records(path, night=dt.date(2019, 11, 14)) if r.level == "error"]
    assert errors[0].time == dt.datetime(2019, 11, 14, 7, 17, 6, 193352, tzinfo=UTC)


def test_sigabrt_dump_with_journald_prefix(samples: Path) -> None:
    path = samples / K / "kubelet_journald_klog_E_W_I_then_SIGABRT_goroutine_dump__k8s-repo-kubelet.log"
    fatal = [r for r in _records(path, night=dt.date(2021, 3, 26)) if r.level == "fatal"]
    assert len(fatal) == 1 and fatal[0].message == "SIGABRT: abort"
    assert fatal[0].text.count("\n") == 19
    assert fatal[0].time == dt.datetime(2021, 3, 25, 12, 27, 0, tzinfo=UTC)


def test_epoch_milliseconds_json(samples: Path) -> None:
    name = "datadog-chaos-controller_json_ts_epoch_MILLISECONDS_float_message_key__DataDog-chaos-controller-pr259.log"
    recs = _records(samples / J / name)
    assert recs[0].time is not None and recs[0].time.replace(microsecond=0) == dt.datetime(2021, 3, 3, 18, 49, 42, tzinfo=dt.UTC)
    assert recs[0].message == "an injection pod is already existing for the selected target"


def test_tidb_json_time_keeps_unified_layout(samples: Path) -> None:
    (rec,) = _records(samples / S / "tidb_json_format_backoffer_maxSleep_exceeded_escaped_newlines__client-go-1518.log")
    assert rec.time == dt.datetime(2024, 12, 11, 17, 5, 43, 14000, tzinfo=UTC)
    assert "\n" in rec.message


def test_docker_json_file_unwraps_the_inner_line(samples: Path) -> None:
    (rec,) = _records(samples / J / "docker_json-file_log_line_with_u0009_escapes__k8s-109929.log")
    assert rec.level == "debug" and rec.time == dt.datetime(2022, 5, 10, 8, 4, 51, 140000, tzinfo=dt.UTC)


def test_logfmt_escaped_quotes(samples: Path) -> None:
    recs = _records(samples / J / "prometheus_logfmt_scrape_append_failed_escaped_quotes__prometheus-5383.log")
    assert recs[1].message == "append failed" and recs[1].fields == {"err": '"INVALID" is not a valid start token'}
    assert recs[1].time == dt.datetime(2019, 11, 18, 14, 41, 56, 775000, tzinfo=dt.UTC)


def test_ansi_escapes_are_stripped(samples: Path) -> None:
    recs = _records(samples / "07_robustness_extras/ansi_escapes_rendered_as_U+FFFD_plus_hardwrap__glassfish-5922.log")
    assert [r.level for r in recs] == ["info"] * 4
    assert all("[0m" not in r.text and "\ufffd" not in r.text for r in recs)
    assert recs[0].text.count("\n") == 3

"""Metrics loading: every load-test and Prometheus sample, CSV, start times, gaps and clear errors.

Expected values were read off the sample files by eye (or with grep/awk on the raw text), not taken from the parser.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.errors import UsageError
from sitegen.nightly.metrics import fill_gaps, load_metrics, parse_time

DATA = Path(__file__).resolve().parent.parent / "data" / "metrics"
START = dt.datetime(2021, 7, 9, 1, 0, tzinfo=dt.UTC)
T0 = START.timestamp()
LOAD = "04_load_test_output"
PROM = "06_prometheus_query_range"


def values(series):
    return [v for _, v in series.points]


def times(series):
    return [round(t - T0, 3) for t, _ in series.points]


def test_sysbench_1_threads_exit_qps_falls_to_zero(samples):
    s = load_metrics(samples / LOAD / "sysbench_1.0_threads_exit_qps_zero_thds_drop__sysbench-279.log", start=START)
    assert times(s) == [29, 30, 31, 32, 33, 34]
    assert values(s) == [122713.42, 122217.75, 401.09, 0.0, 0.0, 0.0]  # zeros are an outage, not gaps
    assert [v for _, v in s.extra["threads"]] == [512, 512, 241, 241, 241, 241]
    assert s.extra["latency_ms"][2] == (T0 + 31, 227.40)


def test_sysbench_1_qps_counting_failed_queries_is_not_throughput(samples):
    s = load_metrics(samples / LOAD / "sysbench_1.0_qps_equals_errs_after_failover__sysbench-213.log", start=START)
    assert s.points == [(T0 + 152, 0.0)]  # qps 6606.66 are all errors: nothing succeeded
    assert s.extra["qps"] == [(T0 + 152, 6606.66)]
    assert s.extra["err/s"] == [(T0 + 152, 6606.66)]
    assert "err/s" in s.source


def test_sysbench_1_header_and_slow_intervals(samples):
    s = load_metrics(samples / LOAD / "sysbench_1.0_header_and_intervals_very_slow__tidb-pr-7711.log", start=START)
    assert times(s) == [10, 20, 30, 40]
    assert values(s) == [6.10, 2.60, 3.10, 3.60]
    assert s.extra["latency_ms"][0][1] == 8638.96


def test_sysbench_1_1_proxysql_failover(samples):
    s = load_metrics(samples / LOAD / "sysbench_1.0_proxysql_failover_header_and_first_intervals__proxysql-1632.log", start=START)
    assert times(s) == [1, 2, 3, 4, 5, 6]
    assert values(s)[0] == 5301.70
    assert s.extra["tps"][4] == (T0 + 5, 380.03)


def test_sysbench_0_5_alert_multiline(samples):
    s = load_metrics(samples / LOAD / "sysbench_0.5_alert_multiline_tidb_backoff_error__tidb-2695.log", start=START)
    # reads 32513.95 + writes 9288.26 at [ 600s]; the ALERT lines after it are not data
    assert s.points == [(T0 + 600, 41802.21)]
    assert s.extra["err/s"] == [(T0 + 600, 0.0)]


def test_sysbench_0_5_legacy_99th_percentile_without_errors(samples):
    s = load_metrics(samples / LOAD / "sysbench_0.5_legacy_reads_writes_response_time_99__tikv-pr-1701.log", start=START)
    assert times(s) == [286, 288, 290, 292]
    assert values(s) == [22310.09, 23734.26, 22909.04, 14531.49]
    assert s.extra["latency_ms"][-1][1] == 13.75


def test_sysbench_0_5_full_run_with_summary(samples):
    s = load_metrics(
        samples / LOAD / "sysbench_0.5_rw_64thr_errors_reconnects_cols_with_summary__mariadb-benchmarks-MDEV-13845.res", start=START
    )
    assert len(s.points) == 90  # [   2s] .. [ 180s] every 2 s; the OLTP summary is not a point
    assert times(s)[0] == 2 and times(s)[-1] == 180
    assert values(s)[0] == pytest.approx(28227.99 + 8062.21)
    assert None not in values(s)


def test_sysbench_0_5_tps_zero_is_not_an_outage(samples):
    s = load_metrics(
        samples / LOAD / "sysbench_0.5_tps_zero_but_writes_nonzero_no_txn__mariadb-benchmarks-MDEV-13491.res", start=START
    )
    assert len(s.points) == 25
    assert values(s)[0] == 22600.10  # reads 0 + writes 22600.10 while tps is 0.00
    assert {v for _, v in s.extra["tps"]} == {0.0}


def test_sysbench_without_interval_lines_is_a_clear_error(samples):
    with pytest.raises(UsageError, match=r"without any interval line.*--report-interval"):
        load_metrics(samples / LOAD / "sysbench_fatal_9005_region_unavailable_repeated__tidb-9588.log", start=START)


def test_go_ycsb_timeseries_rate_from_cumulative_counts(samples):
    s = load_metrics(samples / LOAD / "go-ycsb_timeseries_insert_lines_with_properties__tikv-3826.log", start=START)
    assert times(s) == [10, 20, 30, 40]
    # first interval as reported (OPS 47412.4), then (Count - previous Count) / 10 s
    assert values(s) == pytest.approx([47412.4, (831212 - 472177) / 10, (1223112 - 831212) / 10, (1656567 - 1223112) / 10])


def test_go_ycsb_run_summary_only_is_a_clear_error(samples):
    with pytest.raises(UsageError, match="only the final run summary"):
        load_metrics(samples / LOAD / "go-ycsb_run_summary_workloada_tikv_raw__go-ycsb-268.log", start=START)


def test_go_tpc_current_rounds(samples):
    s = load_metrics(
        samples / LOAD / "go-tpc_tiup-bench-ch_current_and_summary_with_ERR_and_Q_lines__pingcap-docs-benchmark-ch.log", start=START
    )
    # Round 1 is cut (no DELIVERY row): a gap, not a fake dip. Round 2: (1167+13238+1224+12650+1179) / 10 s.
    assert times(s) == [10, 20]
    assert values(s) == [None, pytest.approx(2945.8)]


def test_cockroach_partial_block_and_zero_throughput(samples):
    s = load_metrics(samples / LOAD / "cockroach-workload_tpcc_per_second_zero_throughput_chaos__cockroach-35163.log", start=START)
    assert times(s) == [14 * 60 + 58, 14 * 60 + 59, 15 * 60]
    assert values(s) == [None, 0.0, 0.0]  # 14m58s shows only 2 of 5 txn types


def test_cockroach_float_elapsed_and_missing_seconds(samples):
    s = load_metrics(samples / LOAD / "cockroach-workload_tpcc_latency_spike_15s__cockroach-119924.log", start=START)
    assert times(s)[:2] == [3596.8, 3597.8]
    assert values(s)[:2] == pytest.approx([262.6 + 2555.1 + 251.6 + 2551.1 + 254.6, 247.6 + 2571.5 + 228.6 + 2567.5 + 234.6])
    # 3598.8 .. 3602.8 are missing, and 3603.6 holds only 3 of the 5 txn types
    assert values(s)[2:] == [None] * 6
    assert len(s.points) == 8


def test_pd_tso_bench_three_clients_summed(samples):
    s = load_metrics(samples / LOAD / "pd-tso-bench_SEC_STAT_tso_failover_qps_to_zero__FULL.log")
    pts = dict(s.points)
    assert len(s.points) == 430  # TS 1688031833 .. 1688032262
    assert pts[1688031833] == 30054 + 30056 + 29923
    assert pts[1688031895] == 0  # rps 0 with NaN latency: an outage, kept as zero
    assert dict(s.extra["p99_ms"])[1688031895] is None
    # The last second is reported by one client only (the others print their totals line): a gap.
    assert pts[1688032262] is None
    assert values(s).count(None) == 1
    assert "3 clients" in s.source


def test_pd_tso_bench_excerpt_one_client(samples):
    s = load_metrics(samples / LOAD / "pd-tso-bench_SEC_STAT_tso_failover_qps_to_zero__excerpt_lines1-210.log")
    assert len(s.points) == 206
    assert s.points[0] == (1688031833, 30054)
    assert s.points[-1] == (1688032038, 29999)
    assert values(s).count(0) == 23  # the 23 NAN lines
    assert None not in values(s)


def test_pd_tso_bench_no_outage(samples):
    s = load_metrics(samples / LOAD / "pd-tso-bench_SEC_STAT_taas_no_outage__excerpt_lines1-120.log")
    assert len(s.points) == 116
    assert s.points[0] == (1688033892, 29959) and s.points[-1] == (1688034007, 28937)
    assert min(values(s)) > 20000


def test_relative_time_without_start_names_the_flag(samples):
    with pytest.raises(UsageError, match="--metrics-start"):
        load_metrics(samples / LOAD / "sysbench_1.0_threads_exit_qps_zero_thds_drop__sysbench-279.log")


def test_start_header_in_the_file():
    s = load_metrics(DATA / "sysbench_1.1_with_start_header.log")
    start = dt.datetime(2021, 7, 9, 1, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    assert s.points[0] == (start + 1, 5301.70)
    # an explicit start wins over the header
    assert load_metrics(DATA / "sysbench_1.1_with_start_header.log", start=START).points[0][0] == T0 + 1


def test_naive_start_takes_the_zone():
    tz = ZoneInfo("Asia/Shanghai")
    s = load_metrics(DATA / "sysbench_1.1_with_start_header.log", start=dt.datetime(2021, 7, 9, 2, 0), tz=tz)
    assert s.points[0][0] == dt.datetime(2021, 7, 9, 2, 0, 1, tzinfo=tz).timestamp()


def test_prometheus_rate_1s_step(samples):
    s = load_metrics(samples / PROM / "grafana-testdata_range_auto_compact_1s_step_rate_with_bump_empty_labels__grafana.json")
    assert len(s.points) == 301
    assert s.points[0] == (1664376185.491, 0.004754464285714286)
    assert s.points[-1] == (1664376485.491, 0.00475)
    assert None not in values(s)


@pytest.mark.parametrize(
    "name", ["grafana-testdata_range_infinity_empty_metric_labels__grafana.json", "grafana-testdata_range_nan_values__grafana.json"]
)
def test_prometheus_nan_and_inf_are_gaps(samples, name):
    s = load_metrics(samples / PROM / name)
    assert s.points == [(1641889530, None), (1641889531, None), (1641889532, None)]


def test_prometheus_omitted_steps_become_gaps(samples):
    s = load_metrics(samples / PROM / "grafana-testdata_range_missing_irregular_gaps_integer_ts__grafana.json")
    assert s.points == [(1641889533, 21), (1641889534, 32), (1641889535, None), (1641889536, None), (1641889537, 43)]


def test_prometheus_several_series_summed_or_first(samples):
    path = samples / PROM / "grafana-testdata_range_simple_prometheus_http_requests_total__grafana.json"
    s = load_metrics(path)
    assert s.points == [(1641889529.123, 54), (1641889530.123, 21), (1641889531.123, 32), (1641889532.123, 43 + 76)]
    assert "summed 2 series" in s.source
    first = load_metrics(path, combine="first")
    assert values(first) == [21, 32, 43]
    assert 'code="200"' in first.source


def test_prometheus_up_matrix_documented_example(samples):
    s = load_metrics(samples / PROM / "prometheus_query_range_up_matrix__prometheus-docs-api.json")
    assert s.points == [(1435781430.781, 1), (1435781445.781, 1), (1435781460.781, 2)]


def test_prometheus_error_envelope(samples):
    with pytest.raises(UsageError) as err:
        load_metrics(samples / PROM / "prometheus_error_response_bad_data__prometheus-846.json")
    assert 'Prometheus answered with an error (bad_data): invalid expression type "matrix" for range query' in str(err.value)


def test_csv_iso_with_gaps_and_extra_column():
    s = load_metrics(DATA / "qps_iso.csv")
    t0 = dt.datetime(2021, 7, 9, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
    # NaN, an empty cell, a missing 01:00:40 row and +Inf are all gaps; the 0 at 01:00:50 stays a zero
    assert s.points == [(t0, 1000), (t0 + 10, 1010), (t0 + 20, None), (t0 + 30, None), (t0 + 40, None), (t0 + 50, 0), (t0 + 60, None)]
    assert s.extra["latency_ms"][0] == (t0, 5.0)
    assert s.extra["latency_ms"][2] == (t0 + 20, None)


def test_csv_epoch_and_naive_times(tmp_path):
    tz = ZoneInfo("Asia/Shanghai")
    s = load_metrics(DATA / "qps_epoch_naive.csv", tz=tz)
    assert s.name == "qps"
    assert [p for p in s.points if p[1] is not None] == [
        (1625763600, 500),
        (1625763601.5, 501),
        (dt.datetime(2021, 7, 9, 1, 0, 3, tzinfo=tz).timestamp(), 502),
    ]


def test_csv_bad_row_names_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2021-07-09T01:00:00Z,1\nyesterday,2\n")
    with pytest.raises(UsageError, match=r"bad.csv:3: 'yesterday' is not an ISO time or epoch seconds"):
        load_metrics(bad)
    bad.write_text("timestamp,value\n2021-07-09T01:00:00Z,lots\n")
    with pytest.raises(UsageError, match=r"bad.csv:2: column 'value' holds 'lots', not a number"):
        load_metrics(bad)


def test_unrecognised_file_lists_formats(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("the load test went fine\n")
    with pytest.raises(UsageError, match=r"notes.txt: not a recognised metrics format. Supported: sysbench 0.5 and 1.x"):
        load_metrics(junk)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UsageError, match="metrics file not found"):
        load_metrics(tmp_path / "nope.log")
    with pytest.raises(UsageError, match="is a folder"):
        load_metrics(tmp_path)


def test_gzip_input(samples, tmp_path):
    src = samples / LOAD / "sysbench_1.0_threads_exit_qps_zero_thds_drop__sysbench-279.log"
    gz = tmp_path / "run.log.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    assert values(load_metrics(gz, start=START)) == values(load_metrics(src, start=START))


def test_fill_gaps_and_parse_time():
    assert fill_gaps([(0, 1.0), (10, 2.0), (40, 3.0), (50, 4.0)]) == [
        (0, 1.0),
        (10, 2.0),
        (20, None),
        (30, None),
        (40, 3.0),
        (50, 4.0),
    ]
    assert parse_time("1625792400000", dt.UTC) == START  # epoch milliseconds
    assert parse_time("2021-07-09T01:00:00Z", ZoneInfo("Asia/Shanghai")) == START
    with pytest.raises(ValueError):
        parse_time("soon", dt.UTC)
    assert parse_time("2021-07-09 09:00", ZoneInfo("Asia/Shanghai")) == START

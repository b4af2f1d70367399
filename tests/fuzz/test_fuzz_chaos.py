"""The chaos loaders: any file either gives fault windows or a UsageError naming the file, nothing else."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from sitegen.errors import UsageError
from sitegen.nightly.chaos import load_chaos
from sitegen.nightly.chaos.cron import Cron, schedule_times
from tests.fuzz import documents, fuzz, lines

# Two hours, not a night: "@every 1s" is a likely example and costs 7,200 firings, not 86,400.
SINCE, UNTIL = dt.datetime(2021, 7, 9, 4, tzinfo=dt.UTC), dt.datetime(2021, 7, 9, 6, tzinfo=dt.UTC)
KEYS = [
    "kind",
    "apiVersion",
    "metadata",
    "name",
    "namespace",
    "creationTimestamp",
    "spec",
    "status",
    "schedule",
    "type",
    "concurrencyPolicy",
    "podChaos",
    "networkChaos",
    "duration",
    "scheduler",
    "cron",
    "experiment",
    "containerRecords",
    "events",
    "timestamp",
    "operation",
    "id",
    "message",
    "entry",
    "templates",
    "templateType",
    "children",
    "deadline",
    "items",
    "reason",
    "involvedObject",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "selector",
    "pods",
    "mode",
    "value",
    "labelSelectors",
    "namespaces",
    "action",
]
KINDS = ["Schedule", "Workflow", "PodChaos", "NetworkChaos", "Event", "EventList", "List", "PodChaosList", "Foo"]


BODIES, METADATA = documents(KEYS, max_leaves=40), documents(KEYS, 8)  # built once: building one per draw is slow


@st.composite
def objects(draw):
    """A Kubernetes-shaped object: a known kind, then anything under the keys the readers look at."""
    obj = draw(BODIES)
    if not isinstance(obj, dict) or draw(st.booleans()):
        obj = {"kind": draw(st.sampled_from(KINDS)), "spec": obj, "metadata": draw(METADATA)}
    return obj


def _load(data: bytes, name: str = "chaos.yaml") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            windows = load_chaos(path, since=SINCE, until=UNTIL, tz=dt.UTC)
        except UsageError as exc:
            assert str(exc)
            return
    assert all(w.start < UNTIL for w in windows)


@fuzz
@given(st.lists(objects(), min_size=1, max_size=3), st.sampled_from(["yaml", "json", "list"]))
@example([{"kind": "PodChaos", "spec": {"duration": 18 * 10**300}, "metadata": None}], "yaml")  # found by `make fuzz`: OverflowError
def test_objects_load_or_are_a_usage_error(docs, form):
    if form == "json":
        text = json.dumps(docs[0] if len(docs) == 1 else {"kind": "List", "items": docs}, default=str)
    elif form == "list":
        text = yaml.safe_dump({"kind": "List", "items": docs})
    else:
        text = yaml.safe_dump_all(docs)
    _load(text.encode("utf-8", "surrogatepass"))


@fuzz
@given(
    lines(
        [
            "kind: Schedule\n",
            "spec:\n",
            "  schedule: '@every 1s'\n",
            "&a ",
            "*a",
            "[",
            "{",
            "- ",
            ": ",
            "start,end\n",
            "2021-07-09T01:00:00Z,2021-07-09T01:01:00Z\n",
            "1625800000,",
            "---\n",
            "!!python/object:os.system\n",
            "%YAML 1.1\n",
        ],
        30,
    )
)
def test_any_text_loads_or_is_a_usage_error(text):
    _load(text.encode("utf-8", "surrogatepass"), "chaos.txt")


@fuzz
@given(
    st.one_of(
        st.text(max_size=30),
        st.builds(
            " ".join,
            st.lists(
                st.sampled_from(
                    [
                        "*",
                        "*/0",
                        "*/5",
                        "1-5",
                        "60",
                        "7",
                        "0-59/99999999999",
                        "JAN",
                        "sun",
                        "@daily",
                        "CRON_TZ=Asia/Shanghai",
                        "TZ=Nowhere/X",
                        "?",
                        ",",
                        "-",
                    ]
                ),
                max_size=7,
            ),
        ),
    )
)
def test_a_schedule_expression_fires_or_is_a_value_error(expr):
    try:
        times = schedule_times(expr, since=SINCE, until=SINCE + dt.timedelta(hours=2), tz=dt.UTC)
        for n, _ in enumerate(times):
            if n > 1000:
                break
    except ValueError:
        pass
    with contextlib.suppress(ValueError):
        Cron(expr, dt.UTC)

"""A recorded kubectl: replays the files of a recording folder as kubectl would print them.

Installed by `install_fake_kubectl` as an executable named `kubectl` first on PATH. Environment:
FAKE_KUBECTL_REC (recording folder), FAKE_KUBECTL_CALLS (file receiving one JSON argv per call),
FAKE_KUBECTL_UNREACHABLE (set: every cluster call fails like a real kubectl without a cluster),
FAKE_KUBECTL_WAIT (a file that `get pods` waits for, so a test can hold a run in mid-flight).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write(message + "\n")
    return code


def main(argv: list[str]) -> int:
    rec = Path(os.environ["FAKE_KUBECTL_REC"])
    calls = os.environ.get("FAKE_KUBECTL_CALLS")
    if calls:
        with open(calls, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(argv) + "\n")
    args = list(argv)
    if args[:1] == ["--context"]:
        args = args[2:]
    if args[:1] == ["version"]:
        sys.stdout.write((rec / "version.json").read_text())
        return 0
    if os.environ.get("FAKE_KUBECTL_UNREACHABLE"):
        sys.stderr.write((rec / "unreachable.stderr").read_text())
        return 1
    if args[:2] == ["get", "pods"]:
        wait = os.environ.get("FAKE_KUBECTL_WAIT")
        deadline = time.monotonic() + 30
        while wait and not Path(wait).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        sys.stdout.write((rec / "get-pods.json").read_text())
        return 0
    if args[:1] == ["logs"]:
        positional = [a for a in args[1:] if not a.startswith("-")]
        # collect passes `-n NAMESPACE POD -c CONTAINER`: the values are the only bare words
        _namespace, pod, container = positional[:3]
        previous = "--previous" in args
        if "--timestamps" not in args:
            return _fail("fake kubectl: collect must ask for --timestamps", 9)
        pod_dir = rec / "logs" / pod
        if not pod_dir.is_dir():
            return _fail(f'Error from server (NotFound): pods "{pod}" not found')
        name = f"{container}.previous.log" if previous else f"{container}.log"
        path = pod_dir / name
        if not path.exists():
            if previous:
                return _fail(
                    f'Error from server (BadRequest): previous terminated container "{container}" in pod "{pod}" not found'
                )
            return _fail(f'error: container {container} is not valid for pod {pod}')
        sys.stdout.buffer.write(path.read_bytes())
        return 0
    return _fail(f"fake kubectl: unexpected call {argv}", 9)


def install(bin_dir: Path) -> Path:
    """Write an executable `kubectl` into bin_dir (it replays $FAKE_KUBECTL_REC); returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "kubectl"
    source = Path(__file__).read_text(encoding="utf-8")
    script.write_text(f"#!{sys.executable}\n" + source, encoding="utf-8")
    script.chmod(0o755)
    return script


RECORDING = Path(__file__).resolve().parent / "data" / "kubectl"


def environment(tmp_path: Path) -> dict[str, str]:
    """A copy of the recording under tmp_path/rec, this kubectl first on PATH, and the environment to run sitegen with."""
    import shutil

    rec = tmp_path / "rec"
    shutil.copytree(RECORDING, rec)
    install(tmp_path / "bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_KUBECTL_")}
    env.update(
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        FAKE_KUBECTL_REC=str(rec),
        FAKE_KUBECTL_CALLS=str(tmp_path / "calls.jsonl"),
    )
    return env


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

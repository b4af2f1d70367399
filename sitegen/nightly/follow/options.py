"""What the follower is asked to do, and what it tells when it ends: plain data, shared by its modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FollowOptions:
    """What to follow and the follower's limits and timings (the defaults suit a real cluster)."""

    namespace: str
    out: Path  # the logs folder (config nightly.logs_dir): nights are written in OUT/YYYY-MM-DD/
    context: str | None = None
    selector: str | None = None
    night_ends_at: str = "06:00"
    timezone: str = "UTC"
    max_streams: int = 32  # kubectl log processes open at once (each about 40 MB)
    grace_s: float = 60.0  # a night is closed this long after it ends (late lines of a stream re-attached at 05:59)
    confirm_s: float = 10.0  # how long a resumed stream that does not start where it stopped waits for the pod status
    retry_s: float = 0.5  # first wait before a stream is opened again; doubles up to retry_max_s
    retry_max_s: float = 30.0
    resync_s: float = 300.0  # a full pod list this often, besides the watch
    manifest_every_s: float = 1.0


@dataclass
class FollowResult:
    """How a follower run ended: partial when a night it wrote has gaps or errors; lines for the user."""

    partial: bool
    messages: list[str] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)


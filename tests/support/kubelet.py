"""What the kubelet does to a ConfigMap, Secret or projected volume directory, step for step as its
AtomicWriter (pkg/volume/util/atomic_writer.go) does it, so a test can update a "mounted" config
directory exactly as a cluster would:

    /config/..2026_12_04_10_31_07.123456789/routes.toml    the payload, in a timestamped directory
    /config/..data -> ..2026_12_04_10_31_07.123456789       the one symlink swapped on each update
    /config/routes.toml -> ..data/routes.toml               what the pod reads, never itself changed

An update writes a new timestamped directory, points a `..data_tmp` symlink at it, renames that
over `..data` (the atomic step: a reader sees the old payload or the new, never a mix), adds links
for new files, removes links to files no longer in the payload, then deletes the old directory."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

DATA = "..data"
DATA_TMP = "..data_tmp"


def project(root: Path, payload: Mapping[str, str]) -> Path:
    """Write `payload` (file name -> text) into `root` as the kubelet does; the new data directory."""
    root.mkdir(parents=True, exist_ok=True)
    old = _current_data_dir(root)
    new = Path(tempfile.mkdtemp(prefix=time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()), dir=root))
    new.chmod(0o755)
    for name, text in payload.items():
        (new / name).write_text(text)
        (new / name).chmod(0o644)
    (root / DATA_TMP).symlink_to(new.name)
    os.rename(root / DATA_TMP, root / DATA)
    for name in payload:
        if not (root / name).is_symlink():
            (root / name).symlink_to(f"{DATA}/{name}")
    if old is not None:
        for stale in set(os.listdir(old)) - set(payload):
            (root / stale).unlink(missing_ok=True)
        shutil.rmtree(old)
    return new


def _current_data_dir(root: Path) -> Path | None:
    link = root / DATA
    return root / os.readlink(link) if link.is_symlink() else None

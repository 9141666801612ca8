"""The committed stubs in clients/python must be exactly what proto/ generates today."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_stubs_match_proto(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([str(ROOT / "scripts" / "gen_protos.sh"), str(tmp_path)], check=True, env=env, capture_output=True)
    fresh = tmp_path / "aqueduct" / "v1"
    committed = ROOT / "clients" / "python" / "aqueduct" / "v1"
    fresh_names = sorted(p.name for p in fresh.iterdir() if p.is_file())
    committed_names = sorted(p.name for p in committed.iterdir() if p.is_file())
    assert fresh_names == committed_names, "stub files differ from proto/: run `make proto` and commit"
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, fresh_names, shallow=False)
    assert not mismatch and not errors, f"stale generated stubs {mismatch + errors}: run `make proto` and commit"

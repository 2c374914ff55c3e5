"""Peak RSS of one partition, in a fresh process: ``python -m bench.rss ITEMS``.

Starts its own sandbox (a separate process, not counted), runs the library path of
raw_pages + extracted_records (bench/env.py ``library_run``) and prints
{"pages": ..., "records": ..., "max_rss_kb": ...}: ``VmHWM`` of this process's memory map.
Not ``ru_maxrss``: Linux carries that over ``execve`` from the forked parent, so a child of a
350 MB benchmark process would report at least 350 MB whatever it did.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
from pathlib import Path

from bench.env import fleet_home, library_run, shop_target, write_targets
from fleet_assets.sandbox import SandboxProcess


def main(items: int) -> None:
    with tempfile.TemporaryDirectory(prefix="fleet-bench-rss-") as tmp, \
            SandboxProcess(shop_items=items) as sandbox:
        targets = write_targets(Path(tmp) / "targets.yaml", sandbox.url)
        with fleet_home(Path(tmp) / "home", targets, sandbox.url) as home:
            result, records = library_run(shop_target(targets), home)
    print(json.dumps({"pages": len(result.entries), "records": records, "max_rss_kb": peak_kb()}))


def peak_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main(int(sys.argv[1]))

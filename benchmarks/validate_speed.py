"""How long validating a call folder takes: the demo call and a generated 20,000-proposal call.

    python benchmarks/validate_speed.py [--proposals 20000] [--experts 8000] [--runs 3]

Prints, for each call, the median wall time of ``read_call`` in this process (every check of
DESIGN.md, nothing written) and of the whole ``evalpanel validate`` process (start-up included),
with the CPU time of the in-process runs, so that the numbers stay readable on a loaded machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalpanel.callfolder import read_call  # noqa: E402
from fixtures.generate import write_call  # noqa: E402


def measure(folder: Path, runs: int) -> tuple[float, float, float]:
    walls, cpus, procs = [], [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        read_call(folder)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "evalpanel.cli", "validate", str(folder)],
                       check=True, capture_output=True)
        procs.append(time.perf_counter() - start)
    return statistics.median(walls), statistics.median(cpus), statistics.median(procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=20_000)
    parser.add_argument("--experts", type=int, default=8_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    demo = ROOT / "fixtures" / "demo"
    rows = [("demo call (240 proposals, 110 experts)", demo)]
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big"
        start = time.perf_counter()
        write_call(big, seed=7, n_proposals=args.proposals, n_experts=args.experts)
        size = sum(p.stat().st_size for p in big.iterdir()) / 1e6
        print(f"generated {args.proposals:,} proposals x {args.experts:,} experts "
              f"({size:.0f} MB) in {time.perf_counter() - start:.1f} s")
        rows.append((f"generated call ({args.proposals:,} proposals, {args.experts:,} experts)",
                     big))
        print(f"{'call':52} {'read_call':>10} {'cpu':>8} {'process':>9}   (medians of "
              f"{args.runs} runs)")
        results = []
        for label, folder in rows:
            wall, cpu, proc = measure(folder, args.runs)
            results.append(wall)
            print(f"{label:52} {wall:9.2f}s {cpu:7.2f}s {proc:8.2f}s")
        print(f"ratio large / demo (read_call wall): {results[1] / results[0]:.0f}x for "
              f"{args.proposals / 240:.0f}x the proposals")


if __name__ == "__main__":
    main()

"""Run every benchmark and rewrite bench/results.md as a whole (header, then each section).

    .venv/bin/python bench/run_all.py            # full sizes, about 20 minutes
    .venv/bin/python bench/run_all.py --quick    # tiny sizes for CI smoke (under 2 minutes),
                                                 # written to bench/out/results-quick.md
    .venv/bin/python bench/run_all.py --only pages download
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_download, bench_inflight, bench_pages, bench_throughput, bench_tracking, common  # noqa: E402

BENCHMARKS = {
    "tracking": bench_tracking.run,
    "inflight": bench_inflight.run,
    "download": bench_download.run,
    "throughput": bench_throughput.run,
    "pages": bench_pages.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes; writes bench/out/results-quick.md")
    parser.add_argument("--results", type=Path, help="file to rewrite (default: bench/results.md)")
    parser.add_argument("--only", nargs="+", choices=tuple(BENCHMARKS), help="run only these")
    args = parser.parse_args(argv)
    path = args.results or (common.QUICK_RESULTS if args.quick else common.RESULTS)
    names = args.only or list(BENCHMARKS)
    note = "Quick mode (`--quick`): tiny sizes for a smoke test; these figures say nothing about speed." \
        if args.quick else ""
    sections: list[tuple[str, str]] = []
    goals: list[tuple[str, bool]] = []
    failed = []
    started = time.monotonic()
    for name in names:
        common.log(f"=== {name} ===")
        try:
            outcome = common.execute(BENCHMARKS[name], quick=args.quick)
        except Exception:
            failed.append(name)
            sections.append((name, f"## {name}\n\nFailed:\n\n```\n{traceback.format_exc()[-3000:]}\n```"))
            traceback.print_exc()
        else:
            sections.append((outcome.name, outcome.body))
            goals += outcome.goals
        common.write_all(sections, path, note)  # after each one, so a crash keeps what was measured
    summary = common.summary_body(common.goal_lines(goals))
    sections.insert(0, ("summary", summary))
    common.write_all(sections, path, note)
    print(f"\n{path} written in {(time.monotonic() - started) / 60:.1f} min\n\n{summary}")
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""`stanceline --help`: the wall time of a whole process that prints the command's help.

Timed in turns with `python -c pass` (the interpreter's own start, the baseline) by the same
interpreter, so other load on the machine falls on both alike: the figure is the median of
`runs`, in seconds, and the ratio to the baseline's median. The process is started as a user
starts it (the `stanceline` script next to this interpreter) with the environment of the run.

  python -m bench.cli_help [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from bench.stats import Result, interleaved

TARGET_SECONDS = 1.0
SCENARIO = "stanceline --help"


def _command() -> list[str]:
    script = Path(sys.executable).parent / "stanceline"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]


def _run(argv: list[str]) -> None:
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)


def run(*, runs: int = 15) -> list[Result]:
    help_argv = [*_command(), "--help"]
    timings = interleaved(
        {
            "help": lambda: _run(help_argv),
            "pass": lambda: _run([sys.executable, "-c", "pass"]),
        },
        count=runs,
        budget_seconds=float("inf"),  # exactly `runs` turns
        warmup=1,
    )
    value = statistics.median(timings["help"].samples)
    baseline = statistics.median(timings["pass"].samples)
    return [
        Result(
            scenario=SCENARIO,
            engine="-",
            size=None,
            unit="s",
            value=value,
            baseline="python -c pass",
            baseline_value=baseline,
            ratio=value / baseline if baseline else None,
            target=f"< {TARGET_SECONDS:g} s",
            met=value < TARGET_SECONDS,
            details={
                "runs": len(timings["help"].samples),
                "help_seconds": sorted(round(s, 4) for s in timings["help"].samples),
                "pass_seconds": sorted(round(s, 4) for s in timings["pass"].samples),
                "command": " ".join([*help_argv]),
            },
        )
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_help", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="timed turns of each command (median)")
    args = parser.parse_args(argv)
    (row,) = run(runs=args.runs)
    print(
        f"{row.scenario}: median {row.value:.3f} s over {row.details['runs']} runs; python -c pass "
        f"{row.baseline_value:.3f} s; ratio {row.ratio:.1f}x; target {row.target}: "
        f"{'met' if row.met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()

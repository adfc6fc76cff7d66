"""Command line: ``fashionrec run [NOTEBOOK ...] --profile smoke --out build/smoke -p key=value``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fashionrec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks with papermill")
    run.add_argument("notebooks", nargs="*", help="e.g. 01 or 01_bilstm or bilstm (default: all)")
    run.add_argument("--profile", default="standard", help="smoke | standard | paper")
    run.add_argument("--out", type=Path, default=Path("build/executed"), help="folder for executed notebooks")
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                     help="a notebook parameter, e.g. -p dataset=polyvore -p data_root=/data/polyvore")
    run.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    sub.add_parser("list", help="list the notebooks")
    args = parser.parse_args(argv)

    from .run import find_notebooks, parse_params, run_notebooks

    if args.command == "list":
        for path in find_notebooks():
            print(path.stem)
        return 0
    try:
        failures = run_notebooks(args.notebooks, args.out, args.profile, parse_params(args.param), args.keep_going)
    except ValueError as err:
        print(f"fashionrec: {err}", file=sys.stderr)
        return 2
    if failures:
        print(f"{len(failures)} notebook(s) failed:", *failures, sep="\n", file=sys.stderr)
        return 1
    return 0

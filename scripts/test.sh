#!/usr/bin/env bash
# Set up and run all the tests: unit tests, every notebook on the smoke profile, nbval on the
# executed notebooks, the book build and the built book in a browser. This is what CI runs (.ci/run).
# With --book (CI): nbval re-executes the committed pages instead of the smoke notebooks (every
# notebook on the standard profile, from a clean cache) and compares each receipt cell with the page
# (about 10 minutes more on 2 cores). Everything runs two at a time on 2 cores (JOBS, default: the
# cores, at most 4): the kernel pins give each notebook and test process one thread.
set -euo pipefail
cd "$(dirname "$0")/.."
book=0
for arg in "$@"; do
  case "$arg" in
    --book) book=1 ;;
    *) echo "usage: bash scripts/test.sh [--book]" >&2; exit 2 ;;
  esac
done
bash scripts/setup.sh
export FASHIONREC_RUNS="$PWD/build/runs"   # keep smoke runs apart from the book's
eval "$(.venv/bin/python -m fashionrec pins)"   # the runner's CPU kernel pins, for nbval's kernels too
JOBS=${JOBS:-$(.venv/bin/python -c "from fashionrec.run import default_jobs; print(default_jobs())")}
XDIST=(); XDIST_NB=()  # pytest-xdist: tests in JOBS processes; notebooks a whole page per kernel, in order
if [ "$JOBS" -gt 1 ]; then XDIST=(-n "$JOBS"); XDIST_NB=(-n "$JOBS" --dist loadfile --no-loadscope-reorder); fi

pytest_ok() {  # pytest exits 5 when it collected no tests: that is a failure here too
  local rc=0
  "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then echo "no tests were collected by: $*" >&2; return 1; fi
  return "$rc"
}

echo "== unit tests"
pytest_ok .venv/bin/python -m pytest -q "${XDIST[@]}" -m "not smoke_outputs" --ignore=tests/test_book_html.py tests

echo "== notebooks on the smoke profile"
rm -rf build/smoke
.venv/bin/python -m fashionrec run --profile smoke --out build/smoke --keep-going --jobs "$JOBS"

echo "== the paper path: each chapter's paper profile on a smoke-sized export of its dataset (official layout)"
rm -rf build/paper-path
FASHIONREC_RUNS="$PWD/build/paper-path/runs" .venv/bin/python -m fashionrec paper-path --out build/paper-path --keep-going --jobs "$JOBS"

NBVAL=(--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg)
if [ "$book" -eq 0 ]; then  # with --book, nbval checks the committed pages instead (below)
  echo "== nbval: re-run the smoke notebooks and compare the receipt cells"
  pytest_ok .venv/bin/python -m pytest -q "${XDIST_NB[@]}" -p no:cacheprovider "${NBVAL[@]}" build/smoke
fi

echo "== notebooks after the smoke runs: the results of the smoke runs are in range"
pytest_ok .venv/bin/python -m pytest -q -m smoke_outputs tests

echo "== book build (warnings are errors)"
.venv/bin/jupyter-book build -W -n --keep-going .

echo "== the built book in headless Chromium, offline: equations, images, console, links, code width"
# Skips in one line where chromium is missing (.ci/run installs it); screenshots in build/screenshots/.
pytest_ok .venv/bin/python -m pytest -q -rs -p no:cacheprovider tests/test_book_html.py

if [ "$book" -eq 1 ]; then
  echo "== the book re-derived by nbval: every committed page re-executed (standard) from a clean cache,"
  echo "   each receipt cell compared with the page"
  rm -rf build/book-cache build/book-runs
  mapfile -t pages < <(.venv/bin/python -m fashionrec list --xdist-order "$JOBS")  # the longest first
  pytest_ok env FASHIONREC_CACHE="$PWD/build/book-cache" FASHIONREC_RUNS="$PWD/build/book-runs" \
    .venv/bin/python -m pytest -q "${XDIST_NB[@]}" -p no:cacheprovider "${NBVAL[@]}" "${pages[@]}"
fi
echo "all tests passed"

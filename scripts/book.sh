#!/usr/bin/env bash
# Set up, execute every notebook on the standard profile (FashionWorld) and build the HTML book.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The executed notebooks are the book's pages: notebooks/NN_name.ipynb, paired with the .py sources.
.venv/bin/python -m fashionrec run --profile standard --out notebooks "$@"
.venv/bin/jupyter-book build -W -n --keep-going .
echo "The book is at $(pwd)/_build/html/index.html"

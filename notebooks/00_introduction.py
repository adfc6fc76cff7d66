# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How to use this book
#
# **What you'll find here:** five fashion-recommendation papers, each re-implemented in the small
# library `fashionrec`, trained and evaluated in a chapter you can run end to end. Every number
# on these pages was produced by the code on the page, when the page was built.
#
# Each chapter runs by default on **FashionWorld**, a procedurally generated fashion universe whose
# generative model is known (next page). Because the truth is known, every table shows three
# reference points beside a model: **chance**, the model, and the **oracle** (the best score any
# model could reach under the generator). The real datasets of the papers plug in through the same
# code for the `paper` profile.

# %% tags=["parameters"]
profile = "standard"      # smoke | standard | paper
dataset = None            # None: the profile's own (FashionWorld here)
data_root = None          # None: the profile's own
device = "auto"           # cuda when available
seed = 0

# %%
import pandas as pd

from fashionrec import config, report

cfg = config.ChapterConfig.for_profile(profile, chapter="introduction", dataset=dataset,
                                       data_root=data_root, device=device, seed=seed)
cfg

# %% [markdown]
# ## The five chapters

# %%
chapters = pd.DataFrame([vars(c) for c in config.CHAPTERS]).set_index("number")
chapters

# %% [markdown]
# ## Profiles
#
# Every notebook starts with one cell tagged `parameters`; papermill replaces it to run the same
# notebook at another size or on another dataset.
#
# | profile | data | where | budget |
# |---|---|---|---|
# | `smoke` | FashionWorld, tiny | CI and tests | seconds to a minute per chapter on 2 CPU cores |
# | `standard` | FashionWorld, book size | what these pages show | a few minutes per chapter on a CPU |
# | `paper` | a real dataset, the paper's hyper-parameters and backbone | a GPU | hours, as in the papers |
#
# ## Running it yourself
#
# ```bash
# bash scripts/book.sh   # set up .venv, run every notebook (standard), build the HTML book
# bash scripts/test.sh   # set up .venv, unit tests, smoke notebooks, nbval, book build
# .venv/bin/python -m fashionrec run 01 --profile smoke --out build/smoke   # one chapter
# .venv/bin/python -m fashionrec run 01 --profile paper -p data_root=/data/polyvore
# .venv/bin/jupyter lab notebooks/ # step through a chapter (open the .py: it is paired with the .ipynb)
# ```
#
# `fashionrec run` is papermill with the CPU kernels pinned (see {doc}`../book/reproducing`). Plain
# papermill runs a chapter too, with the same parameters (`-p`, or `-y` for `overrides`):
#
# ```bash
# eval "$(.venv/bin/python -m fashionrec pins)"  # the pinned kernels, for identical numbers
# .venv/bin/papermill notebooks/01_bilstm.ipynb build/01_smoke.ipynb -p profile smoke
# .venv/bin/papermill notebooks/03_c2s.ipynb build/03.ipynb -y "overrides: {seeds: [0]}"
# ```
#
# What a profile costs: each chapter's "At a glance" says how long the run that made its page took
# (the `standard` profile) and on which machine; its reproducibility box at the end splits that time
# by stage.
#
# ## The machine this page was built on

# %%
env = report.environment()
device_used = config.select_device(device)
print(f"device: {device_used}")
pd.Series(env["packages"], name="version").to_frame()

# %% tags=["nbval-check-output"]
print(f"{len(config.CHAPTERS)} chapters, profiles: {', '.join(config.PROFILES)}")

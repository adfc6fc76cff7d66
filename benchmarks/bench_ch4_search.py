"""Chapter 4 at catalog scale: multimodal search over 1.5 M x 512-d embeddings on 2 CPU cores.

    python benchmarks/bench_ch4_search.py                 # the paper's 1.5 M items (a few GB of RAM)
    python benchmarks/bench_ch4_search.py --n 100000      # a quick run

The catalog is generated to match the trained embeddings of the chapter's notebook (a Gaussian
mixture in their top principal components plus isotropic noise, ``search.EmbeddingSampler``),
read from ``search_embeddings.npz`` of the newest ``standard`` run (or ``--embeddings``); the
trained attribute head gives each generated item its word probabilities. Queries are new samples
moved by query arithmetic with random wanted / unwanted words.

Reports, per index and setting: build time, memory, p50 / p99 latency of one query at a time,
recall@20 against exact search, and the same for soft filtering (ANN top-N by cosine, re-ranked
by cos * p_w) against the exact soft-filtered top 20. Also the training throughput (samples/s) of
the joint model on CPU. Writes JSON to ``<runs>/joint_embedding/benchmark/search_<n>_<kinds>.json``,
which the notebook shows. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_500_000, help="catalog size")
    p.add_argument("--dim", type=int, default=512, help="must equal the trained embedding size")
    p.add_argument("--embeddings", type=Path, default=None, help="search_embeddings.npz written by the notebook")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--kinds", default="ivf,hnsw", help="comma-separated: ivf, hnsw")
    p.add_argument("--nlist", type=int, default=None, help="IVF cells (default ~ 4 sqrt(n), a power of 2)")
    p.add_argument("--nprobe", default="4,8,16,32,64")
    p.add_argument("--ef", default="16,32,64,128")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--candidates", default="200,1000,5000", help="ANN top-N re-ranked by the soft filter")
    p.add_argument("--skip-train", action="store_true", help="skip the training-throughput part")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def find_embeddings(path: Path | None) -> Path:
    from fashionrec import report

    if path is not None:
        if not path.exists():
            raise SystemExit(f"{path}: not found")
        return path
    found = sorted((report.runs_root() / "joint_embedding" / "standard").glob("*/search_embeddings.npz"),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"no search_embeddings.npz under {report.runs_root()}/joint_embedding/standard: run the "
                         "notebook first (python -m fashionrec run 04) or pass --embeddings")
    return found[-1]


def rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def training_throughput(threads: int, vocab: int, dim: int) -> dict[str, float]:
    """Samples/s of JointEmbedding training steps on CPU: on cached features, and fine-tuning a CNN."""
    import torch

    from fashionrec.backbones import build_backbone
    from fashionrec.joint_embedding.model import CNNEncoder, JointEmbedding, JointLoss

    torch.set_num_threads(threads)
    out = {}
    for name, batch, model in (
            ("frozen features (1280-d), MBMR + attributes", 128, JointEmbedding(1280, vocab, dim)),
            ("fine-tune resnet18 at 64 px, MBMR + attributes", 32,
             JointEmbedding(512, vocab, dim, CNNEncoder(build_backbone("resnet18"))))):
        inputs = (torch.randn(batch, 1280) if "frozen" in name
                  else torch.randint(0, 256, (batch, 64, 64, 3), dtype=torch.uint8))
        bags = (torch.rand(batch, vocab) < 5 / vocab).float()
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        loss_fn = JointLoss("mbmr")
        steps = 30 if "frozen" in name else 5
        for k in range(steps + 2):
            if k == 2:
                start = time.perf_counter()
            loss = loss_fn(model, (inputs, bags))
            opt.zero_grad()
            loss.backward()
            opt.step()
        out[name] = steps * batch / (time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import faiss

    from fashionrec import report, store
    from fashionrec.joint_embedding import search

    faiss.omp_set_num_threads(args.threads)
    source = find_embeddings(args.embeddings)
    saved = np.load(source)
    reference, head_w, head_b = saved["image_embeddings"], saved["head_weight"], saved["head_bias"]
    if reference.shape[1] != args.dim:
        raise SystemExit(f"{source}: embeddings are {reference.shape[1]}-d, not --dim {args.dim}")
    print(f"reference embeddings {reference.shape} from {source}; {args.threads} threads", flush=True)

    start = time.perf_counter()
    sampler = search.EmbeddingSampler.fit(reference, seed=args.seed)
    gallery = sampler.sample(args.n + args.queries, seed=args.seed)
    query_images, gallery = gallery[args.n:].copy(), gallery[:args.n]
    probs = np.empty((args.n, len(head_b)), np.float16)  # p_w of every generated item
    for s in range(0, args.n, 100_000):
        probs[s:s + 100_000] = 1 / (1 + np.exp(-(gallery[s:s + 100_000] @ head_w.T + head_b)))
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)  # in place: cosine = inner product
    rng = np.random.default_rng(args.seed)
    vocab = len(head_b)
    if "lexicon" in saved:  # requests name attribute values (colours, patterns, materials), as in the notebook
        index = {w: k for k, w in enumerate(saved["words"].tolist())}
        lexicon = json.loads(str(saved["lexicon"]))
        values = [ids for ids in (search.value_word_ids([v], lexicon, index)[0] for v in lexicon) if ids]
    else:  # an older file: any vocabulary word
        values = [[k] for k in range(vocab)]
    wanted = [[values[rng.integers(len(values))]] for _ in range(args.queries)]
    unwanted = [[values[rng.integers(len(values))]] for _ in range(args.queries)]
    words = saved["word_embeddings"]
    queries = search.normalize(np.stack([search.arithmetic_query(f, search.text_vector(w, words),
                                                                 search.text_vector(u, words), 0.5)
                                         for f, w, u in zip(query_images, wanted, unwanted)]))
    print(f"generated {args.n:,} items in {time.perf_counter() - start:.0f} s; RSS {rss_gb():.1f} GB", flush=True)

    start = time.perf_counter()
    flat = search.VectorIndex(faiss.IndexFlatIP(args.dim), "ip", "flat")
    flat.index.add(gallery)
    _, exact_ids = flat.search(queries, 20)  # (Q, 20) exact top 20 by cosine
    exact_soft = search.exact_soft_search(gallery, probs, queries, wanted, unwanted, k=20)
    lat = search.latencies(lambda q, f=flat: f.search(q, 20), queries[:20], warmup=2)
    rows = [dict(index="exact (flat)", setting="-", build_s=0.0, memory_gb=args.n * args.dim * 4 / 2**30,
                 recall20=1.0, p50_ms=1e3 * np.median(lat), p99_ms=1e3 * np.quantile(lat, 0.99))]
    del flat
    print(f"exact references in {time.perf_counter() - start:.0f} s", flush=True)

    candidates = [int(c) for c in args.candidates.split(",")]
    for kind in args.kinds.split(","):
        start = time.perf_counter()
        if kind == "ivf":
            nlist = args.nlist or int(2 ** round(np.log2(4 * np.sqrt(args.n))))
            index = search.VectorIndex.build(gallery, "ip", kind="ivf", nlist=nlist, seed=args.seed,
                                             train_size=100_000)
            memory = (args.n * (args.dim * 4 + 8) + nlist * args.dim * 4) / 2**30
            kind, knob, settings = f"ivf (nlist={nlist})", "nprobe", [int(v) for v in args.nprobe.split(",")]
        elif kind == "hnsw":
            index = search.VectorIndex.build(gallery, "ip", kind="hnsw", hnsw_m=args.hnsw_m)
            memory = (args.n * args.dim * 4 + index.index.hnsw.neighbors.size() * 4) / 2**30
            kind, knob, settings = f"hnsw (M={args.hnsw_m})", "efSearch", [int(v) for v in args.ef.split(",")]
        else:
            raise SystemExit(f"unknown index kind {kind!r}")
        build_s = time.perf_counter() - start
        print(f"{kind}: built in {build_s:.0f} s, ~{memory:.2f} GB; RSS {rss_gb():.1f} GB", flush=True)
        for value in settings:
            if kind.startswith("ivf"):
                index.index.nprobe = value
            else:
                index.index.hnsw.efSearch = value
            _, ids = index.search(queries, 20)
            lat = search.latencies(lambda q, ix=index: ix.search(q, 20), queries)
            row = dict(index=kind, setting=f"{knob}={value}", build_s=build_s, memory_gb=memory,
                       recall20=search.recall_at_k(ids, exact_ids), p50_ms=1e3 * np.median(lat),
                       p99_ms=1e3 * np.quantile(lat, 0.99))
            for c in candidates:
                soft = search.ScalableSearch(index, probs, candidates=c)
                _, soft_ids = soft.search(queries, wanted, unwanted, k=20)
                lat = search.latencies(lambda q, ss=soft: ss.search(q, [wanted[0]], [unwanted[0]], k=20),
                                       queries[:50])
                row[f"soft{c}_recall20"] = search.recall_at_k(soft_ids, exact_soft)
                row[f"soft{c}_p50_ms"] = 1e3 * np.median(lat)
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
        del index

    result = dict(n=args.n, dim=args.dim, threads=args.threads, queries=args.queries, machine=platform.machine(),
                  processor=platform.processor() or platform.machine(), cpus=os.cpu_count(), source=str(source),
                  rows=rows)
    if not args.skip_train:
        result["train_samples_per_s"] = training_throughput(args.threads, vocab, args.dim)
        for name, v in result["train_samples_per_s"].items():
            print(f"training throughput, {name}: {v:.0f} samples/s")
    ok = [r for r in rows if r["index"] != "exact (flat)" and r["recall20"] >= 0.95 and r["p50_ms"] <= 5.0]
    print("target p50 <= 5 ms at recall@20 >= 0.95:", "met by " + ", ".join(f"{r['index']} {r['setting']}" for r in ok)
          if ok else "not met")
    out = args.out or report.runs_root() / "joint_embedding" / "benchmark"
    path = out / f"search_{args.n}_{args.kinds.replace(',', '-')}{f'_nlist{args.nlist}' if args.nlist else ''}.json"
    store.save_json(path, result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Formulaic-pledge detection throughput: own numpy MinHash + LSH vs datasketch MinHash + MinHashLSH.

Corpus: the demo generator's pledge texts (specific ones composed from when / where / for whom / what, formulaic ones
copied from templates with small edits), one to three items per pledge. Same parameters on both sides: character
3-, 4- and 5-gram shingles of the normalised text, 128 permutations, LSH with 32 bands × 4 rows, a candidate pair kept
at estimated Jaccard ≥ 0.6, connected components, a template = a cluster spanning ≥ 5 authors. Recall: the share of
template-copy texts that end up in a template; both sides are scored against the generator's labels.

Goals: the demo county's 20,000 pledges ≤ 5 s; ≥ 3× faster than datasketch at equal recall; 1,000,000 synthetic pledges
≤ 5 min and ≤ 4 GiB peak memory. `python -m bench.bench_pledges_formulaic [pledges] [big]` (defaults 20000 1000000;
big = 0 skips the million).
"""

from __future__ import annotations

import random
import resource
import sys
import time

from bench.common import setup_django


def corpus(n_pledges: int, seed: int = 2010):
    """(texts, authors, is_template_copy) for `n_pledges` pledges made the way the demo makes them."""
    from xianfeng.core.demo import DemoContext
    from xianfeng.pledges import demo

    ctx = DemoContext(seed=seed)
    rng = ctx.rng
    units = [f"{''.join(rng.sample(demo.WHEN[0] + '丰庆安福兴华新和平永乐民胜利光明红星长春', 2))}村" for _ in range(800)]
    texts, authors, copies = [], [], []
    for member in range(n_pledges):
        writer = rng.random() < 0.3
        unit = units[member % len(units)]
        for _ in range(rng.choice((1, 2, 2, 3))):
            if writer and rng.random() < 0.8:
                text = demo._formulaic(ctx)
                copies.append(any(t in text for t in demo.TEMPLATES) or text in demo.VAGUE)
            else:
                text = demo._specific(ctx, unit)
                copies.append(False)
            texts.append(text)
            authors.append(f"m{member}")
    return texts, authors, copies


def recall(template_of, copies) -> float:
    total = sum(copies)
    return sum(1 for i, c in enumerate(copies) if c and i in template_of) / total if total else float("nan")


def own(texts, authors):
    from xianfeng.pledges import formulaic

    started = time.perf_counter()
    result = formulaic.detect(texts, authors, min_authors=5, specificity_threshold=0.4)
    return time.perf_counter() - started, result.template_of, len(result.templates)


def with_datasketch(texts, authors):
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from xianfeng.pledges import formulaic

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=formulaic.THRESHOLD, num_perm=formulaic.NUM_PERM, params=(formulaic.BANDS, formulaic.ROWS))
    hashes = []
    for i, text in enumerate(texts):
        norm = formulaic.normalise(text)
        shingles = [norm[j:j + n].encode() for n in formulaic.NGRAMS for j in range(len(norm) - n + 1)]
        m = MinHash(num_perm=formulaic.NUM_PERM, seed=1)
        if shingles:
            m.update_batch(shingles)
        hashes.append(m)
        lsh.insert(i, m, check_duplication=False)
    parent = list(range(len(texts)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j != i and np.mean(m.hashvalues == hashes[j].hashvalues) >= formulaic.THRESHOLD:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(find(i), []).append(i)
    template_of = {}
    templates = 0
    for members in groups.values():
        if len(members) > 1 and len({authors[i] for i in members}) >= 5:
            for i in members:
                template_of[i] = templates
            templates += 1
    return time.perf_counter() - started, template_of, templates


def main() -> None:
    setup_django()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    big = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    texts, authors, copies = corpus(n)
    print(f"corpus: {n:,} pledges, {len(texts):,} items, {sum(copies):,} template copies")
    t_own, template_own, k_own = own(texts, authors)
    r_own = recall(template_own, copies)
    print(f"own numpy: {t_own:.2f} s ({len(texts) / t_own:,.0f} items/s, {n / t_own:,.0f} pledges/s), "
          f"{k_own} templates, recall {r_own:.3f}; goal ≤ 5 s — {'meets goal' if t_own <= 5 else 'MISSES goal'}")
    t_ds, template_ds, k_ds = with_datasketch(texts, authors)
    r_ds = recall(template_ds, copies)
    ratio = t_ds / t_own
    print(f"datasketch: {t_ds:.2f} s ({len(texts) / t_ds:,.0f} items/s), {k_ds} templates, recall {r_ds:.3f}")
    print(f"speed-up over datasketch: {ratio:.1f}× at recall {r_own:.3f} vs {r_ds:.3f}; goal ≥ 3× — "
          f"{'meets goal' if ratio >= 3 and r_own >= r_ds - 0.01 else 'MISSES goal'}")
    if big:
        random.seed(1)
        started = time.perf_counter()
        texts, authors, copies = corpus(big, seed=7)
        built = time.perf_counter() - started
        t_big, template_big, k_big = own(texts, authors)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
        print(f"{big:,} synthetic pledges ({len(texts):,} items, generated in {built:.0f} s): detection {t_big:.1f} s "
              f"({len(texts) / t_big:,.0f} items/s), {k_big} templates, recall {recall(template_big, copies):.3f}, "
              f"peak memory {peak:.2f} GiB; goal ≤ 300 s and ≤ 4 GiB — "
              f"{'meets goal' if t_big <= 300 and peak <= 4 else 'MISSES goal'}")


if __name__ == "__main__":
    main()

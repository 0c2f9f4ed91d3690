"""The tagging report: token accuracy, per-tag P/R/F1 and confusion matrix, entity-level scores (seqeval,
strict, for BIO/BIOES tag sets), the sentences with the most errors; and its markdown."""
import numpy as np

from tfbig.reports.classification import classification_report
from tfbig.reports.floor import floor_markdown

IGNORE = -100
WORST = 10  # sentences listed in report.md


def entity_scheme(tags: list) -> str | None:
    """"IOBES" or "IOB2" when every tag is O or <prefix>-<type> with the scheme's prefixes; else None."""
    prefixes = {t.split("-", 1)[0] for t in tags if t != "O"}
    if not prefixes or any("-" not in t for t in tags if t != "O"):
        return None
    if prefixes <= {"B", "I"}:
        return "IOB2"
    if prefixes <= {"B", "I", "E", "S"}:
        return "IOBES"
    return None


def entity_report(true_tags: list, predicted_tags: list, scheme: str) -> dict:
    """Micro and per-type precision/recall/F1 of whole entities (seqeval strict: an entity counts only when
    its span and type both match). true_tags, predicted_tags: lists of sentences of tag strings."""
    from seqeval.metrics import classification_report as seqeval_report
    from seqeval.scheme import IOB2, IOBES

    table = seqeval_report(true_tags, predicted_tags, mode="strict", scheme={"IOB2": IOB2, "IOBES": IOBES}[scheme],
                           output_dict=True, zero_division=0)
    per_type = {k: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
                    "support": int(v["support"])} for k, v in table.items() if not k.endswith(" avg")}
    micro = table.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    return {"scheme": scheme, "precision": float(micro["precision"]), "recall": float(micro["recall"]),
            "f1": float(micro["f1-score"]), "per_type": per_type}


def sentence_tags(y_true: np.ndarray, predicted: np.ndarray, tags: list) -> tuple:
    """Per sentence, the gold and predicted tag strings at its labelled positions, in order."""
    gold, pred = [], []
    for t, p in zip(y_true, predicted):
        keep = t != IGNORE
        gold.append([tags[i] for i in t[keep]])
        pred.append([tags[i] for i in p[keep]])
    return gold, pred


def tagging_report(y_true, outputs, tags: list, words: list | None = None) -> dict:
    """y_true: (N, T) tag ids, IGNORE where unlabelled. outputs: (N, T, C) logits. words: the N sentences'
    words (shown for the worst sentences) or None."""
    y_true = np.asarray(y_true)
    predicted = np.asarray(outputs).argmax(-1) if len(outputs) else np.zeros(y_true.shape, np.int64)
    mask = y_true != IGNORE
    report = classification_report(y_true[mask].tolist(), predicted[mask].tolist(), tags)
    report["token_accuracy"] = report.pop("accuracy")
    report["num_tokens"] = report.pop("num_examples")
    report["num_sentences"] = int(len(y_true))
    report["per_tag"] = report.pop("per_class")
    gold, pred = sentence_tags(y_true, predicted, tags)
    scheme = entity_scheme(tags)
    if scheme:
        report["entities"] = entity_report(gold, pred, scheme)
    errors = [sum(a != b for a, b in zip(g, p)) for g, p in zip(gold, pred)]
    order = sorted(range(len(gold)), key=lambda i: (-errors[i], -errors[i] / max(len(gold[i]), 1), i))
    report["worst_sentences"] = [
        {"index": i, "errors": errors[i], "tokens": len(gold[i]), "gold": gold[i], "predicted": pred[i],
         **({"words": list(words[i])} if words is not None and len(words) == len(gold) else {})}
        for i in order[:WORST] if errors[i]]
    return report


def format_tagging_report(report: dict) -> str:
    lines = [f"token accuracy {report['token_accuracy']:.4f}   macro-F1 {report['macro']['f1']:.4f}   "
             f"({report['num_tokens']} tokens, {report['num_sentences']} sentences)"]
    if "entities" in report:
        e = report["entities"]
        lines.append(f"entities ({e['scheme']}, strict): precision {e['precision']:.4f}  recall {e['recall']:.4f}  "
                     f"F1 {e['f1']:.4f}")
    return "\n".join(lines)


def _sentence(entry: dict) -> str:
    words = entry.get("words") or ["?"] * len(entry["gold"])
    return " ".join(w if g == p else f"**{w}**/{g}→{p}" for w, g, p in zip(words, entry["gold"], entry["predicted"]))


def tagging_markdown(report: dict, title: str, details: dict, images: dict) -> str:
    lines = [f"# {title}", ""] + [f"- **{k}**: {v}" for k, v in details.items()] + [""]
    lines.append("```\n" + format_tagging_report(report) + "\n```\n")
    if "baseline" in report:
        b = report["baseline"]
        lines.append(f"Baseline ({b['name']}): token accuracy {b['token_accuracy']:.4f}\n")
    lines += ["| tag | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    lines += [f"| {t} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
              for t, m in report["per_tag"].items()]
    if "entities" in report:
        lines += ["", "| entity type | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        lines += [f"| {t} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
                  for t, m in report["entities"]["per_type"].items()]
    lines += floor_markdown(report)
    if report.get("worst_sentences"):
        lines += ["", "## Sentences with the most errors", "", "Wrong words in bold, as word/gold→predicted.", ""]
        lines += [f"{n}. ({e['errors']} of {e['tokens']}) {_sentence(e)}"
                  for n, e in enumerate(report["worst_sentences"], start=1)]
    lines += [f"\n![{caption}]({path})" for caption, path in images.items()]
    return "\n".join(lines) + "\n"


def most_frequent_tag_baseline(train_words: list, train_tags: list, test_words: list, test_tags: list) -> dict:
    """The classic floor: each word's most frequent tag in training; unknown words the most frequent tag."""
    from collections import Counter, defaultdict

    by_word, overall = defaultdict(Counter), Counter()
    for words, tags in zip(train_words, train_tags):
        for w, t in zip(words, tags):
            by_word[w][t] += 1
            overall[t] += 1
    fallback = overall.most_common(1)[0][0] if overall else ""
    best = {w: c.most_common(1)[0][0] for w, c in by_word.items()}
    right = unknown = total = 0
    for words, tags in zip(test_words, test_tags):
        for w, t in zip(words, tags):
            total += 1
            unknown += w not in best
            right += best.get(w, fallback) == t
    return {"name": "most_frequent_tag", "token_accuracy": right / max(total, 1),
            "unknown_word_share": unknown / max(total, 1), "num_tokens": total, "fallback_tag": fallback}

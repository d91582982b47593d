#!/usr/bin/python3
"""Reference classification metrics for tests/client/gallery/classification_metrics_test.cc.

Rerun (from the repository root):
    /usr/bin/python3 tests/client/gallery/make_metrics_reference.py \
        > tests/client/gallery/testdata/metrics_reference.json

numpy only (sklearn is not installed). The numbers are computed the way sklearn
defines them, with algorithms independent of the C++ code:
  * confusion matrix: rows true, columns predicted (sklearn.metrics.confusion_matrix);
  * sensitivity TP/(TP+FN), specificity TN/(TN+FP), precision TP/(TP+FP);
  * balanced accuracy: mean recall over classes present in y_true
    (sklearn.metrics.balanced_accuracy_score);
  * one-vs-rest ROC AUC: the ROC curve from every distinct score threshold
    (sklearn.metrics.roc_curve with drop_intermediate=False) integrated with the
    trapezoidal rule (sklearn.metrics.auc), which counts tied scores as 1/2. The C++
    code uses the Mann-Whitney rank sum instead, so agreement checks both.
  * macro AUC: mean of the per-class AUCs that are defined.
Undefined values are null.

Cases: "mixed" (seeded random probabilities rounded to 2 decimals, so that many
scores tie), "all_tied" (every score equal: AUC 0.5), "missing_class" (no image of
class 2: its sensitivity and AUC are null) and "perfect".
"""
import json

import numpy as np


def roc_auc_trapezoid(scores, positive):
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos = positive.sum()
    n_neg = (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        return None
    thresholds = np.unique(scores)[::-1]
    tpr = [0.0]
    fpr = [0.0]
    for t in thresholds:
        predicted = scores >= t
        tpr.append((predicted & positive).sum() / n_pos)
        fpr.append((predicted & ~positive).sum() / n_neg)
    return float(np.trapz(tpr, fpr))


def ratio(a, b):
    return None if b == 0 else float(a) / float(b)


def metrics(y_true, y_pred, probs, num_classes):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    probs = np.asarray(probs, dtype=np.float32)
    cm = np.zeros((num_classes, num_classes), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    n = len(y_true)
    per_class = []
    for c in range(num_classes):
        tp = cm[c, c]
        fn = cm[c, :].sum() - tp
        fp = cm[:, c].sum() - tp
        tn = n - tp - fn - fp
        per_class.append({
            "support": int(cm[c, :].sum()),
            "predicted": int(cm[:, c].sum()),
            "sensitivity": ratio(tp, tp + fn),
            "specificity": ratio(tn, tn + fp),
            "precision": ratio(tp, tp + fp),
            # float32 probabilities, compared in double, as the C++ code does.
            "auc": roc_auc_trapezoid(probs[:, c].astype(np.float64), y_true == c),
        })
    recalls = [m["sensitivity"] for m in per_class if m["sensitivity"] is not None]
    aucs = [m["auc"] for m in per_class if m["auc"] is not None]
    return {
        "confusion": cm.tolist(),
        "accuracy": ratio(int((y_true == y_pred).sum()), n),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else None,
        "macro_auc": float(np.mean(aucs)) if aucs else None,
        "per_class": per_class,
    }


def case(name, y_true, probs, num_classes=3):
    probs = np.asarray(probs, dtype=np.float32)
    y_pred = probs.argmax(axis=1)
    return {
        "name": name,
        "y_true": [int(v) for v in y_true],
        "y_pred": [int(v) for v in y_pred],
        # float32 values written with enough digits to read back exactly.
        "probabilities": [[float(v) for v in row] for row in probs],
        "expected": metrics(y_true, y_pred, probs, num_classes),
    }


def main():
    rng = np.random.default_rng(20240611)
    n = 60
    y_true = rng.choice(3, size=n, p=[0.5, 0.4, 0.1])
    logits = rng.normal(size=(n, 3)) + 1.6 * np.eye(3)[y_true]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs = np.round(probs, 2)  # ties on purpose
    cases = [case("mixed", y_true, probs)]

    cases.append(case("all_tied", [0, 1, 2, 0, 1, 2], [[0.5, 0.3, 0.2]] * 6))

    y2 = rng.choice(2, size=20)
    logits2 = rng.normal(size=(20, 3)) + 1.2 * np.eye(3)[y2]
    p2 = np.round(np.exp(logits2) / np.exp(logits2).sum(axis=1, keepdims=True), 1)
    cases.append(case("missing_class", y2, p2))

    cases.append(case("perfect", [0, 1, 2, 1], [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1],
                                                [0.2, 0.2, 0.6], [0.3, 0.6, 0.1]]))
    print(json.dumps({"classes": ["Normal", "Benign", "Malignant"], "cases": cases}, indent=1))


if __name__ == "__main__":
    main()

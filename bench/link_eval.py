#!/usr/bin/env python3
"""Pairwise precision, recall and F1 of predicted (row_id, personal_id) links against the truth.

usage: link_eval.py TRUTH.csv PREDICTED.csv [--links-column personal_id]
TRUTH: row_id,personal_id (empty personal_id: the register does not hold the person).
PREDICTED: row_id and a personal_id column; rows with an empty personal_id are no link. For
eid's decisions the link is the matched person, or for a conflict the alternative when given
(else the ID's holder); review and unmatched rows are no link.
Prints: tp fp fn precision recall f1
"""
import csv
import sys


def main():
    truth_path, pred_path = sys.argv[1], sys.argv[2]
    truth = set()
    with open(truth_path, newline="") as f:
        for r in csv.DictReader(f):
            if r["personal_id"]:
                truth.add((r["row_id"], r["personal_id"]))
    pred = set()
    with open(pred_path, newline="") as f:
        for r in csv.DictReader(f):
            if "outcome" in r:
                if r["outcome"] == "matched":
                    pid = r["personal_id"]
                elif r["outcome"] == "conflict":
                    pid = r["alternative_id"] or r["personal_id"]
                else:
                    pid = ""
            else:
                pid = r["personal_id"]
            if pid:
                pred.add((r["row_id"], pid))
    tp = len(truth & pred)
    fp = len(pred - truth)
    fn = len(truth - pred)
    p = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
    print(f"{tp} {fp} {fn} {p:.4f} {rc:.4f} {f1:.4f}")


if __name__ == "__main__":
    main()

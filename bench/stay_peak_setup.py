"""Setup of bench/stay-peak.sh: establishments, their API clients and the guests' requests.

Written straight into the SQLite database of a stopped server (the rows the console and
`eid admin client add` write, the client row copied from one the CLI made): N establishments in
the register's communes, each with a confidential client bound to it (secret known here); then,
with the server running, one client-credentials token per establishment, and a file of notify
requests (token TAB JSON body), GUESTS in all, one guest per request, arrivals spread over
18:00–23:00 of today in Vietnam time.

PATH is the SQLite file, or a postgres:// URL (then the rows go through psql, $PSQL or
/usr/lib/postgresql/15/bin/psql, in one transaction).

Usage: stay_peak_setup.py db PATH ests N              (server stopped)
       stay_peak_setup.py requests PATH BASE N GUESTS OUT   (server running)
       stay_peak_setup.py count PATH                  (stays written)
"""
import base64
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone

SECRET = "bench-stay-secret-{}"
PSQL = os.environ.get("PSQL", "/usr/lib/postgresql/15/bin/psql")


def is_pg(path):
    return path.startswith("postgres://") or path.startswith("postgresql://")


def pg_rows(url, sql):
    """Rows of a query, as tuples of text (NULL as None)."""
    out = subprocess.run([PSQL, url, "-AtqX", "-F", "\t", "-P", "null=\\N", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [tuple(None if c == "\\N" else c for c in line.split("\t"))
            for line in out.splitlines() if line]


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, (bytes, bytearray)):
        return "'\\x" + bytes(v).hex() + "'::bytea"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def ests_pg(url, n):
    people = pg_rows(url, "SELECT residence_unit, res_path FROM person"
                          " WHERE length(birth_date) = 10 LIMIT 200000")
    cols = [r[0] for r in pg_rows(url, "SELECT column_name FROM information_schema.columns"
                                        " WHERE table_name = 'oidc_client'"
                                        " AND table_schema = current_schema() ORDER BY ordinal_position")]
    rnd = random.Random(7)
    now = int(time.time() * 1000)
    kinds = ["tourist"] * 6 + ["healthcare", "dormitory", "rental", "household"]
    lines = ["\\set ON_ERROR_STOP 1", "BEGIN;"]
    for i in range(n):
        unit, path = rnd.choice(people)
        kind = kinds[i % len(kinds)]
        secret = hashlib.sha256(SECRET.format(i).encode()).digest()
        picked = ", ".join(
            lit(f"stay-{i}") if c == "client_id" else lit(secret) if c == "secret_hash" else c
            for c in cols)
        lines.append(
            f"INSERT INTO oidc_client ({', '.join(cols)}) SELECT {picked} FROM oidc_client"
            " WHERE client_id = 'stay-template';")
        lines.append(
            "WITH e AS (INSERT INTO stay_establishment (kind, name, address, commune, unit_path,"
            " relatives_once, created_by, created_at) VALUES"
            f" ({lit(kind)}, {lit(f'Cơ sở {i}')}, {lit(f'{i} Đường Bench')}, {lit(unit)},"
            f" {int(path)}, 0, 'cli:bench', {now}) RETURNING id)"
            f" INSERT INTO stay_client (client_id, establishment_id, created_at)"
            f" SELECT {lit(f'stay-{i}')}, id, {now} FROM e;")
    lines.append("COMMIT;")
    subprocess.run([PSQL, url, "-qX"], input="\n".join(lines) + "\n", check=True, text=True,
                   capture_output=True)


def ests(path, n):
    if is_pg(path):
        return ests_pg(path, n)
    db = sqlite3.connect(path)
    people = db.execute(
        "SELECT residence_unit, res_path FROM person WHERE length(birth_date) = 10 LIMIT 200000"
    ).fetchall()
    tmpl = db.execute("SELECT * FROM oidc_client WHERE client_id = 'stay-template'").fetchone()
    cols = [d[0] for d in db.execute("SELECT * FROM oidc_client LIMIT 0").description]
    rnd = random.Random(7)
    now = int(time.time() * 1000)
    kinds = ["tourist"] * 6 + ["healthcare", "dormitory", "rental", "household"]
    with db:
        for i in range(n):
            unit, path = rnd.choice(people)
            kind = kinds[i % len(kinds)]
            eid = db.execute(
                "INSERT INTO stay_establishment (kind, name, address, commune, unit_path, relatives_once,"
                " created_by, created_at) VALUES (?, ?, ?, ?, ?, 0, 'cli:bench', ?) RETURNING id",
                (kind, f"Cơ sở {i}", f"{i} Đường Bench", unit, path, now),
            ).fetchone()[0]
            row = dict(zip(cols, tmpl))
            row["client_id"] = f"stay-{i}"
            row["secret_hash"] = hashlib.sha256(SECRET.format(i).encode()).digest()
            db.execute(
                f"INSERT INTO oidc_client ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [row[c] for c in cols],
            )
            db.execute(
                "INSERT INTO stay_client (client_id, establishment_id, created_at) VALUES (?, ?, ?)",
                (f"stay-{i}", eid, now),
            )


def requests_file(path, base, n, guests, out):
    if is_pg(path):
        people = pg_rows(path, "SELECT personal_id, surname, middle_name, given_name, birth_date"
                               f" FROM person WHERE length(birth_date) = 10 LIMIT {int(guests)}")
    else:
        db = sqlite3.connect(path)
        people = db.execute(
            "SELECT personal_id, surname, middle_name, given_name, birth_date FROM person"
            " WHERE length(birth_date) = 10 LIMIT ?",
            (guests,),
        ).fetchall()
    tokens = []
    for i in range(n):
        basic = base64.b64encode(f"stay-{i}:{SECRET.format(i)}".encode()).decode()
        req = urllib.request.Request(
            f"{base}/oauth2/token",
            data=b"grant_type=client_credentials&scope=stay%3Anotify",
            headers={"Authorization": f"Basic {basic}",
                     "Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(req) as r:
            tokens.append(json.load(r)["access_token"])
    vn = timezone(timedelta(hours=7))
    day = datetime.now(vn).replace(hour=18, minute=0, second=0, microsecond=0)
    rnd = random.Random(11)
    with open(out, "w") as f:
        for g in range(guests):
            pid, sur, mid, giv, birth = people[g % len(people)]
            name = " ".join(x for x in (sur, mid, giv) if x)
            arrival = day + timedelta(seconds=rnd.randrange(5 * 3600))
            body = {"stays": [{
                "personal_id": pid, "full_name": name, "birth_date": birth,
                "arrival": arrival.isoformat(timespec="seconds"),
                "departure": (arrival + timedelta(days=2)).isoformat(timespec="seconds"),
                "reason": "Du lịch",
            }]}
            f.write(tokens[g % n] + "\t" + json.dumps(body, ensure_ascii=False) + "\n")


def count(path):
    if is_pg(path):
        return int(pg_rows(path, "SELECT count(*) FROM stay")[0][0])
    return sqlite3.connect(path).execute("SELECT count(*) FROM stay").fetchone()[0]


if __name__ == "__main__":
    if sys.argv[1] == "db":
        ests(sys.argv[2], int(sys.argv[4]))
    elif sys.argv[1] == "count":
        print(count(sys.argv[2]))
    else:
        requests_file(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])

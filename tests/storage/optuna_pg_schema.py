"""Normalizes a `pg_dump --schema-only` of an Optuna database, and checks storage/postgres_schema.sql.

  optuna_pg_schema.py normalize DUMP.sql            -> the DDL, one statement a line-block, no
                                                       comments/SET/\\restrict, no 'public.' prefix
  optuna_pg_schema.py check URL SCHEMA.sql PG_DUMP  -> exit 1 with a diff when the schema Python Optuna
                                                       creates differs from SCHEMA.sql, or when Optuna
                                                       cannot open and write a database SCHEMA.sql created.
"""
import difflib
import subprocess
import sys
import urllib.parse


def normalize(text):
    out = []
    for line in text.splitlines():
        s = line.rstrip()
        if not s or s.startswith(("--", "\\", "SET ", "INSERT ")):
            continue
        if s.startswith("SELECT pg_catalog.set_config"):
            continue
        out.append(s.replace("public.", ""))
    return "\n".join(out) + "\n"


def dump(pg_dump, url, db):
    u = urllib.parse.urlparse(url)
    res = subprocess.run([pg_dump, "--schema-only", "--no-owner", "-h", u.hostname, "-p", str(u.port),
                          "-U", u.username, db], check=True, capture_output=True, text=True)
    return normalize(res.stdout)


def main():
    if sys.argv[1] == "normalize":
        sys.stdout.write(normalize(open(sys.argv[2]).read()))
        return 0
    url, schema_file, pg_dump = sys.argv[2], sys.argv[3], sys.argv[4]
    import optuna
    import psycopg2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    u = urllib.parse.urlparse(url)
    admin = psycopg2.connect(host=u.hostname, port=u.port, user=u.username, dbname=u.path[1:])
    admin.autocommit = True
    with admin.cursor() as c:
        for db in ("h4_by_optuna", "h4_by_schema"):
            c.execute(f"DROP DATABASE IF EXISTS {db}")
            c.execute(f"CREATE DATABASE {db}")

    def base(db):
        return f"postgresql+psycopg2://{u.username}@{u.hostname}:{u.port}/{db}"

    # 1. What Optuna creates is exactly the checked-in schema.
    storage = optuna.storages.RDBStorage(base("h4_by_optuna"))
    study = optuna.create_study(storage=storage, study_name="s", directions=["minimize", "maximize"])
    t = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    study.tell(t, [1.0, 2.0])
    expected = normalize(open(schema_file).read())
    got = dump(pg_dump, url, "h4_by_optuna")
    failed = False
    if got != expected:
        sys.stdout.writelines(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                                   schema_file, "optuna"))
        failed = True
    # 2. Optuna opens a database the checked-in schema created, as is, and writes to it.
    conn = psycopg2.connect(host=u.hostname, port=u.port, user=u.username, dbname="h4_by_schema")
    with conn, conn.cursor() as c:
        c.execute(open(schema_file).read())
    conn.close()
    storage2 = optuna.storages.RDBStorage(base("h4_by_schema"), skip_table_creation=True)
    study2 = optuna.create_study(storage=storage2, study_name="s2")
    study2.optimize(lambda tr: tr.suggest_float("x", 0, 1), n_trials=3)
    if len(study2.trials) != 3 or storage2.get_current_version() != "v3.0.0.d":
        print("Optuna could not use a database created by", schema_file)
        failed = True
    got2 = dump(pg_dump, url, "h4_by_schema")
    if got2 != expected:
        print("the schema changed after Optuna wrote to it (a migration ran?)")
        failed = True
    print("FAIL" if failed else "OK: Optuna's PostgreSQL schema == " + schema_file)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

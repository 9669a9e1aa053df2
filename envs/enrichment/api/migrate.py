"""One-shot job: apply migrations/*.sql that are not applied yet, in name order.

Each file runs in its own transaction and is recorded in schema_migrations,
so running the job again (every `devenv up` that recreates it) is harmless.
Exits non-zero on the first failing file: devenv then shows this job's last
log lines and does not start the services waiting for `migrate: completed`.
"""
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import pgwire  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with pgwire.connect(os.environ["DATABASE_URL"]) as db:
        db.script("CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row[0] for row in db.query("SELECT version FROM schema_migrations")}
        for path in sorted(glob.glob(os.path.join(HERE, "migrations", "*.sql"))):
            version = os.path.basename(path)
            if version in done:
                print(f"migrate: {version} already applied")
                continue
            with open(path, encoding="utf-8") as f:
                sql = f.read()
            try:
                db.script("BEGIN;\n" + sql + "\n;INSERT INTO schema_migrations (version) VALUES ('" + version.replace("'", "''") + "');\nCOMMIT;")
            except pgwire.PgError as e:
                db.script("ROLLBACK")
                print(f"migrate: {version} failed: {e}", file=sys.stderr)
                sys.exit(1)
            print(f"migrate: applied {version}")
    print("migrate: schema is up to date", flush=True)


if __name__ == "__main__":
    main()

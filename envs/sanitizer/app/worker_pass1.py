"""Pass 1: normalise and de-duplicate a dataset's raw records into clean_records.

Names are re-cased, e-mails lower-cased, phones put in international form,
countries mapped to ISO codes (country_aliases, seeded); a record whose
e-mail was already seen in the dataset is a duplicate and is dropped. Then the
dataset is handed to pass 2 through the Redis list sanitize:pass2.
"""
import jobs
import pgwire
import rules


def clean(dataset, r):
    with pgwire.connect(jobs.DATABASE_URL) as db:
        db.query("UPDATE datasets SET status = 'cleaning' WHERE id = $1", [dataset])
        aliases = dict(db.query("SELECT alias, code FROM country_aliases"))
        raw = db.query("SELECT line, name, email, phone, country, note FROM raw_records WHERE dataset_id = $1 ORDER BY line", [dataset])
        seen, kept = set(), []
        for line, name, email, phone, country, note in raw:
            email = rules.email(email)
            if email and email in seen:
                continue
            seen.add(email)
            code = rules.country(country, aliases)
            kept.append([dataset, line, rules.name(name), email, rules.phone(phone, code), code, (note or "").strip() or None])
        db.query("BEGIN")
        db.query("DELETE FROM clean_records WHERE dataset_id = $1", [dataset])      # a re-run replaces, never doubles
        for row in kept:
            db.query("INSERT INTO clean_records (dataset_id, line, name, email, phone, country, note) VALUES ($1, $2, $3, $4, $5, $6, $7)", row)
        db.query("UPDATE datasets SET status = 'masking', records = $2, duplicates = $3 WHERE id = $1", [dataset, len(raw), len(raw) - len(kept)])
        db.query("COMMIT")
    r("RPUSH", "sanitize:pass2", dataset)
    print(f"[pass1] dataset {dataset}: {len(raw)} records, {len(raw) - len(kept)} duplicates dropped", flush=True)


if __name__ == "__main__":
    jobs.run("pass1", "sanitize:pass1", clean)

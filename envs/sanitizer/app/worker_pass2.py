"""Pass 2: mask personal data in a dataset's clean records, as the policy says.

The policy is a Redis hash (sanitize:policy, seeded): e-mails become
a***@domain, phones keep their last two digits, and e-mail addresses or
phone numbers typed into free-text notes are replaced by [email] / [phone].
"""
import jobs
import pgwire
import rules


def mask(dataset, r):
    flat = r("HGETALL", "sanitize:policy")
    policy = dict(zip(flat[::2], flat[1::2]))
    with pgwire.connect(jobs.DATABASE_URL) as db:
        rows = db.query("SELECT line, email, phone, note FROM clean_records WHERE dataset_id = $1", [dataset])
        db.query("BEGIN")
        masked = 0
        for line, email, phone, note in rows:
            new_email = rules.mask_email(email, policy.get("keep_email_domain") == "yes") if policy.get("mask_emails") == "yes" else email
            new_phone = rules.mask_phone(phone) if policy.get("mask_phones") == "yes" else phone
            new_note = rules.scrub(note)
            if (new_email, new_phone, new_note) != (email, phone, note):
                masked += 1
                db.query("UPDATE clean_records SET email = $3, phone = $4, note = $5 WHERE dataset_id = $1 AND line = $2",
                         [dataset, line, new_email, new_phone, new_note])
        db.query("UPDATE datasets SET status = 'done', finished_at = now(), masked = $2 WHERE id = $1", [dataset, masked])
        db.query("COMMIT")
    r("INCR", "sanitize:datasets_done")
    print(f"[pass2] dataset {dataset}: {masked} records masked; done", flush=True)


if __name__ == "__main__":
    jobs.run("pass2", "sanitize:pass2", mask)

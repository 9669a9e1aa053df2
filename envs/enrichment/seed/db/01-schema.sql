-- The schema production has today (what `pg_dump --schema-only` would give,
-- trimmed). devenv applies seed files in name order, each in one transaction,
-- once per data volume; the app's own migrations (api/migrations, run by the
-- `migrate` job) then add what the next release needs.
CREATE TABLE sources (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE documents (
    id          integer PRIMARY KEY,
    source_id   text NOT NULL REFERENCES sources (id),
    title       text NOT NULL,
    body        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO sources (id, name) VALUES
    ('mail',   'Shared inbox'),
    ('upload', 'Web upload'),
    ('sftp',   'Partner SFTP drop');

-- What the sanitizer's database holds before this release's migrations:
-- uploaded datasets and their raw, untouched records. devenv applies this once
-- per data volume (one transaction), then loads the CSV files below with COPY.
CREATE TABLE datasets (
    id           serial PRIMARY KEY,
    name         text NOT NULL,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'cleaning', 'masking', 'done', 'failed')),
    submitted_at timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

CREATE TABLE raw_records (
    dataset_id integer NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    line       integer NOT NULL,
    name       text,
    email      text,
    phone      text,
    country    text,
    note       text,
    PRIMARY KEY (dataset_id, line)
);

-- How people write countries -> ISO 3166 code (loaded from country_aliases.csv).
CREATE TABLE country_aliases (
    alias text PRIMARY KEY,      -- lower-case, as typed
    code  char(2) NOT NULL
);

-- Two uploads waiting to be cleaned; their ids are queued in Redis (seed/queue.redis).
INSERT INTO datasets (id, name) VALUES (1, 'crm-export-2024-05'), (2, 'webinar-signups');
SELECT setval('datasets_id_seq', 2);

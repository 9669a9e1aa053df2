-- Release 2.4: entities extracted from each document, and its category.
CREATE TABLE entities (
    id          bigserial PRIMARY KEY,
    document_id integer NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    kind        text NOT NULL,              -- org | email | amount
    value       text NOT NULL,
    UNIQUE (document_id, kind, value)
);
ALTER TABLE documents ADD COLUMN category text, ADD COLUMN enriched_at timestamptz;

-- Release 1.3: cleaned records live next to the raw ones (pass 1 writes them,
-- pass 2 masks them in place).
CREATE TABLE clean_records (
    dataset_id integer NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    line       integer NOT NULL,
    name       text,
    email      text,
    phone      text,
    country    char(2),
    note       text,
    PRIMARY KEY (dataset_id, line)
);

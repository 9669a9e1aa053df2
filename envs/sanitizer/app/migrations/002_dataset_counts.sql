-- Release 1.4: per-dataset counts for the dashboard.
ALTER TABLE datasets
    ADD COLUMN records    integer,
    ADD COLUMN duplicates integer,
    ADD COLUMN masked     integer;

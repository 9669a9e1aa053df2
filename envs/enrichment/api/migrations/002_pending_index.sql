-- Release 2.5: the enrichment run looks for documents not enriched yet.
CREATE INDEX documents_pending ON documents (id) WHERE enriched_at IS NULL;

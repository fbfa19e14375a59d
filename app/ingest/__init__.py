"""The ingest use case (`articles`), syndicated-story fingerprints, and the dry run of a text."""

"""Source documents: front matter, chunking with provenance, bibliography, file loaders."""

"""The search index: Chroma (dense) beside BM25 (lexical), built in atomic generations."""

"""Gold annotations and benchmarks (extraction, checks, retrieval, Q&A)."""

"""Document loading, normalization, segmentation, chunking and indexing. Pure except loaders and index."""

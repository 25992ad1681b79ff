"""Q&A: route a question to exact answers over extracted data, or to hybrid retrieval with citations."""

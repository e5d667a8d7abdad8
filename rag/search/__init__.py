"""Search: embedding, keyword tokens, BM25, the on-disk index, vector stores (FAISS, Milvus), hybrid
retrieval, and the LangChain adapters. Nothing heavy is imported here."""

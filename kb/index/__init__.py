"""The index that ingest writes and questions read: the SQLite catalog, the Chroma
generations and the embedding model.

``catalog`` owns the catalog file, ``store`` owns Chroma (generations, dense and BM25
queries), ``embeddings`` owns the model weights.
"""

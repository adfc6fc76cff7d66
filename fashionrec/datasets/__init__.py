"""Real-data loaders: each reads one dataset's official layout and yields the records of ``fashionrec.records``."""

"""The copy on disk: the SQLite store of entities (``store``, ``writes``, ``counts``,
``schema``), the runs' own bookkeeping (``bookkeeping``), the page archive (``archive``) and
the run lock (``lock``). SQL lives here and nowhere else."""

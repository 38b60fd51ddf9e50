"""What Optuna proposes: the search space as distributions and back to ``SRAConfig`` (``space``),
the sampler of a study (``samplers``), and the configs a study enqueues first (``warm_start``)."""

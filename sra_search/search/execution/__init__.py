"""Where cases are scored: ``Job`` chunks between driver and worker (``jobs``), the Ray actor that
keeps the model loaded (``worker``), the pool of actors (``pool``) and their placement on nodes."""

"""What a finished search decides: the export of best trials to a preset version (plan, measure,
gate, publish: ``export_plan``, ``export``), the length range of a bucket (``bucket_range``), the
unseen-template check (``transfer``), the best trial's evidence (``verdicts``) and provenance."""

"""Built-in tasks: one module per task; importing a module registers its task."""

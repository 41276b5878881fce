"""HTTP blueprints by audience: ``offices`` (the counter), ``system`` (health, docs, keys)."""

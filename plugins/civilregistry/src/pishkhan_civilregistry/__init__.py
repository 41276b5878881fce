"""Civil Registry adapter for Pishkhan Gateway: the identity provider, and birth certificates."""

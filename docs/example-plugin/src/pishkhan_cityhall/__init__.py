"""City hall permits for Pishkhan Gateway."""

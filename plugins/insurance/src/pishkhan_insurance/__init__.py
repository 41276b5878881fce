"""Insurance adapter for Pishkhan Gateway: Social Security record and premiums, health insurance."""

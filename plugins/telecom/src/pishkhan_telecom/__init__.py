"""Telecom adapter for Pishkhan Gateway: landlines, SIM replacement, mobile ownership and SMS."""

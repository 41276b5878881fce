"""Post Bank adapter for Pishkhan Gateway: utility bill inquiry and payment over SOAP."""

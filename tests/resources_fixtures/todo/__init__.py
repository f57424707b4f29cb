"""A resources package: every module below is imported and scanned."""

"""Batch scoring: files in, predictions out, in chunks with bounded memory."""

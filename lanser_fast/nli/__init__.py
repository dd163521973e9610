"""Entailment scoring of transcripts against a taxonomy (LanSER's weak labels)."""

"""Stored shifts kept in step with their series (`refresh`) and announced to webhooks (`webhooks`)."""

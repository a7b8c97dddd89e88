"""Duplicate and story-cluster state of one shard, with its changelog."""

"""Pure processing stages, in pipeline order: decode, normalize, fingerprint, dedup, cluster."""

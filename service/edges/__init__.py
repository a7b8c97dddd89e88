"""The imperative shell: Kafka, the embedded broker, HTTP fetching and the HTTP endpoints."""

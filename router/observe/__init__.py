"""What each request did, for operators: the exchange record, Prometheus metrics and the JSON access log."""

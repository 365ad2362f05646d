"""Which target serves a request: the immutable table, route conditions' request facts, pairs composed from two spokes, failover order."""

"""The request path: model endpoints (one set per spoke), the request's context, dispatch with failover, answers and errors in the client's shape."""

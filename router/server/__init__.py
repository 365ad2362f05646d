"""The running process: the Litestar app, uvicorn serving and its protocol, hot reload, admin endpoints, graceful shutdown."""

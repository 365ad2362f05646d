"""router: a declarative LLM API gateway.

Importing the package has no side effects; the server is built by `router.server.app.create_app`.
"""

__version__ = "0.1.0"

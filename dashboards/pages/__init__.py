"""Dashboard pages: one module per page, each with ``layout`` and ``register_callbacks(app)``."""

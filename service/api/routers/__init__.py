"""One module per resource; each exposes `router` (see service.api.create_app)."""

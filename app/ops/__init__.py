"""Running the service: logging, metrics, request limits, migrations, export and import."""

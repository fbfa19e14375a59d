"""The `stanceline` command: `main` builds it, one module per command group, `common` the options they share."""

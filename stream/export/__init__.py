"""Monthly oversight exports: counter store (Redis or file), tidy tables, HTML report, signed manifest."""

"""Great Expectations validation, row accounting and run reports, shared by both products."""

"""De-identified aggregate reports: counts and shares of results, with small cells suppressed."""

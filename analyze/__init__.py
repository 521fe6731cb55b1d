"""Statistics over the hubscope tables (DataFrame -> DataFrame), figures and the HTML report."""

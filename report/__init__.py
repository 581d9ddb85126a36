"""Reports: rich for people; JSON, JUnit, SARIF, GitHub annotations and Markdown for CI."""

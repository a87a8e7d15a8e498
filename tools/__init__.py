"""Developer tools: generators for docs/reference and checks for the shipped deploy files."""

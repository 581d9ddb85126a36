"""Jobs and their sources: what the user asked us to build, and where each setting came from."""

"""The three ways of reading an image's facts: local Docker engine, registry API, tag inference."""

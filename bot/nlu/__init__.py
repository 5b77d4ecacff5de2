"""The NLU components named in config.yml: input guard, topic classifier, program entities."""
